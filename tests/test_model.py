"""The network: shapes, the finite memory window, identity initialisation, input checks."""
from __future__ import annotations

import pytest
import torch

from memmatte.model import MemMatte, ModelConfig, downsample
from memmatte.model.decoder import GatedBlock
from memmatte.model.encoder import MobileNetV3LargeEncoder
from memmatte.model.memory import attend, window_indices
from memmatte.weights import load_weights

from .windowed import windowed_copy


@pytest.fixture(scope="module")
def model() -> MemMatte:
    # The shipped weights give realistic activations (a random network's collapse to ~0).
    m, _ = load_weights()
    torch.manual_seed(0)
    with torch.no_grad():
        # A strong read-out, so the memory changes outputs clearly.
        m.memory.readout.weight.normal_(0, 0.2)
    return m


@pytest.fixture(scope="module")
def windowed(model: MemMatte) -> MemMatte:
    return windowed_copy(model)


# The finite window holds for the attention memory and for the decoder window alike.
BOTH = pytest.mark.parametrize("net", ["model", "windowed"])


def clip(t: int, h: int = 64, w: int = 96, seed: int = 1) -> torch.Tensor:
    return torch.rand(1, t, 3, h, w, generator=torch.Generator().manual_seed(seed))


# -- shapes ---------------------------------------------------------------------------------
def test_encoder_feature_shapes() -> None:
    feats = MobileNetV3LargeEncoder().eval()(torch.rand(2, 3, 64, 96))
    assert [tuple(f.shape) for f in feats] == [(2, 16, 32, 48), (2, 24, 16, 24),
                                               (2, 40, 8, 12), (2, 960, 4, 6)]


@pytest.mark.parametrize("h,w", [(64, 96), (50, 77), (17, 33)])
def test_single_frame_shapes_any_size(model: MemMatte, h: int, w: int) -> None:
    with torch.inference_mode():
        out = model(torch.rand(2, 3, h, w))
    assert out.fgr.shape == (2, 3, h, w) and out.pha.shape == (2, 1, h, w)
    assert 0.0 <= float(out.pha.min()) and float(out.pha.max()) <= 1.0


def test_time_series_shapes_and_low_res_head(model: MemMatte) -> None:
    with torch.inference_mode():
        out = model(clip(4), with_lr=True)
    assert out.fgr.shape == (1, 4, 3, 64, 96) and out.pha.shape == (1, 4, 1, 64, 96)
    assert out.lr_fgr.shape == (1, 4, 3, 4, 6) and out.lr_pha.shape == (1, 4, 1, 4, 6)
    assert out.memory.key.shape == (1, 2, 64, 4, 6)
    assert out.memory.value.shape == (1, 2, 128, 4, 6)


def test_guided_filter_brings_output_to_input_size(model: MemMatte) -> None:
    with torch.inference_mode():
        out = model(torch.rand(1, 3, 90, 130), downsample_ratio=0.5)
    assert out.fgr.shape == (1, 3, 90, 130)


# -- the finite window ----------------------------------------------------------------------
def test_window_indices_replace_missing_predecessors_with_first_frame() -> None:
    idx = window_indices(0, 4, 2, torch.device("cpu")).tolist()
    assert idx == [[0, 0], [0, 0], [1, 0], [2, 1]]
    # With two frames of prior memory, the first new frame (position 2) reads 1 and 0.
    assert window_indices(2, 2, 2, torch.device("cpu")).tolist() == [[1, 0], [2, 1]]


def play(model: MemMatte, frames: torch.Tensor) -> list[torch.Tensor]:
    """Frame after frame, memory carried: how an engine plays a shot."""
    memory, outs = None, []
    for t in range(frames.shape[1]):
        out = model(frames[:, t], memory=memory)
        memory = out.memory
        outs.append(torch.cat([out.fgr, out.pha], 1))
    return outs


@BOTH
def test_frame_depends_only_on_two_previous_frames(net: str, request: pytest.FixtureRequest) -> None:
    model = request.getfixturevalue(net)
    frames = clip(6)
    with torch.inference_mode():
        sequential = play(model, frames)
        for t in range(2, 6):
            cold = play(model, frames[:, t - 2 : t + 1])[-1]
            diff = (sequential[t] - cold).abs().max()
            assert diff <= 1e-5, f"frame {t}: {diff}"


@BOTH
def test_frames_outside_window_do_not_matter(net: str, request: pytest.FixtureRequest) -> None:
    model = request.getfixturevalue(net)
    a, b = clip(4, seed=1), clip(4, seed=1).clone()
    b[:, 0] = torch.rand_like(b[:, 0])  # frame 0 is outside frame 3's window
    with torch.inference_mode():
        pa, pb = model(a).fgr, model(b).fgr
    assert torch.allclose(pa[:, 3], pb[:, 3], atol=1e-6)
    assert not torch.allclose(pa[:, 2], pb[:, 2], atol=1e-3)  # but inside frame 2's


@BOTH
def test_frame_by_frame_with_carried_memory_equals_whole_clip(net: str, request: pytest.FixtureRequest) -> None:
    model = request.getfixturevalue(net)
    frames = clip(5)
    with torch.inference_mode():
        whole = model(frames)
        pieces = torch.stack(play(model, frames), 1)
    # Batch size changes the convolutions' summation order: float tolerance, not bits.
    assert (pieces - torch.cat([whole.fgr, whole.pha], 2)).abs().max() <= 5e-5


@BOTH
def test_chunks_with_carried_memory_equal_whole_clip(net: str, request: pytest.FixtureRequest) -> None:
    model = request.getfixturevalue(net)
    frames = clip(6)
    with torch.inference_mode():
        whole = model(frames)
        first = model(frames[:, :3])
        second = model(frames[:, 3:], memory=first.memory)
    joined = torch.cat([first.pha, second.pha], 1)
    assert (joined - whole.pha).abs().max() <= 5e-5


def test_decoder_window_changes_output_and_cold_gru_is_gated_block(
        model: MemMatte, windowed: MemMatte) -> None:
    frames = clip(3)
    with torch.inference_mode():
        alone = windowed(frames[:, 2]).pha
        in_window = windowed(frames).pha[:, 2]
        plain_model = twin(model, decoder_memory="none")(frames[:, 2]).pha
    # A cold frame (its window is itself) and the plain network differ only by the state
    # the frame hands itself; with the frame's predecessors the state changes the matte.
    assert (in_window - alone).abs().max() > 1e-3
    assert (alone - plain_model).abs().max() > 1e-3
    block = windowed.decoder.decode2.refine
    x = torch.rand(1, block.half * 2, 8, 8)
    plain = GatedBlock(block.half * 2)
    plain.load_state_dict(block.state_dict(), strict=False)
    with torch.inference_mode():
        assert torch.equal(block(x), plain(x))  # no state: the gated block exactly
        assert not torch.allclose(block(x, torch.rand(1, block.half, 8, 8)), plain(x))


def test_state_for_a_block_without_state_weights_is_refused() -> None:
    with pytest.raises(ValueError, match="without state weights"):
        GatedBlock(8)(torch.rand(1, 8, 4, 4), torch.rand(1, 4, 4, 4))


def test_unknown_decoder_memory_is_refused() -> None:
    with pytest.raises(ValueError, match="decoder_memory must be one of"):
        ModelConfig(decoder_memory="lstm")


def test_memory_changes_output_when_read_out_is_trained(model: MemMatte) -> None:
    frames = clip(3)
    with torch.inference_mode():
        seq = model(frames).fgr[:, 2]
        alone = model(frames[:, 2]).fgr
    assert (seq - alone).abs().max() > 1e-4



def twin(model: MemMatte, **config: str) -> MemMatte:
    """The fixture's weights under another config (a read-out, no decoder window)."""
    from dataclasses import replace

    out = MemMatte(replace(model.config, **config)).eval()
    out.load_state_dict(model.state_dict(), strict=False)
    return out


def delta_twin(model: MemMatte) -> MemMatte:
    return twin(model, memory_readout="delta")


def test_delta_read_out_is_exactly_zero_at_a_shot_start(model: MemMatte) -> None:
    delta = delta_twin(model)
    frames = clip(4)
    with torch.inference_mode():
        feats = delta.encode(frames[0, :1])
        own = feats.memory
        stack = (own.key.unsqueeze(1).repeat(1, 2, 1, 1, 1),
                 own.value.unsqueeze(1).repeat(1, 2, 1, 1, 1))
        assert torch.equal(delta.memory.read(own, *stack), torch.zeros_like(own.value))
        seq = delta(frames)
        delta.memory.readout.weight.zero_()
        delta.memory.readout.bias.zero_()
        without = delta(frames)
    # Frame 0 of a shot (memory = itself) is the network without memory, bit for bit.
    assert torch.equal(seq.pha[:, 0], without.pha[:, 0])
    assert torch.equal(seq.fgr[:, 0], without.fgr[:, 0])
    # Later frames read t-1 and t-2, and that changes them.
    assert (seq.pha[:, 3] - without.pha[:, 3]).abs().max() > 1e-4


def test_plain_and_delta_read_outs_differ_once_trained(model: MemMatte) -> None:
    frames = clip(3)
    with torch.inference_mode():
        plain = twin(model, memory_readout="plain")(frames).pha[:, 2]
        delta = delta_twin(model)(frames).pha[:, 2]
    assert (plain - delta).abs().max() > 1e-4


def test_files_that_do_not_name_their_read_out_load_as_plain() -> None:
    data = ModelConfig().to_dict()
    del data["memory_readout"]
    assert ModelConfig.from_dict(data).memory_readout == "plain"
    assert ModelConfig().memory_readout == "delta"
    with pytest.raises(ValueError, match="memory_readout must be one of"):
        ModelConfig(memory_readout="gated")

# -- initialisation -------------------------------------------------------------------------
def test_untrained_memory_block_passes_features_through() -> None:
    torch.manual_seed(0)
    m = MemMatte().eval()
    frames = clip(3)
    with torch.inference_mode():
        feats = m.encode(frames[0])
        keys = torch.randn(3, 2, 64, 4, 6)
        values = torch.randn(3, 2, 128, 4, 6)
        assert torch.equal(m.fuse(feats, keys, values), feats.f4)
        # So each frame comes out as if matted alone.
        assert torch.allclose(m(frames).pha[:, 2], m(frames[:, 2]).pha, atol=1e-6)


def test_memory_none_variant_has_no_memory_block() -> None:
    m = MemMatte(ModelConfig(memory="none")).eval()
    assert m.memory is None
    assert not any(k.startswith("memory.") for k in m.state_dict())
    with torch.inference_mode():
        out = m(clip(3))
    assert out.memory is None and out.pha.shape == (1, 3, 1, 64, 96)


def test_gated_block_keeps_first_half() -> None:
    block = GatedBlock(8)
    x = torch.randn(2, 8, 5, 5)
    y = block(x)
    assert torch.equal(y[:, :4], x[:, :4])
    gate = torch.sigmoid(block.gate(x[:, 4:]))
    assert torch.allclose(y[:, 4:], gate * torch.tanh(block.candidate(x[:, 4:])))


def test_attention_reads_the_matching_memory_position() -> None:
    # One memory position has the query's key scaled up: its value dominates the read-out.
    q = torch.zeros(1, 4, 1, 1)
    q[0, 0] = 1.0
    keys = torch.zeros(1, 2, 4, 1, 2)
    keys[0, 1, 0, 0, 1] = 50.0
    values = torch.arange(4.0).view(1, 2, 1, 1, 2).expand(1, 2, 3, 1, 2).contiguous()
    out = attend(q, keys, values)
    assert torch.allclose(out, torch.full((1, 3, 1, 1), 3.0), atol=1e-4)


# -- errors ---------------------------------------------------------------------------------
def test_bad_shapes_are_explained(model: MemMatte) -> None:
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\) or \(N, T, 3, H, W\)"):
        model(torch.rand(1, 4, 32, 32))
    with pytest.raises(ValueError, match="expected src of shape"):
        model.backbone(torch.rand(3, 32, 32))


@pytest.mark.parametrize("ratio", [0.0, -0.5, 1.5])
def test_bad_ratio_is_explained(ratio: float) -> None:
    with pytest.raises(ValueError, match=r"downsample_ratio must be in \(0, 1\]"):
        downsample(torch.rand(1, 3, 8, 8), ratio)


def test_memory_of_another_resolution_is_refused(model: MemMatte) -> None:
    with torch.inference_mode():
        mem = model(torch.rand(1, 3, 64, 64)).memory
        with pytest.raises(ValueError, match="same batch and resolution"):
            model(torch.rand(1, 3, 128, 128), memory=mem)


def test_unknown_memory_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="memory must be one of"):
        ModelConfig(memory="gru")


def test_config_round_trip_and_unknown_keys() -> None:
    c = ModelConfig(memory="none", key_channels=32)
    assert ModelConfig.from_dict(c.to_dict()) == c
    with pytest.raises(ValueError, match="unknown model config keys"):
        ModelConfig.from_dict({"memroy": "none"})


# -- gradients ------------------------------------------------------------------------------
def test_gradients_reach_memory_block_and_low_res_head() -> None:
    torch.manual_seed(0)
    m = MemMatte().train()
    out = m(clip(3, 32, 32), with_lr=True)
    (out.pha.mean() + out.lr_pha.mean() + out.fgr.mean()).backward()
    assert m.memory.readout.weight.grad.abs().sum() > 0
    assert m.lr_head.weight.grad.abs().sum() > 0
    assert m.backbone.features[0][0].weight.grad.abs().sum() > 0


def test_guided_filter_is_differentiable_in_training() -> None:
    torch.manual_seed(0)
    m = MemMatte().train()
    out = m(torch.rand(1, 2, 3, 64, 64), downsample_ratio=0.5)
    out.pha.mean().backward()
    assert m.refiner.box_filter.weight.grad.abs().sum() > 0
