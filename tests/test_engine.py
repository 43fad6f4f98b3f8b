"""The engine: finite window across sequential, chunked and random access; cuts; devices."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from memmatte.engine import DeviceError, Engine, is_cut, pick_device, thumbnail
from memmatte.engine.torch_backend import TorchBackend
from memmatte.model import MemMatte
from memmatte.weights import load_weights


@pytest.fixture(scope="module")
def model() -> MemMatte:
    m, _ = load_weights()
    torch.manual_seed(0)
    with torch.no_grad():
        m.memory.readout.weight.normal_(0, 0.2)  # strong: memory changes outputs clearly
    return m


def frames(n: int, first: int = 1, h: int = 72, w: int = 128) -> dict[int, np.ndarray]:
    rng = np.random.default_rng(5)
    base = rng.uniform(0, 1, (h, w, 3)).astype(np.float32)
    return {first + i: np.clip(base + 0.05 * i, 0, 1).astype(np.float32) for i in range(n)}


class CountingLoader:
    def __init__(self, data: dict[int, np.ndarray]) -> None:
        self.data, self.calls = data, []

    def __call__(self, frame: int) -> np.ndarray:
        self.calls.append(frame)
        return self.data[frame]


def test_sequential_matches_the_models_time_series(model: MemMatte) -> None:
    data = frames(5)
    engine = Engine(TorchBackend(model, "cpu"), first_frame=1, downsample_ratio=0.5)
    got = np.stack([engine.matte(f, data.__getitem__).pha for f in range(1, 6)])
    clip = torch.from_numpy(np.stack([data[f].transpose(2, 0, 1) for f in range(1, 6)]))[None]
    with torch.inference_mode():
        want = model(clip, 0.5).pha[0, :, 0].numpy()
    assert np.abs(got - want).max() <= 5e-5


@pytest.fixture(params=[1, 2], ids=["1-thread", "2-threads"])
def threads(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Both CPU layouts of the torch backend: contiguous (1 thread), channels-last (more)."""
    before = torch.get_num_threads()
    torch.set_num_threads(request.param)
    yield request.param
    torch.set_num_threads(before)


def test_chunks_and_random_access_give_identical_pixels(model: MemMatte, threads: int) -> None:
    data = frames(12)
    whole = Engine(TorchBackend(model, "cpu"), first_frame=1)
    full = {f: whole.matte(f, data.__getitem__) for f in range(1, 13)}
    chunk = Engine(TorchBackend(model, "cpu"), first_frame=1)  # a farm node given frames 7-12
    for f in range(7, 13):
        r = chunk.matte(f, data.__getitem__)
        assert np.array_equal(r.pha, full[f].pha) and np.array_equal(r.fgr, full[f].fgr)
    lone = Engine(TorchBackend(model, "cpu"), first_frame=1).matte(9, data.__getitem__)
    assert np.array_equal(lone.pha, full[9].pha)
    assert lone.window == (8, 7)


def test_layouts_agree(model: MemMatte) -> None:
    data = frames(4)
    backend = TorchBackend(model, "cpu")
    before = torch.get_num_threads()
    try:
        got = {}
        for n in (1, 2):
            torch.set_num_threads(n)  # the backend follows torch's threads by itself
            engine = Engine(backend, first_frame=1, downsample_ratio=0.5)
            got[n] = [engine.matte(f, data.__getitem__) for f in range(1, 5)]
            layout = backend.model.decoder.decode0.conv[0][0].weight
            assert layout.is_contiguous(memory_format=torch.channels_last) == (n == 2)
    finally:
        torch.set_num_threads(before)
    for one, two in zip(got[1], got[2]):
        assert np.abs(one.pha - two.pha).max() <= 1e-5
        assert np.abs(one.fgr - two.fgr).max() <= 1e-5


def test_playback_encodes_each_frame_once(model: MemMatte) -> None:
    loader = CountingLoader(frames(6))
    engine = Engine(TorchBackend(model, "cpu"), first_frame=1)
    for f in range(1, 7):
        engine.matte(f, loader)
    assert loader.calls == [1, 2, 3, 4, 5, 6]
    # A chunk starting at 4 loads its two frames of pre-roll once each.
    loader = CountingLoader(frames(6))
    engine = Engine(TorchBackend(model, "cpu"), first_frame=1)
    for f in range(4, 7):
        engine.matte(f, loader)
    assert sorted(loader.calls) == [2, 3, 4, 5, 6]


def test_window_at_the_shot_start(model: MemMatte) -> None:
    data = frames(3, first=1001)
    engine = Engine(TorchBackend(model, "cpu"), first_frame=1001)
    assert [engine.matte(f, data.__getitem__).window for f in (1001, 1002, 1003)] == [
        (1001, 1001), (1001, 1001), (1002, 1001)]


def test_memory_none_reads_no_other_frame() -> None:
    m, _ = load_weights(memory="none")
    loader = CountingLoader(frames(3))
    result = Engine(TorchBackend(m, "cpu"), first_frame=1).matte(3, loader)
    assert result.window == () and loader.calls == [3]


def test_cut_restarts_the_window(model: MemMatte) -> None:
    data = frames(6)
    rng = np.random.default_rng(9)
    other = rng.uniform(0, 1, (72, 128, 3)).astype(np.float32) ** 3  # a different shot
    for f in (4, 5, 6):
        data[f] = np.clip(other + 0.02 * f, 0, 1).astype(np.float32)
    engine = Engine(TorchBackend(model, "cpu"), first_frame=1, detect_cuts=True)
    windows = {f: engine.matte(f, data.__getitem__).window for f in range(1, 7)}
    assert windows == {1: (1, 1), 2: (1, 1), 3: (2, 1), 4: (4, 4), 5: (4, 4), 6: (5, 4)}
    # The cut frame is matted as a shot start: same pixels as a fresh engine starting there.
    fresh = Engine(TorchBackend(model, "cpu"), first_frame=4).matte(5, data.__getitem__)
    again = Engine(TorchBackend(model, "cpu"), first_frame=1, detect_cuts=True).matte(5, data.__getitem__)
    assert np.array_equal(fresh.pha, again.pha)


def test_cut_detector_ignores_motion_and_catches_cuts() -> None:
    rng = np.random.default_rng(1)
    a = rng.uniform(0, 1, (90, 160, 3)).astype(np.float32)
    smooth = np.cumsum(np.cumsum(a, 0), 1)
    smooth = (smooth / smooth.max()).astype(np.float32)
    shifted = np.roll(smooth, 3, axis=1)
    assert not is_cut(thumbnail(smooth), thumbnail(shifted))
    assert is_cut(thumbnail(smooth), thumbnail(1.0 - smooth))
    assert thumbnail(a).shape == (18, 32)


def test_frame_size_change_is_refused(model: MemMatte) -> None:
    engine = Engine(TorchBackend(model, "cpu"), first_frame=1)
    engine.matte(1, frames(1).__getitem__)
    with pytest.raises(ValueError, match="frame 2: size 64x48 differs from the shot's 128x72"):
        engine.matte(2, {2: np.zeros((48, 64, 3), np.float32), 1: frames(1)[1]}.__getitem__)


def test_devices() -> None:
    assert pick_device("cpu").type == "cpu"
    assert pick_device("auto").type in ("cpu", "cuda", "mps")
    with pytest.raises(DeviceError, match="unknown device 'tpu'; valid: auto, cpu"):
        pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="CUDA is not available"):
            pick_device("cuda")
