"""Converters for published weights (memmatte.weights.rvm_onnx, memmatte.weights.torchvision).

The RVM converter is checked on small fake ONNX files built here from a reference network
with random weights (the graph has Robust Video Matting's layout: its Conv nodes in its run
order, BatchNorm folded or kept, ConvGRU weights at full size, its initializer names), so a
converted network must reproduce the reference exactly. The real published file is checked
too when MEMMATTE_RVM_ONNX points to it (``make test`` fetches it and sets it).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from safetensors.torch import save_file
from torch import nn

from memmatte.model import MemMatte, ModelConfig
from memmatte.weights import ConversionError, convert_rvm_onnx, convert_torchvision
from memmatte.weights.layout import Slot, rvm_slots
from memmatte.weights.report import layer_names

from .teacher_model import require_rvm_onnx

DATA = Path(__file__).parent / "data"
NOT_IN_RVM = ["memory.key", "memory.value", "memory.readout", "lr_head"]


# ====================================================================== fake RVM ONNX


def randomised_reference(seed: int = 0) -> MemMatte:
    """Random weights and BatchNorm statistics everywhere RVM has a counterpart; eval mode."""
    torch.manual_seed(seed)
    ref = MemMatte()
    with torch.no_grad():
        for name, m in ref.named_modules():
            if name.startswith(("memory", "lr_head")):
                continue
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.6, 1.4)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
            elif isinstance(m, nn.Conv2d) and m.bias is not None:
                m.bias.uniform_(-0.2, 0.2)
        ref.refiner.box_filter.weight.uniform_(0.05, 0.2)
        ref.eval()
        # Spread alpha over (0, 1) (random weights leave it flat, clamped at 0), so the
        # comparisons below see it; the same for the refiner's alpha coefficients.
        probe = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(seed))
        f = ref.encode(probe)
        hidden = ref.decoder(ref.decoder.image_pyramid(probe), f.f1, f.f2, f.f3, f.f4)
        alpha = ref.project(hidden)[:, 3]
        ref.project.weight[3] *= 0.25 / alpha.std()
        ref.project.bias[3] += 0.5 - ref.project(hidden)[:, 3].mean()
    return ref


@dataclass
class Layer:
    """One learnable convolution of the fake graph, in RVM's terms."""

    slot: Slot
    name: str  # weight initializer name
    weight: np.ndarray
    bias: np.ndarray | None
    group: int
    bn: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float] | None = None
    uses: int = 1  # Conv nodes sharing this weight (RVM's box filter runs 4 times)


def f32(t: torch.Tensor | np.ndarray) -> np.ndarray:
    a = t.detach().double().numpy() if isinstance(t, torch.Tensor) else t
    return np.ascontiguousarray(a, dtype=np.float32)


def keeps_name(slot: Slot) -> bool:
    # RVM's export folded every BatchNorm into its conv, naming the result by number; layers
    # without a BatchNorm (SE fc1/fc2, aspp2, GRUs, projection, refiner) kept their names.
    return slot.bn is None


def gru_layer(slot: Slot, conv: nn.Conv2d, rng: np.random.Generator) -> tuple[np.ndarray,
                                                                              np.ndarray]:
    """Full-size ConvGRU weights whose zero-state part is ``conv`` (the rest random)."""
    rest = conv.out_channels
    c = 2 * rest
    w, b = f32(conv.weight), f32(conv.bias)
    if slot.part == "gru_gate":
        # ih: out [reset, update], in [x, h]; the update rows on x are the gate.
        full_w = rng.standard_normal((c, c, 3, 3)).astype(np.float32)
        full_w[rest:, :rest] = w
        full_b = rng.standard_normal(c).astype(np.float32)
        full_b[rest:] = b
        return full_w, full_b
    assert slot.part == "gru_candidate"
    # hh: out candidate, in [x, reset * h]; the x columns are the candidate.
    full_w = rng.standard_normal((rest, c, 3, 3)).astype(np.float32)
    full_w[:, :rest] = w
    return full_w, b


def rvm_layers(ref: MemMatte, folded: bool, seed: int = 0) -> list[Layer]:
    """The reference's layers as RVM's graph holds them, in its run order."""
    rng = np.random.default_rng(seed)
    layers = []
    number = 824
    for slot in rvm_slots(ref):
        conv = ref.get_submodule(slot.conv)
        assert isinstance(conv, nn.Conv2d)
        bias = None if conv.bias is None else f32(conv.bias)
        weight = f32(conv.weight)
        if slot.part != "all":
            weight, bias = gru_layer(slot, conv, rng)
        bn = None
        if slot.bn is not None:
            m = ref.get_submodule(slot.bn)
            assert isinstance(m, nn.BatchNorm2d) and conv.bias is None
            g, beta = m.weight.detach().double().numpy(), m.bias.detach().double().numpy()
            mean, var = m.running_mean.double().numpy(), m.running_var.double().numpy()
            if folded:
                k = g / np.sqrt(var + m.eps)
                weight = f32(conv.weight.detach().double().numpy() * k[:, None, None, None])
                bias = f32(beta - mean * k)
            else:
                # Another epsilon than ours (variance adjusted so the layer computes the
                # same), and on every other layer a conv bias that the mean absorbs.
                eps = 1e-5 if slot.conv.startswith("backbone.") else 1e-4
                with_bias = len(layers) % 2 == 1
                shift = rng.uniform(-0.3, 0.3, len(mean)) if with_bias else np.zeros(len(mean))
                bias = f32(shift) if with_bias else None
                bn = (f32(g), f32(beta), f32(mean + shift), f32(var + m.eps - eps), eps)
        if keeps_name(slot) or not folded:
            name = f"{slot.source}.weight"
        else:
            name = str(number)
        number += 2 if bias is not None else 1
        uses = 4 if slot.conv == "refiner.box_filter" else 1
        layers.append(Layer(slot, name, weight, bias, conv.groups, bn, uses))
    return layers


def write_onnx(layers: list[Layer], path: Path) -> Path:
    """A valid (not meant to be run) ONNX graph: the Conv (+ BN) nodes chained in order."""
    inits, nodes = [], []
    x = "src"
    stored: set[str] = set()
    for i, layer in enumerate(layers):
        ins = [x, layer.name]
        if layer.name not in stored:
            inits.append(numpy_helper.from_array(layer.weight, layer.name))
            stored.add(layer.name)
        if layer.bias is not None:
            bname = (layer.name.removesuffix(".weight") + ".bias" if layer.name.endswith(".weight")
                     else str(int(layer.name) + 1))
            inits.append(numpy_helper.from_array(layer.bias, bname))
            ins.append(bname)
        k = layer.weight.shape[2]
        for use in range(layer.uses):
            out = f"conv{i}_{use}"
            nodes.append(helper.make_node("Conv", ins, [out], name=f"Conv_{i}_{use}",
                                          group=layer.group, kernel_shape=[k, k],
                                          pads=[k // 2] * 4))
            ins[0] = x = out
        if layer.bn is not None:
            scale, beta, mean, var, eps = layer.bn
            names = [f"bn{i}.{p}" for p in ("scale", "bias", "mean", "var")]
            inits += [numpy_helper.from_array(a, n) for a, n in zip((scale, beta, mean, var),
                                                                       names)]
            out = f"bn{i}"
            nodes.append(helper.make_node("BatchNormalization", [x, *names], [out],
                                          name=f"BatchNormalization_{i}", epsilon=eps))
            x = out
    graph = helper.make_graph(
        nodes, "fake-rvm",
        [helper.make_tensor_value_info("src", TensorProto.FLOAT, [1, 3, None, None])],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, None, None, None])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 12)])
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="module")
def reference() -> MemMatte:
    return randomised_reference()


@pytest.fixture(scope="module")
def folded_layers(reference: MemMatte) -> list[Layer]:
    return rvm_layers(reference, folded=True)


@pytest.fixture(scope="module")
def fake_paths(reference: MemMatte, folded_layers: list[Layer],
               tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("fake_rvm")
    return {"folded": write_onnx(folded_layers, d / "folded.onnx"),
            "unfolded": write_onnx(rvm_layers(reference, folded=False), d / "unfolded.onnx")}


@pytest.fixture(scope="module")
def converted(fake_paths: dict[str, Path]) -> dict[str, tuple]:
    return {k: convert_rvm_onnx(p) for k, p in fake_paths.items()}


def slot_index(layers: list[Layer], conv: str) -> int:
    (i,) = [i for i, layer in enumerate(layers) if layer.slot.conv == conv]
    return i


# ---------------------------------------------------------------- fake graph: smoke


def test_fake_graph_has_rvm_layout(fake_paths: dict[str, Path], folded_layers: list[Layer]):
    graph = onnx.load(str(fake_paths["folded"])).graph
    names = {i.name for i in graph.initializer}
    for name in ("824", "backbone.features.4.block.2.fc1.weight", "aspp.aspp2.1.weight",
                 "decoder.decode4.gru.ih.0.weight", "decoder.decode1.gru.hh.0.bias",
                 "project_mat.conv.weight", "refiner.box_filter.weight",
                 "refiner.conv.6.weight"):
        assert name in names, name
    box = [n for n in graph.node if n.op_type == "Conv"
           and n.input[1] == "refiner.box_filter.weight"]
    assert len(box) == 4
    shapes = {i.name: tuple(i.dims) for i in graph.initializer}
    assert shapes["decoder.decode4.gru.ih.0.weight"] == (128, 128, 3, 3)
    assert shapes["decoder.decode4.gru.hh.0.weight"] == (64, 128, 3, 3)
    assert shapes["decoder.decode2.gru.ih.0.weight"] == (40, 40, 3, 3)
    assert shapes["decoder.decode1.gru.hh.0.weight"] == (16, 32, 3, 3)
    assert len(folded_layers) == len(rvm_slots(MemMatte()))


@pytest.mark.parametrize("variant", ["folded", "unfolded"])
def test_converted_network_reproduces_reference(reference: MemMatte, converted: dict,
                                                variant: str):
    model, _ = converted[variant]
    model.eval()
    torch.manual_seed(1)
    src = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        ours, theirs = model.encode(src), reference.encode(src)
        for a, b in zip(ours[:4], theirs[:4]):
            assert torch.allclose(a, b, rtol=0, atol=1e-5), (a - b).abs().max()
        a, b = model(src), reference(src)
    assert a.fgr.shape == (1, 3, 64, 64)
    # The comparison means something: the outputs are not clamped flat.
    assert ((b.pha > 0) & (b.pha < 1)).float().mean() > 0.5
    assert torch.allclose(a.fgr, b.fgr, rtol=0, atol=1e-5), (a.fgr - b.fgr).abs().max()
    assert torch.allclose(a.pha, b.pha, rtol=0, atol=1e-5), (a.pha - b.pha).abs().max()
    # Control: an unconverted network is nowhere near.
    with torch.no_grad():
        assert (MemMatte().eval()(src).fgr - b.fgr).abs().max() > 1e-2


@pytest.mark.parametrize("variant", ["folded", "unfolded"])
def test_converted_network_reproduces_reference_with_guided_filter(
        reference: MemMatte, converted: dict, variant: str):
    model, _ = converted[variant]
    model.eval()
    torch.manual_seed(2)
    src = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        a, b = model(src, downsample_ratio=0.5), reference(src, downsample_ratio=0.5)
        # The refiner is active: its output differs from plain upsampling of the base.
        bypass = MemMatte().eval()
        bypass.load_state_dict(reference.state_dict())
        bypass.refiner.box_filter.weight.mul_(0.5)
        c = bypass(src, downsample_ratio=0.5)
    assert a.pha.shape == (1, 1, 64, 64)
    assert (c.pha - b.pha).abs().max() > 1e-3
    assert torch.allclose(a.fgr, b.fgr, rtol=0, atol=1e-5), (a.fgr - b.fgr).abs().max()
    assert torch.allclose(a.pha, b.pha, rtol=0, atol=1e-5), (a.pha - b.pha).abs().max()


def test_gated_blocks_take_zero_state_part_of_gru(reference: MemMatte, converted: dict):
    model, _ = converted["folded"]
    for block in ("decoder.bottleneck", "decoder.decode3.refine", "decoder.decode2.refine",
                  "decoder.decode1.refine"):
        for part in ("gate", "candidate"):
            ours = model.get_submodule(f"{block}.{part}")
            theirs = reference.get_submodule(f"{block}.{part}")
            assert torch.equal(ours.weight, theirs.weight), f"{block}.{part}"
            assert torch.equal(ours.bias, theirs.bias), f"{block}.{part}"


def test_unfolded_batchnorm_is_kept_with_eps_correction(reference: MemMatte, converted: dict):
    model, report = converted["unfolded"]
    assert any("kept as nodes" in n for n in report.notes)
    for path in ("backbone.features.0.1", "decoder.decode2.conv.1", "refiner.conv.4"):
        ours, theirs = model.get_submodule(path), reference.get_submodule(path)
        assert torch.allclose(ours.weight, theirs.weight)
        assert torch.allclose(ours.running_mean, theirs.running_mean, atol=1e-6)
        # Our eps (1e-3 in the backbone) differs from the graph's: the variance makes up.
        assert torch.allclose(ours.running_var + ours.eps, theirs.running_var + theirs.eps,
                              atol=1e-6)


def test_folded_batchnorm_becomes_identity_plus_bias(converted: dict):
    model, report = converted["folded"]
    assert any("folded" in n for n in report.notes)
    bn = model.backbone.features[0][1]
    assert torch.all(bn.weight == 1) and torch.all(bn.running_mean == 0)
    assert torch.allclose(torch.sqrt(bn.running_var + bn.eps), torch.ones(16))


@pytest.mark.parametrize("variant", ["folded", "unfolded"])
def test_report_lists_exactly_the_layers_rvm_lacks(converted: dict, variant: str):
    model, report = converted[variant]
    assert report.not_initialised == NOT_IN_RVM
    assert report.source == f"rvm-onnx:{variant}.onnx"
    everything = layer_names(list(model.state_dict()))
    assert sorted(report.initialised) == sorted(n for n in everything if n not in NOT_IN_RVM)
    # The recurrent-state halves of the 4 ConvGRUs' 2 convs are not used.
    assert len(report.unused_source) == 8
    assert all("hidden-state" in u for u in report.unused_source)


def test_convert_into_given_model(fake_paths: dict[str, Path], reference: MemMatte):
    target = MemMatte()
    model, _ = convert_rvm_onnx(fake_paths["folded"], model=target)
    assert model is target
    assert torch.equal(model.project.weight, reference.project.weight)


# ---------------------------------------------------------------- fake graph: errors


def test_truncated_graph(folded_layers: list[Layer], tmp_path: Path):
    n = len(folded_layers)
    layers = folded_layers[:40] + folded_layers[41:]
    path = write_onnx(layers, tmp_path / "truncated.onnx")
    with pytest.raises(ConversionError, match=f"found {n - 1} convolutions") as exc:
        convert_rvm_onnx(path)
    assert f"has {n}" in str(exc.value) and str(path) in str(exc.value)


def test_wrong_shape_names_the_layer(folded_layers: list[Layer], tmp_path: Path):
    layers = list(folded_layers)
    i = slot_index(layers, "decoder.decode2.conv.0")
    w = layers[i].weight
    layers[i] = replace(layers[i], weight=np.zeros((w.shape[0] + 1, *w.shape[1:]), np.float32),
                        bias=np.zeros(w.shape[0] + 1, np.float32))
    path = write_onnx(layers, tmp_path / "shape.onnx")
    with pytest.raises(ConversionError, match="decoder.decode2.conv.0") as exc:
        convert_rvm_onnx(path)
    assert "(41, 107, 3, 3)" in str(exc.value) and "(40, 107, 3, 3)" in str(exc.value)


def test_wrong_group_count(folded_layers: list[Layer], tmp_path: Path):
    layers = list(folded_layers)
    i = slot_index(layers, "backbone.features.1.block.0.0")  # depthwise 3x3, 16 groups
    layers[i] = replace(layers[i], group=1)
    path = write_onnx(layers, tmp_path / "groups.onnx")
    with pytest.raises(ConversionError, match="backbone.features.1.block.0.0.*groups"):
        convert_rvm_onnx(path)


def test_named_layer_in_wrong_place(folded_layers: list[Layer], tmp_path: Path):
    layers = list(folded_layers)
    i = slot_index(layers, "backbone.features.5.block.2.fc1")
    j = slot_index(layers, "backbone.features.6.block.2.fc1")
    # Same shapes: only the names say these two are swapped.
    layers[i] = replace(layers[i], name="backbone.features.6.block.2.fc1.weight")
    layers[j] = replace(layers[j], name="backbone.features.5.block.2.fc1.weight")
    path = write_onnx(layers, tmp_path / "swapped.onnx")
    with pytest.raises(ConversionError, match="expected layer 'backbone.features.5.block.2.fc1'"
                       ".*found 'backbone.features.6.block.2.fc1'") as exc:
        convert_rvm_onnx(path)
    assert str(path) in str(exc.value)


def test_not_an_onnx_file(tmp_path: Path):
    path = tmp_path / "noise.onnx"
    path.write_bytes(b"\xff\xfe this is not a protobuf \x00\x01" * 64)
    with pytest.raises(ConversionError, match="not a readable ONNX model") as exc:
        convert_rvm_onnx(path)
    assert str(path) in str(exc.value)


def test_missing_onnx_file(tmp_path: Path):
    path = tmp_path / "absent.onnx"
    with pytest.raises(ConversionError, match="not found") as exc:
        convert_rvm_onnx(path)
    assert str(path) in str(exc.value)


# ====================================================================== torchvision


@pytest.fixture(scope="module")
def imagenet_state() -> dict[str, torch.Tensor]:
    """A state dict with torchvision's mobilenet_v3_large key names and random values."""
    torch.manual_seed(3)
    state = {}
    for key, value in MemMatte().backbone.state_dict().items():
        if value.is_floating_point():
            value = torch.rand_like(value) + 0.5 if key.endswith("running_var") \
                else torch.randn_like(value)
        state[key] = value.clone()
    assert all(k.startswith("features.") for k in state)
    state["classifier.0.weight"] = torch.randn(1280, 960)
    state["classifier.0.bias"] = torch.randn(1280)
    state["classifier.3.weight"] = torch.randn(1000, 1280)
    state["classifier.3.bias"] = torch.randn(1000)
    return state


CLASSIFIER = ["classifier.0.weight", "classifier.0.bias", "classifier.3.weight",
              "classifier.3.bias"]


def check_torchvision_conversion(path: Path, state: dict[str, torch.Tensor]) -> None:
    model, report = convert_torchvision(path)
    encoder = model.backbone.state_dict()
    for key, value in state.items():
        if key.startswith("features."):
            assert torch.equal(encoder[key], value), key
    assert sorted(report.unused_source) == sorted(CLASSIFIER)
    non_backbone = [n for n in layer_names(list(model.state_dict()))
                    if not n.startswith("backbone.")]
    assert report.not_initialised == non_backbone
    assert "aspp.aspp1.0" in non_backbone and "memory.key" in non_backbone
    assert sorted(report.initialised) == sorted(layer_names(["backbone." + k for k in state
                                                             if k.startswith("features.")]))
    assert report.source == f"torchvision:{path.name}"


def test_torchvision_pth(imagenet_state: dict[str, torch.Tensor], tmp_path: Path):
    path = tmp_path / "mobilenet_v3_large-8738ca79.pth"
    torch.save(imagenet_state, path)
    check_torchvision_conversion(path, imagenet_state)


def test_torchvision_wrapped_state_dict(imagenet_state: dict[str, torch.Tensor],
                                        tmp_path: Path):
    path = tmp_path / "wrapped.pth"
    torch.save({"state_dict": imagenet_state, "epoch": 600}, path)
    check_torchvision_conversion(path, imagenet_state)


def test_torchvision_module_prefix(imagenet_state: dict[str, torch.Tensor], tmp_path: Path):
    path = tmp_path / "ddp.pth"
    torch.save({f"module.{k}": v for k, v in imagenet_state.items()}, path)
    model, report = convert_torchvision(path)
    assert torch.equal(model.backbone.features[3].block[1][0].weight,
                       imagenet_state["features.3.block.1.0.weight"])
    assert sorted(report.unused_source) == sorted(CLASSIFIER)


def test_torchvision_safetensors(imagenet_state: dict[str, torch.Tensor], tmp_path: Path):
    path = tmp_path / "mobilenet_v3_large.safetensors"
    save_file({k: v.contiguous() for k, v in imagenet_state.items()}, str(path))
    check_torchvision_conversion(path, imagenet_state)


def test_torchvision_converted_encoder_runs(imagenet_state: dict[str, torch.Tensor],
                                            tmp_path: Path):
    path = tmp_path / "tv.pth"
    torch.save(imagenet_state, path)
    model, _ = convert_torchvision(path)
    reference = MemMatte().backbone
    reference.load_state_dict({k: v for k, v in imagenet_state.items()
                               if k.startswith("features.")})
    src = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        ours, theirs = model.eval().backbone(src), reference.eval()(src)
    assert [tuple(f.shape) for f in ours] == [(1, 16, 32, 32), (1, 24, 16, 16), (1, 40, 8, 8),
                                             (1, 960, 4, 4)]
    for a, b in zip(ours, theirs):
        assert torch.equal(a, b)


def test_torchvision_missing_key(imagenet_state: dict[str, torch.Tensor], tmp_path: Path):
    state = dict(imagenet_state)
    del state["features.7.block.1.1.running_mean"]
    path = tmp_path / "missing.pth"
    torch.save(state, path)
    with pytest.raises(ConversionError, match="missing.*features.7.block.1.1.running_mean") as exc:
        convert_torchvision(path)
    assert str(path) in str(exc.value)


def test_torchvision_wrong_shape(imagenet_state: dict[str, torch.Tensor], tmp_path: Path):
    state = dict(imagenet_state)
    state["features.16.0.weight"] = torch.zeros(1280, 160, 1, 1)  # MobileNetV3-Large-ish head
    path = tmp_path / "shape.pth"
    torch.save(state, path)
    with pytest.raises(ConversionError, match="features.16.0.weight") as exc:
        convert_torchvision(path)
    assert "(1280, 160, 1, 1)" in str(exc.value) and str(path) in str(exc.value)


def test_torchvision_not_a_state_dict(tmp_path: Path):
    path = tmp_path / "list.pth"
    torch.save([torch.zeros(3), torch.ones(2)], path)
    with pytest.raises(ConversionError, match="mapping") as exc:
        convert_torchvision(path)
    assert str(path) in str(exc.value)


def test_torchvision_unreadable_file(tmp_path: Path):
    path = tmp_path / "noise.pth"
    path.write_bytes(np.random.default_rng(0).bytes(1024))
    with pytest.raises(ConversionError, match="cannot read a state dict") as exc:
        convert_torchvision(path)
    assert str(path) in str(exc.value)


# ====================================================================== the real RVM model

FRAME = DATA / "sam2-bedroom-00000.jpg"
RATIO = float(np.float32(512 / 960))


@functools.lru_cache(maxsize=1)
def convert_real(path: Path) -> MemMatte:
    model, report = convert_rvm_onnx(path)
    assert report.not_initialised == NOT_IN_RVM
    return model.eval()


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    from PIL import Image

    with Image.open(FRAME) as im:
        rgb = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
    assert rgb.shape == (540, 960, 3)
    return np.ascontiguousarray(rgb.transpose(2, 0, 1)[None])


def test_real_rvm_lraspp_parity(frame: np.ndarray):
    from memmatte.weights.rvm_parity import lraspp_max_difference

    rvm_onnx = require_rvm_onnx()
    real_converted = convert_real(rvm_onnx)
    assert lraspp_max_difference(real_converted, rvm_onnx, frame, RATIO) <= 1e-4


def test_real_rvm_full_network_parity(frame: np.ndarray):
    import onnxruntime as ort

    rvm_onnx = require_rvm_onnx()
    real_converted = convert_real(rvm_onnx)
    session = ort.InferenceSession(str(rvm_onnx), providers=["CPUExecutionProvider"])
    zero = np.zeros((1, 1, 1, 1), np.float32)
    fgr, pha = session.run(["fgr", "pha"], {
        "src": frame, "r1i": zero, "r2i": zero, "r3i": zero, "r4i": zero,
        "downsample_ratio": np.array([RATIO], np.float32)})
    with torch.no_grad():
        out = real_converted(torch.from_numpy(frame), downsample_ratio=RATIO)
    assert out.fgr.shape == fgr.shape == (1, 3, 540, 960)
    assert out.pha.shape == pha.shape == (1, 1, 540, 960)
    # A person is there: the matte is neither empty nor full.
    assert 0.01 < float((pha > 0.5).mean()) < 0.99
    assert np.abs(out.fgr.numpy() - fgr).max() <= 2e-4
    assert np.abs(out.pha.numpy() - pha).max() <= 2e-4


def test_real_rvm_window_parity(frame: np.ndarray):
    """With decoder memory "window" the converted network is the published recurrent one
    whose state restarts two frames back: frame t equals RVM run over t-2, t-1, t from zero."""
    import onnxruntime as ort

    rvm_onnx = require_rvm_onnx()
    model, report = convert_rvm_onnx(rvm_onnx, MemMatte(ModelConfig(decoder_memory="window")))
    assert report.unused_source == []
    model.eval()
    # Three frames that move: the plate panned by a few pixels per frame.
    clip = [np.roll(frame, 12 * k, axis=3) for k in range(3)]
    session = ort.InferenceSession(str(rvm_onnx), providers=["CPUExecutionProvider"])
    state = [np.zeros((1, 1, 1, 1), np.float32)] * 4
    for src in clip:
        fgr, pha, *state = session.run(None, {
            "src": src, "downsample_ratio": np.array([RATIO], np.float32),
            **dict(zip(("r1i", "r2i", "r3i", "r4i"), state))})
    with torch.no_grad():
        out = model(torch.from_numpy(np.stack(clip, 1)), downsample_ratio=RATIO)
        cold = model(torch.from_numpy(clip[2]), downsample_ratio=RATIO)
    assert np.abs(out.fgr[:, 2].numpy() - fgr).max() <= 2e-4
    assert np.abs(out.pha[:, 2].numpy() - pha).max() <= 2e-4
    # The state is really carried: a frame alone is another matte.
    assert np.abs(cold.pha.numpy() - pha).max() > 1e-3
