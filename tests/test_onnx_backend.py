"""The ONNX Runtime backend: export, parity with torch, the shipped graph, a torch-free venv."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest
import torch

from memmatte.engine import Engine
from memmatte.engine.factory import BackendError, make_backend
from memmatte.engine.onnx_backend import OnnxBackend, OnnxModelError, default_onnx_path
from memmatte.engine.torch_backend import TorchBackend
from memmatte.commands.export_onnx import export_onnx
from memmatte.pipeline import RenderSettings, render
from memmatte.weights import load_weights, read_info

from .plates import DEMO_PLATE, demo_frame
from .windowed import windowed_copy

PLATE = str(DEMO_PLATE / "bedroom.####.exr")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, torch.nn.Module]:
    """A network whose memory read-out is non-zero (so attention matters), and its export."""
    model, info = load_weights()
    torch.manual_seed(0)
    with torch.no_grad():
        model.memory.readout.weight.normal_(0, 0.2)
    path = export_onnx(model, info, tmp_path_factory.mktemp("onnx") / "perturbed.onnx")
    return path, model


@pytest.fixture(scope="module")
def exported_window(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, torch.nn.Module]:
    """A network with a decoder window (GRU state weights set) and attention, and its export."""
    base, info = load_weights()
    model = windowed_copy(base)
    torch.manual_seed(0)
    with torch.no_grad():
        model.memory.readout.weight.normal_(0, 0.2)
    path = export_onnx(model, info, tmp_path_factory.mktemp("onnx") / "window.onnx")
    return path, model


def network_frames(n: int) -> dict[int, np.ndarray]:
    """Real frames (the demo plate, roughly display-encoded) for both backends."""
    return {f: np.clip(demo_frame(1001 + f) ** (1 / 2.2), 0, 1).astype(np.float32)
            for f in range(n)}


@pytest.mark.parametrize("graph", ["exported", "exported_window"])
@pytest.mark.parametrize("ratio", [0.5, 1.0, 0.37])
def test_onnx_matches_torch_through_the_window(graph: str, ratio: float,
                                               request: pytest.FixtureRequest) -> None:
    path, model = request.getfixturevalue(graph)
    frames = network_frames(4)
    results = {}
    for name, backend in (("torch", TorchBackend(model, "cpu")),
                          ("onnx", OnnxBackend(path, "cpu"))):
        engine = Engine(backend, downsample_ratio=ratio, first_frame=0)
        results[name] = [engine.matte(f, frames.__getitem__) for f in range(4)]
    for t, o in zip(results["torch"], results["onnx"]):
        assert t.window == o.window
        assert np.abs(t.pha - o.pha).max() <= 1e-4
        assert np.abs(t.fgr - o.fgr).max() <= 1e-4
    # The memory is really used: frame 3 differs from a cold single frame.
    cold = Engine(OnnxBackend(path, "cpu"), downsample_ratio=ratio, first_frame=3)
    assert np.abs(cold.matte(3, frames.__getitem__).pha - results["onnx"][3].pha).max() > 1e-3


def test_memory_none_export(tmp_path: Path) -> None:
    model, info = load_weights(memory="none")
    path = export_onnx(model, info, tmp_path / "none.onnx")
    backend = OnnxBackend(path, "cpu")
    assert backend.window == 0
    frames = network_frames(1)
    got = Engine(backend, first_frame=0).matte(0, frames.__getitem__)
    want = Engine(TorchBackend(model, "cpu"), first_frame=0).matte(0, frames.__getitem__)
    assert got.window == () and np.abs(got.pha - want.pha).max() <= 1e-4


def test_shipped_graph_carries_the_default_weights() -> None:
    backend = OnnxBackend(device="cpu")
    assert backend.path == default_onnx_path()
    assert backend.weights_id == read_info(load_weights()[1].path).weights_id
    assert backend.window == 2


def test_render_with_either_backend_gives_the_same_pixels(tmp_path: Path) -> None:
    outs = {}
    for backend in ("torch", "onnx"):
        render(RenderSettings(input=PLATE, output=str(tmp_path / backend / "m.####.exr"),
                              frames="1001-1003", ocio="ocio://default", device="cpu",
                              half=False, backend=backend))
        outs[backend] = [oiio.ImageBuf(str(tmp_path / backend / f"m.{f}.exr")).get_pixels(
            oiio.FLOAT) for f in (1001, 1002, 1003)]
    for a, b in zip(outs["torch"], outs["onnx"]):
        assert np.abs(a - b).max() <= 1e-4


def test_backend_errors(tmp_path: Path) -> None:
    with pytest.raises(OnnxModelError, match=r"runs an exported \.onnx file"):
        OnnxBackend(load_weights()[1].path)
    with pytest.raises(OnnxModelError, match="nope.onnx: ONNX model not found"):
        OnnxBackend(tmp_path / "nope.onnx")
    rvm = os.environ.get("MEMMATTE_RVM_ONNX")
    if rvm:  # a real ONNX graph that is not ours
        with pytest.raises(OnnxModelError, match="not a memmatte ONNX export"):
            OnnxBackend(rvm, "cpu")
    with pytest.raises(BackendError, match="--memory cannot change an exported ONNX graph"):
        make_backend("onnx", memory="none")
    with pytest.raises(BackendError, match="valid: torch, onnx"):
        make_backend("tensorrt")


def onnx_python() -> str:
    python = os.environ.get("MEMMATTE_ONNX_PYTHON")
    if not python or not Path(python).is_file():
        pytest.fail("MEMMATTE_ONNX_PYTHON must name the torch-free venv's python: run "
                    "'make test' (it builds .venv-onnx)")
    return python


def test_torch_free_venv_renders_like_torch(tmp_path: Path) -> None:
    python = onnx_python()
    probe = subprocess.run([python, "-c", "import torch"], capture_output=True, text=True)
    assert probe.returncode != 0 and "No module named 'torch'" in probe.stderr
    done = subprocess.run([python, "-m", "memmatte", "render", PLATE, "-o",
                           str(tmp_path / "onnx" / "m.####.exr"), "--frames", "1001-1003",
                           "--backend", "onnx", "--float", "--ocio", "ocio://default",
                           "--device", "cpu", "--quiet"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    render(RenderSettings(input=PLATE, output=str(tmp_path / "torch" / "m.####.exr"),
                          frames="1001-1003", ocio="ocio://default", device="cpu", half=False))
    for f in (1001, 1002, 1003):
        a = oiio.ImageBuf(str(tmp_path / "onnx" / f"m.{f}.exr")).get_pixels(oiio.FLOAT)
        b = oiio.ImageBuf(str(tmp_path / "torch" / f"m.{f}.exr")).get_pixels(oiio.FLOAT)
        assert np.abs(a - b).max() <= 1e-4


def test_torch_free_venv_runs_the_render_queue(tmp_path: Path) -> None:
    python = onnx_python()
    (tmp_path / "shots.toml").write_text(f'''
[defaults]
backend = "onnx"
device = "cpu"
ocio = "ocio://default"

[[shot]]
name = "missing"
input = "nowhere/plate.####.exr"
output = "out/missing.####.exr"

[[shot]]
name = "bedroom"
input = "{PLATE}"
output = "out/bedroom.####.exr"
frames = "1001-1002"
''')
    env = {**os.environ, "PATH": f"{Path(python).parent}:{os.environ['PATH']}"}
    done = subprocess.run([python, "-m", "memmatte", "queue", str(tmp_path / "shots.toml"),
                           "--quiet"], capture_output=True, text=True, env=env)
    assert done.returncode == 1, done.stderr
    assert "2 shots, 1 failed" in done.stdout and "ok     bedroom" in done.stdout
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "bedroom.1001.exr", "bedroom.1002.exr"]
