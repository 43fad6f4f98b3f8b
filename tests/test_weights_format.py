"""The weights format: safetensors tensors + JSON metadata (memmatte.weights.format).

Smoke: the packaged default weights load. Shapes: save/load round trips (fp16 parameters,
fp32 BatchNorm statistics, metadata, config, content id). Errors: every way a file can be
unusable gives a WeightsError that names the file.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from memmatte.model import MemMatte, ModelConfig
from memmatte.protocol.errors import SystemFailure
from memmatte.weights import (WeightsError, default_weights_path, load_weights, read_info,
                              save_weights)
from memmatte.weights import format as wformat

FORMAT_HEADER = {"format": "memmatte-weights", "format_version": "1"}


def randomised(config: ModelConfig | None = None, seed: int = 0) -> MemMatte:
    """A network whose every float tensor (BN statistics included) is random and non-default."""
    torch.manual_seed(seed)
    model = MemMatte(config)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if not t.is_floating_point():
                continue
            if name.endswith("running_var"):
                t.uniform_(0.5, 1.5)
            else:
                # Values not representable in fp16, so a silent fp32 save would be noticed.
                t.uniform_(-1.0, 1.0).add_(1e-4 / 3)
    return model.eval()


def state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}


def write_raw(path: Path, tensors: dict[str, torch.Tensor], header: dict[str, str]) -> Path:
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path), metadata=header)
    return path


def raw_header(config: dict | None = None, **extra: str) -> dict[str, str]:
    meta = {"config": config if config is not None else ModelConfig().to_dict()}
    return {**FORMAT_HEADER, "metadata": json.dumps(meta), **extra}


@pytest.fixture(scope="module")
def model() -> MemMatte:
    return randomised()


@pytest.fixture(scope="module")
def saved(model: MemMatte, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("weights") / "model.safetensors"
    save_weights(model, path, metadata={"name": "test-model", "training": {"epochs": 3,
                                                                           "lr": [1e-3, 1e-4]}})
    return path


# ---------------------------------------------------------------- smoke: default weights


def test_default_weights_load_and_run():
    model, info = load_weights()
    assert Path(info.path) == default_weights_path()
    assert default_weights_path().is_file()
    # The shipped file predates the delta read-out: it names none, so it loads as plain.
    assert info.config == ModelConfig(memory_readout="delta", decoder_memory="window")
    assert not model.training
    assert all(p.dtype == torch.float32 for p in model.state_dict().values()
               if p.is_floating_point())
    with torch.no_grad():
        out = model(torch.rand(1, 3, 64, 64))
    assert out.fgr.shape == (1, 3, 64, 64) and out.pha.shape == (1, 1, 64, 64)
    assert torch.isfinite(out.pha).all()


def test_default_weights_carry_a_conversion_report():
    info = read_info(default_weights_path())
    conversion = info.metadata["conversion"]
    assert conversion["source"].startswith("rvm-onnx:")
    # The layers RVM has no counterpart for, and nothing else.
    assert conversion["not_initialised"] == ["memory.key", "memory.value", "memory.readout",
                                             "lr_head"]
    assert "backbone.features.0.0" in conversion["initialised"]
    assert "refiner.conv.6" in conversion["initialised"]
    assert info.metadata["network_color_space"] == wformat.NETWORK_COLOR_SPACE


def test_shipped_metadata_holds_ids_and_relative_paths_only():
    from memmatte.train.gate import machine_paths

    assert machine_paths(read_info(default_weights_path()).metadata) == []


def test_default_weights_are_the_trained_fine_tune():
    # Trained here (docs/training.md, 2026-12-07, fifth round): a soup of two fine-tunes of
    # 2545d5ab8e39, itself trained from the decoder-window conversion (609611488cc9); the
    # summary and the held-out gate that let them ship travel with them.
    meta = read_info(default_weights_path()).metadata
    training = meta["training"]
    assert training["init"] == "2545d5ab8e39"  # the weights these replace
    assert meta["replaces"] == "2545d5ab8e39" and training["soup"]["share_b"] == 0.5
    assert training["memory"] == "attention" and training["decoder_memory"] == "window"
    assert training["steps"] > 1000 and training["recipe"]["guided"]
    heldout = meta["heldout"]
    assert heldout["passed"] and heldout["weights"][heldout["incumbent"]] == meta["replaces"]
    # Never trained on a held-out clip.
    assert not set(training["clips"]) & set(heldout["clips"])
    for clip in heldout["clips"]:
        row = heldout["rows"][clip]
        for other in heldout["must_beat"]:
            assert row[heldout["candidate"]]["mad"] < row[other]["mad"], (clip, other)
            assert row[heldout["candidate"]]["flicker"] < row[other]["flicker"], (clip, other)
    model, info = load_weights()
    assert model.decoder.recurrent and info.config.decoder_memory == "window"
    assert model.memory is not None


# ---------------------------------------------------------------- round trip


def test_fp16_round_trip_parameters_within_fp16_rounding(model: MemMatte, saved: Path):
    loaded, _ = load_weights(saved)
    ours, theirs = state(model), state(loaded)
    assert set(ours) == set(theirs)
    for name, value in ours.items():
        if name.endswith(("running_mean", "running_var")):
            continue
        assert theirs[name].dtype == torch.float32, name
        # Exactly what fp16 makes of it: nothing worse than one rounding step.
        assert torch.equal(theirs[name], value.half().float()), name
        assert not torch.equal(theirs[name], value), f"{name} was not stored as fp16"


def test_batchnorm_statistics_stay_fp32_exactly(model: MemMatte, saved: Path):
    loaded, _ = load_weights(saved)
    stats = [k for k in state(model) if k.endswith(("running_mean", "running_var"))]
    assert len(stats) > 100
    for name in stats:
        assert torch.equal(state(loaded)[name], state(model)[name]), name


def test_file_stores_fp16_parameters_and_fp32_statistics(saved: Path):
    tensors = load_file(str(saved))
    assert tensors["backbone.features.0.0.weight"].dtype == torch.float16
    assert tensors["decoder.bottleneck.gate.bias"].dtype == torch.float16
    assert tensors["backbone.features.0.1.running_var"].dtype == torch.float32
    assert tensors["refiner.conv.1.running_mean"].dtype == torch.float32
    assert not any(k.endswith("num_batches_tracked") for k in tensors)


def test_float32_save_round_trips_exactly(model: MemMatte, tmp_path: Path):
    path = save_weights(model, tmp_path / "fp32.safetensors", dtype=torch.float32)
    loaded, _ = load_weights(path)
    for name, value in state(model).items():
        assert torch.equal(state(loaded)[name], value), name


def test_loaded_network_matches_fp16_rounded_original(model: MemMatte, saved: Path):
    loaded, _ = load_weights(saved)
    rounded = randomised()
    with torch.no_grad():
        for name, t in rounded.state_dict().items():
            if t.is_floating_point() and not name.endswith(("running_mean", "running_var")):
                t.copy_(t.half().float())
    src = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        a, b = loaded(src, downsample_ratio=0.5), rounded(src, downsample_ratio=0.5)
    assert torch.equal(a.pha, b.pha) and torch.equal(a.fgr, b.fgr)


def test_metadata_and_config_round_trip(model: MemMatte, saved: Path):
    info = read_info(saved)
    assert info.path == str(saved)
    assert info.config == model.config
    assert info.metadata["name"] == "test-model"
    assert info.metadata["training"] == {"epochs": 3, "lr": [1e-3, 1e-4]}
    assert info.metadata["config"] == model.config.to_dict()
    assert info.metadata["network_color_space"] == wformat.NETWORK_COLOR_SPACE
    assert "memmatte_version" in info.metadata


def test_custom_config_round_trips(tmp_path: Path):
    config = ModelConfig(key_channels=32, value_channels=64, memory_frames=3)
    model = randomised(config)
    loaded, info = load_weights(save_weights(model, tmp_path / "custom.safetensors"))
    assert info.config == config and loaded.config == config
    assert loaded.memory is not None and loaded.memory.key.out_channels == 32


def test_memory_none_round_trip(tmp_path: Path):
    config = ModelConfig(memory="none")
    model = randomised(config)
    path = save_weights(model, tmp_path / "none.safetensors")
    assert not any(k.startswith("memory.") for k in load_file(str(path)))
    loaded, info = load_weights(path)
    assert info.config.memory == "none"
    assert loaded.memory is None
    for name, value in state(model).items():
        expected = value if name.endswith(("running_mean", "running_var")) else value.half().float()
        assert torch.equal(state(loaded)[name], expected), name


def reordered_copy(src: Path, dst: Path) -> Path:
    """The same safetensors file with its header metadata keys in reverse order.

    safetensors itself writes them in arbitrary order, so two saves of the same weights can
    differ this way.
    """
    data = src.read_bytes()
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + size])
    header["__metadata__"] = dict(reversed(list(header["__metadata__"].items())))
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (size - len(text))
    assert len(text) == size and text != data[8:8 + size]
    dst.write_bytes(data[:8] + text + data[8 + size:])
    return dst


def test_weights_id_is_a_stable_content_hash(model: MemMatte, saved: Path, tmp_path: Path):
    info = read_info(saved)
    assert len(info.weights_id) == 12 and int(info.weights_id, 16) >= 0
    assert load_weights(saved)[1].weights_id == info.weights_id
    # Same content, header keys in another order (what safetensors does between saves).
    same = reordered_copy(saved, tmp_path / "reordered.safetensors")
    assert same.read_bytes() != saved.read_bytes()
    assert read_info(same).weights_id == info.weights_id
    meta = {"name": "test-model", "training": {"epochs": 3, "lr": [1e-3, 1e-4]}}
    for i in range(3):
        again = save_weights(model, tmp_path / f"again{i}.safetensors", metadata=meta)
        assert read_info(again).weights_id == info.weights_id
    # One parameter changed, or the metadata: another id.
    other = randomised()
    with torch.no_grad():
        other.project.bias[0] += 0.5
    changed = save_weights(other, tmp_path / "changed.safetensors", metadata=meta)
    assert read_info(changed).weights_id != info.weights_id
    renamed = save_weights(model, tmp_path / "renamed.safetensors",
                           metadata={**meta, "name": "other"})
    assert read_info(renamed).weights_id != info.weights_id


# ---------------------------------------------------------------- atomic write


def test_failed_save_leaves_existing_file_untouched(model: MemMatte, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch):
    path = save_weights(model, tmp_path / "model.safetensors")
    before = path.read_bytes()

    def broken_save_file(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(wformat, "save_file", broken_save_file)
    with pytest.raises(SystemFailure, match="model.safetensors: cannot write: disk full"):
        save_weights(randomised(seed=1), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors"]
    load_weights(path)


def test_failed_save_to_new_path_leaves_nothing(model: MemMatte, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch):
    def broken_save_file(tensors, filename, metadata=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(wformat, "save_file", broken_save_file)
    with pytest.raises(KeyboardInterrupt):
        save_weights(model, tmp_path / "sub" / "model.safetensors")
    assert list((tmp_path / "sub").iterdir()) == []


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_saved_file_has_ordinary_permissions(model: MemMatte, tmp_path: Path):
    # The temporary file behind the atomic write is private (0600); the result must not be.
    mask = os.umask(0o022)
    try:
        path = save_weights(model, tmp_path / "model.safetensors")
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644


# ---------------------------------------------------------------- errors


def test_missing_file(tmp_path: Path):
    path = tmp_path / "nowhere.safetensors"
    with pytest.raises(WeightsError, match="not found") as exc:
        load_weights(path)
    assert str(path) in str(exc.value)
    with pytest.raises(WeightsError, match="not found"):
        read_info(path)


def test_not_a_safetensors_file(tmp_path: Path):
    path = tmp_path / "noise.safetensors"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(WeightsError, match="not a readable safetensors file") as exc:
        load_weights(path)
    assert str(path) in str(exc.value)


def test_pickle_checkpoint_is_refused_not_unpickled(model: MemMatte, tmp_path: Path):
    path = tmp_path / "model.pth"
    torch.save(model.state_dict(), path)
    with pytest.raises(WeightsError) as exc:
        load_weights(path)
    assert str(path) in str(exc.value)


def test_safetensors_without_format_marker(model: MemMatte, tmp_path: Path):
    path = write_raw(tmp_path / "foreign.safetensors", state(model), {"source": "elsewhere"})
    with pytest.raises(WeightsError, match="not a memmatte weights file") as exc:
        load_weights(path)
    assert str(path) in str(exc.value)
    # No metadata at all.
    bare = tmp_path / "bare.safetensors"
    save_file({"x": torch.zeros(2)}, str(bare))
    with pytest.raises(WeightsError, match="not a memmatte weights file") as exc:
        read_info(bare)
    assert str(bare) in str(exc.value)


@pytest.mark.parametrize("version", ["2", "0", ""])
def test_wrong_format_version(model: MemMatte, tmp_path: Path, version: str):
    path = write_raw(tmp_path / "v.safetensors", state(model),
                     raw_header(format_version=version))
    with pytest.raises(WeightsError, match="format version") as exc:
        load_weights(path)
    assert str(path) in str(exc.value)


def test_metadata_not_json_or_without_config(model: MemMatte, tmp_path: Path):
    path = write_raw(tmp_path / "bad.safetensors", state(model),
                     {**FORMAT_HEADER, "metadata": "{not json"})
    with pytest.raises(WeightsError, match="not valid JSON") as exc:
        read_info(path)
    assert str(path) in str(exc.value)
    path = write_raw(tmp_path / "noconfig.safetensors", state(model),
                     {**FORMAT_HEADER, "metadata": json.dumps({"name": "x"})})
    with pytest.raises(WeightsError, match="config") as exc:
        read_info(path)
    assert str(path) in str(exc.value)


def test_unknown_config_keys(model: MemMatte, tmp_path: Path):
    config = {**ModelConfig().to_dict(), "attention_heads": 8}
    path = write_raw(tmp_path / "future.safetensors", state(model), raw_header(config))
    with pytest.raises(WeightsError, match="attention_heads") as exc:
        load_weights(path)
    assert str(path) in str(exc.value)


def test_invalid_config_value(model: MemMatte, tmp_path: Path):
    config = {**ModelConfig().to_dict(), "memory": "lstm"}
    path = write_raw(tmp_path / "lstm.safetensors", state(model), raw_header(config))
    with pytest.raises(WeightsError, match="lstm") as exc:
        read_info(path)
    assert str(path) in str(exc.value)


def test_tensor_of_wrong_shape(model: MemMatte, tmp_path: Path):
    tensors = state(model)
    tensors["decoder.decode2.conv.0.weight"] = torch.zeros(41, 107, 3, 3)
    path = write_raw(tmp_path / "shape.safetensors", tensors, raw_header())
    with pytest.raises(WeightsError, match="decoder.decode2.conv.0.weight") as exc:
        load_weights(path)
    assert str(path) in str(exc.value)
    assert "(41, 107, 3, 3)" in str(exc.value) and "(40, 107, 3, 3)" in str(exc.value)


def test_missing_tensor(model: MemMatte, tmp_path: Path):
    tensors = state(model)
    del tensors["refiner.box_filter.weight"]
    path = write_raw(tmp_path / "missing.safetensors", tensors, raw_header())
    with pytest.raises(WeightsError, match="missing tensors.*refiner.box_filter.weight") as exc:
        load_weights(path)
    assert str(path) in str(exc.value)


def test_tensors_that_do_not_fit_the_stored_config(tmp_path: Path):
    # A memory="none" file whose config claims attention memory: memory.* are missing.
    tensors = state(randomised(ModelConfig(memory="none")))
    path = write_raw(tmp_path / "liar.safetensors", tensors, raw_header())
    with pytest.raises(WeightsError, match="memory.key") as exc:
        load_weights(path)
    assert str(path) in str(exc.value)


def test_unexpected_tensor(model: MemMatte, tmp_path: Path):
    tensors = {**state(model), "extra.head.weight": torch.zeros(3)}
    path = write_raw(tmp_path / "extra.safetensors", tensors, raw_header())
    with pytest.raises(WeightsError, match="unexpected tensors.*extra.head.weight") as exc:
        load_weights(path)
    assert str(path) in str(exc.value)
