"""The numpy side both backends share: the plate brought to network size, and the
full-resolution pass from the guided filter's coefficients, against torch's definitions."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from memmatte.engine import Engine
from memmatte.engine.full_resolution import FullResolutionPass
from memmatte.engine.onnx_backend import OnnxBackend, OnnxModelError
from memmatte.engine.resample import downsample
from memmatte.engine.torch_backend import TorchBackend
from memmatte.model import downsample as torch_downsample
from memmatte.model.memory import stack_entries
from memmatte.model.guided_filter import apply_coefficients
from memmatte.weights import load_weights


def torch_pass(rgb: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    src = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None]
    fgr, pha = apply_coefficients(src, torch.from_numpy(a)[None], torch.from_numpy(b)[None])
    return fgr[0].permute(1, 2, 0).numpy(), pha[0, 0].numpy()


@pytest.mark.parametrize("size,low", [((90, 130), (45, 65)), ((67, 33), (9, 5)),
                                      ((40, 60), (1, 1)), ((270, 480), (34, 60)),
                                      ((50, 70), (50, 70)), ((7, 9), (3, 1)),
                                      ((540, 2048), (60, 256))])  # strips wide enough to thread
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_pass_matches_the_whole_frame_guided_filter(size, low, threads: int) -> None:
    rng = np.random.default_rng(3)
    rgb = rng.random((*size, 3), np.float32)
    # Coefficients large enough that the clamps bite on both sides.
    a = (rng.standard_normal((4, *low)) * 0.8).astype(np.float32)
    b = (rng.standard_normal((4, *low)) * 0.8).astype(np.float32)
    full = FullResolutionPass(threads)
    fgr, pha = full(rgb, a, b)
    if size == (540, 2048):
        assert len(full._plan.bands) == threads
    want_fgr, want_pha = torch_pass(rgb, a, b)
    assert fgr.shape == (*size, 3) and pha.shape == size
    assert 0.0 < (pha == 0).mean() < 1.0 and 0.0 < (fgr == 1).mean() < 1.0
    assert np.abs(fgr - want_fgr).max() <= 2e-5
    assert np.abs(pha - want_pha).max() <= 2e-5


def test_pass_reuses_buffers_but_never_the_results() -> None:
    rng = np.random.default_rng(0)
    fr = FullResolutionPass(2)
    rgb = rng.random((64, 96, 3), np.float32)
    a, b = rng.random((2, 4, 16, 24), dtype=np.float32)
    first = fr(rgb, a, b)
    plan = fr._plan
    kept = first[1].copy()
    second = fr(rng.random((64, 96, 3), np.float32), a * 0, b * 0)
    assert fr._plan is plan  # same sizes: taps and buffers reused
    assert np.array_equal(first[1], kept)  # the previous frame's result is its caller's
    assert second[1] is not first[1]
    fr(rng.random((32, 48, 3), np.float32), a, b)
    assert fr._plan is not plan
    # A non-contiguous plate (a channel-reversed view) is read as what it shows.
    view = rgb[:, :, ::-1]
    assert np.array_equal(fr(view, a, b)[0], fr(view.copy(), a, b)[0])


def test_a_released_result_is_written_again_and_a_held_one_never() -> None:
    rng = np.random.default_rng(4)
    fr = FullResolutionPass(1)
    rgb = rng.random((48, 64, 3), np.float32)
    a, b = rng.random((2, 4, 12, 16), dtype=np.float32)
    fgr, pha = fr(rgb, a, b)
    address = fgr.__array_interface__["data"][0]
    del fgr, pha
    again = fr(rgb, a, b)
    assert again[0].__array_interface__["data"][0] == address  # no fresh plate-sized pages
    view = again[1][10:20]  # a view holds its base: the pair stays the caller's
    held = view.copy()
    del again
    others = [fr(rgb, a * 0, b * 0) for _ in range(4)]
    assert np.array_equal(view, held)
    assert all(not np.shares_memory(view, o[1]) for o in others)
    assert all((o[1] == 0).all() and np.array_equal(o[0], rgb) for o in others)


def test_a_nan_in_the_plate_stays_a_nan() -> None:
    rgb = np.full((16, 16, 3), 0.5, np.float32)
    rgb[3, 5, 1] = np.nan
    fgr, pha = FullResolutionPass()(rgb, np.full((4, 4, 4), 0.2, np.float32),
                                    np.full((4, 4, 4), 0.1, np.float32))
    assert np.isnan(fgr[3, 5, 1]) and np.isnan(pha[3, 5])
    assert np.isnan(fgr).sum() == 1 and np.isnan(pha).sum() == 1


def test_the_extension_checks_every_buffer_and_tap() -> None:
    from memmatte.engine import _full_res
    from memmatte.engine.resample import taps_to_size

    def call(rgb_rows: int = 8, bad_tap: bool = False, frozen: bool = False) -> None:
        x0, x1, wx = taps_to_size(4, 8)
        y0, y1, wy = taps_to_size(4, 8)
        if bad_tap:
            x1 = x1.copy()
            x1[7] = 4  # one past the last network column
        fgr = np.zeros((8, 8, 3), np.float32)
        fgr.setflags(write=not frozen)
        _full_res.apply(np.zeros((rgb_rows, 8, 3), np.float32), fgr,
                        np.zeros((8, 8), np.float32), np.zeros((4, 4, 4), np.float32),
                        np.zeros((4, 4, 4), np.float32), x0.astype(np.int32),
                        x1.astype(np.int32), wx, y0.astype(np.int32), y1.astype(np.int32), wy,
                        8, 8, 4, 4, 0, 8)

    call()
    with pytest.raises(ValueError, match="the plate holds 576 bytes, expected 768"):
        call(rgb_rows=6)
    with pytest.raises(ValueError, match=r"column tap 7 is \(3, 4\) for a size of 4"):
        call(bad_tap=True)
    with pytest.raises(TypeError, match="argument 2 must be read-write"):
        call(frozen=True)


def test_pass_refuses_coefficients_of_the_wrong_shape() -> None:
    with pytest.raises(ValueError, match=r"expected A and b of shape \(4, h, w\)"):
        FullResolutionPass()(np.zeros((8, 8, 3), np.float32), np.zeros((3, 2, 2), np.float32),
                             np.zeros((3, 2, 2), np.float32))


@pytest.mark.parametrize("size", [(288, 512), (1080, 1920), (67, 33), (1001, 777)])
@pytest.mark.parametrize("ratio", [0.5, 0.37, 0.25, 0.125, 0.9])
def test_downsample_matches_torch(size, ratio: float) -> None:
    rgb = np.random.default_rng(1).random((*size, 3), np.float32)
    got = downsample(rgb, ratio)
    src = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None]
    want = torch_downsample(src, ratio)[0].permute(1, 2, 0).numpy()
    assert got.shape == want.shape and got.dtype == np.float32
    # Sampling positions are float32 on both sides, rounded in a different order: at a
    # position near 1000 one float32 step is 6e-5 of a pixel.
    assert np.abs(got - want).max() <= 5e-5


def test_downsample_errors() -> None:
    rgb = np.zeros((4, 4, 3), np.float32)
    assert downsample(rgb, 1.0) is rgb
    with pytest.raises(ValueError, match=r"must be in \(0, 1\]"):
        downsample(rgb, 1.5)
    with pytest.raises(ValueError, match="leaves no pixel of a 4x4 frame"):
        downsample(rgb, 0.1)


@pytest.mark.parametrize("ratio", [1.0, 0.5, 0.3])
def test_engine_matches_the_network_definition(ratio: float) -> None:
    """The engine's numpy path (downsample, coefficients, pass) gives what the network's own
    forward gives for a shot's first frame."""
    model, _ = load_weights()
    rgb = np.random.default_rng(2).random((120, 200, 3), np.float32)
    got = Engine(TorchBackend(model, "cpu"), downsample_ratio=ratio, first_frame=0).matte(
        0, lambda n: rgb)
    with torch.inference_mode():
        src = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None, None]
        entry = model.encode(torch_downsample(src[0], ratio)).memory
        prior = stack_entries([entry, entry])  # a shot's first frame: its window is itself
        want = model(src, downsample_ratio=ratio, memory=prior)
    assert np.abs(got.pha - want.pha[0, 0, 0].numpy()).max() <= 1e-4
    assert np.abs(got.fgr - want.fgr[0, 0].permute(1, 2, 0).numpy()).max() <= 1e-4


def test_an_export_of_the_first_format_is_refused_by_name(tmp_path: Path) -> None:
    import onnx

    from memmatte.engine.onnx_backend import default_onnx_path

    graph = onnx.load(str(default_onnx_path()))
    for entry in graph.metadata_props:
        if entry.key == "format_version":
            entry.value = "1"
    old = tmp_path / "old.onnx"
    onnx.save(graph, str(old))
    with pytest.raises(OnnxModelError, match=r"old\.onnx: a memmatte ONNX export of format "
                                             r"version '1'.*export it again"):
        OnnxBackend(old, "cpu")


def test_an_unbuilt_extension_says_how_to_build_it() -> None:
    import subprocess
    import sys

    code = ("import sys; sys.modules['memmatte.engine._full_res'] = None\n"
            "import memmatte.engine.full_resolution")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode != 0
    assert "memmatte.engine._full_res is not built: install memmatte with pip" in done.stderr
