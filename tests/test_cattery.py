"""``memmatte export --format cattery``: the stateless TorchScript model Nuke's Inference runs.

It must give the engine's pixels for the same three frames, really use frames t-1 and t-2,
follow the ratio attribute (Nuke's knob) and the module's dtype, and say what it is."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from memmatte.commands.export_cattery import CHANNELS_IN, CHANNELS_OUT, read_metadata
from memmatte.engine import Engine
from memmatte.engine.torch_backend import TorchBackend
from memmatte.weights import load_weights

from .plates import demo_frame
from .windowed import windowed_copy

T, T1, T2 = 1003, 1002, 1001


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Written by the command line, as a user makes it."""
    path = tmp_path_factory.mktemp("cattery") / "MemoryMatte.pt"
    done = subprocess.run([sys.executable, "-m", "memmatte.cli", "export", "--format",
                           "cattery", "-o", str(path)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "CatFileCreator" in done.stdout and CHANNELS_IN in done.stdout
    return path


@pytest.fixture(scope="module")
def scripted(exported: Path) -> torch.jit.ScriptModule:
    return torch.jit.load(str(exported), map_location="cpu").eval()


@pytest.fixture(scope="module")
def frames() -> dict[int, np.ndarray]:
    """Real frames of the demo plate (480x270), roughly display-encoded, for both sides."""
    return {f: np.clip(demo_frame(f), 0, 1).astype(np.float32) ** np.float32(1 / 2.2)
            for f in (T2, T1, T)}


def stacked(frames: dict[int, np.ndarray], *order: int) -> torch.Tensor:
    return torch.from_numpy(np.concatenate([frames[f].transpose(2, 0, 1) for f in order]))[None]


def run(module: torch.jit.ScriptModule, x: torch.Tensor, ratio: float) -> np.ndarray:
    module.downsample_ratio = ratio  # what the Inference node's knob does
    with torch.no_grad():
        out = module(x)
    assert tuple(out.shape) == (1, 4, *x.shape[2:])
    return out[0].numpy().transpose(1, 2, 0)


def engine_result(frames: dict[int, np.ndarray], ratio: float, first: int = T2) -> np.ndarray:
    model, _ = load_weights()
    engine = Engine(TorchBackend(model, "cpu"), first_frame=first, downsample_ratio=ratio)
    result = engine.matte(T, frames.__getitem__)
    assert result.window == ((T1, T2) if first == T2 else (T, T))
    return np.concatenate([result.fgr * result.pha[..., None], result.pha[..., None]], -1)


@pytest.mark.parametrize("ratio", [0.5, 1.0])
def test_a_decoder_window_gives_the_engines_pixels(frames: dict[int, np.ndarray],
                                                   ratio: float) -> None:
    """The decoder states rebuilt over t-2 and t-1 inside the stateless model, as the engine
    rebuilds them from its cached entries."""
    from memmatte.commands.export_cattery import scripted as script

    model = windowed_copy(load_weights()[0])
    module = script(model).eval()
    got = run(module, stacked(frames, T, T1, T2), ratio)
    engine = Engine(TorchBackend(model, "cpu"), first_frame=T2, downsample_ratio=ratio)
    result = engine.matte(T, frames.__getitem__)
    want = np.concatenate([result.fgr * result.pha[..., None], result.pha[..., None]], -1)
    assert np.abs(got - want).max() <= 1e-4
    # The states matter: the same frame with itself as its predecessors is another matte.
    alone = run(module, stacked(frames, T, T, T), ratio)
    assert np.abs(alone - got).max() > 1e-3


@pytest.mark.parametrize("ratio", [0.5, 0.37, 1.0])
def test_the_model_gives_the_engines_pixels_for_the_same_three_frames(
        scripted: torch.jit.ScriptModule, frames: dict[int, np.ndarray], ratio: float) -> None:
    got = run(scripted, stacked(frames, T, T1, T2), ratio)
    want = engine_result(frames, ratio)
    diff = np.abs(got - want).max()
    print(f"cattery vs engine, ratio {ratio}: max abs diff {diff:.2e}")
    assert diff <= 1e-4


def test_auto_ratio_is_the_engines_auto_ratio(scripted: torch.jit.ScriptModule,
                                             frames: dict[int, np.ndarray]) -> None:
    # 0 means auto: long side near 512 px; at 480x270 that is ratio 1, the unrefined path.
    got = run(scripted, stacked(frames, T, T1, T2), 0.0)
    assert np.abs(got - engine_result(frames, 1.0)).max() <= 1e-4
    # A frame wider than 512 px is worked on at a ratio below 1 (guided filter).
    wide = {f: np.concatenate([v, v[:, ::-1]], 1) for f, v in frames.items()}
    got = run(scripted, stacked(wide, T, T1, T2), 0.0)
    model, _ = load_weights()
    engine = Engine(TorchBackend(model, "cpu"), first_frame=T2)
    r = engine.matte(T, wide.__getitem__)
    assert engine.ratio_for(*wide[T].shape[:2]) < 1.0
    want = np.concatenate([r.fgr * r.pha[..., None], r.pha[..., None]], -1)
    assert np.abs(got - want).max() <= 1e-4


def test_frames_t1_and_t2_change_the_output(scripted: torch.jit.ScriptModule,
                                            frames: dict[int, np.ndarray]) -> None:
    base = run(scripted, stacked(frames, T, T1, T2), 0.5)
    other = np.ascontiguousarray(frames[T][::-1, ::-1])  # a different picture, same size
    with_other = dict(frames, other=other)
    for order in ((T, "other", T2), (T, T1, "other")):
        x = torch.from_numpy(np.concatenate([with_other[f].transpose(2, 0, 1)  # type: ignore
                                             for f in order]))[None]
        changed = np.abs(run(scripted, x, 0.5) - base).max()
        print(f"changing {order}: max abs change {changed:.2e}")
        assert changed > 1e-3
    # Frame t alone in all three slots is a shot's first frame, as the engine computes it.
    cold = run(scripted, stacked(frames, T, T, T), 0.5)
    assert np.abs(cold - engine_result(frames, 0.5, first=T)).max() <= 1e-4
    assert np.abs(cold - base).max() > 1e-3


def test_the_model_follows_its_dtype_and_refuses_a_wrong_input(
        exported: Path, frames: dict[int, np.ndarray]) -> None:
    module = torch.jit.load(str(exported), map_location="cpu").eval()
    x = stacked(frames, T, T1, T2)[:, :, :96, :160]
    single = run(module, x, 0.5)
    module.double()
    with torch.no_grad():
        out = module(x.double())
    assert out.dtype == torch.float64
    assert np.abs(out[0].numpy().transpose(1, 2, 0) - single).max() <= 1e-4
    with pytest.raises(torch.jit.Error, match="9xHxW"):
        module(x.double()[:, :3])


def test_the_file_says_what_it_holds(exported: Path) -> None:
    meta = read_metadata(exported)
    _, info = load_weights()
    assert meta["format"] == "memmatte-cattery" and meta["memmatte:weights"] == info.weights_id
    assert meta["channels_in"] == CHANNELS_IN and meta["channels_out"] == CHANNELS_OUT
    assert len(CHANNELS_IN.split(",")) == 9 and len(CHANNELS_OUT.split(",")) == 4


def test_a_bad_ratio_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    out = tmp_path / "m.pt"
    done = subprocess.run([sys.executable, "-m", "memmatte.cli", "export", "--format",
                           "cattery", "-o", str(out), "--downsample-ratio", "1.5"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "downsample" in done.stderr and not out.exists()
