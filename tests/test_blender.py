"""The Memory Matte Blender extension with the real bpy from PyPI (5.0.1 and 4.5 LTS, each in
its own venv that ``make bpy`` builds): the zip Blender's own tool builds and validates
installs and enables, its node computes a real clip through the torch-free worker, cancels,
and a headless animation render (frames partly computed on demand) writes EXRs whose alpha
and foreground match ``memmatte render`` on the same frames."""
from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import OpenImageIO as oiio
import PyOpenColorIO as ocio
import pytest

from .plates import DEMO_PLATE

REPO = Path(__file__).resolve().parents[1]
PLUGIN = REPO / "plugin" / "blender" / "memory_matte"
BUILD = REPO / "installers" / "blender" / "build_extension.py"
SETUP = REPO / "installers" / "blender" / "setup_runtime.py"
DRIVER = Path(__file__).with_name("blender_driver.py")
PICTURE = REPO / "docs" / "blender_memory_matte.png"
VERSIONS = {"5.0.1": "5.0", "4.5.15": "4.5"}  # bpy from PyPI -> its data folder
FRAMES = (1001, 1002, 1003, 1004)
RATIO = 0.5
TOLERANCE = 1e-3


def bpy_python(version: str) -> Path:
    python = REPO / f".venv-bpy-{version}" / "bin" / "python"
    if not python.is_file():
        pytest.fail(f"bpy {version} is not installed: run 'make bpy' (make test does)")
    return python


def blender_ext(version: str) -> Path:
    bpy_python(version)
    found = sorted((REPO / f".venv-bpy-{version}").glob(
        f"lib/python*/site-packages/bpy/{VERSIONS[version]}/scripts/addons_core/bl_pkg/cli/"
        "blender_ext.py"))
    assert found, f"blender_ext.py not found in bpy {version}"
    return found[0]


def ocio_config(version: str) -> Path:
    found = sorted((REPO / f".venv-bpy-{version}").glob(
        f"lib/python*/site-packages/bpy/{VERSIONS[version]}/datafiles/colormanagement/"
        "config.ocio"))
    assert found, f"Blender's OCIO config not found in bpy {version}"
    return found[0]


@pytest.fixture(scope="module")
def extension_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, str(BUILD), "-o", str(out), "--blender-ext",
                           str(blender_ext("5.0.1"))], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr + done.stdout
    path = Path(done.stdout.strip().splitlines()[-1])
    assert path.is_file() and path.name == "memory_matte-0.1.0.zip"
    return path


@pytest.fixture(scope="module")
def plate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four frames of the bundled ACEScg plate, in a folder of this module's own."""
    folder = tmp_path_factory.mktemp("plate")
    for frame in FRAMES:
        shutil.copy2(DEMO_PLATE / f"bedroom.{frame}.exr", folder / f"bedroom.{frame}.exr")
    return folder


@pytest.fixture(scope="module")
def installed_runtime(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A runtime made the way the README says (ONNX Runtime, no torch): (python, output)."""
    venv = tmp_path_factory.mktemp("runtime") / "venv"
    done = subprocess.run([sys.executable, str(SETUP), str(venv)], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return str(venv / "bin" / "python"), done.stdout


def read(path: Path) -> np.ndarray:
    buf = oiio.ImageBuf(str(path))
    names = list(buf.spec().channelnames)
    pixels = buf.get_pixels(oiio.FLOAT)
    return np.stack([pixels[..., names.index(c)] for c in "RGBA"], axis=-1)


def memmatte_render(python: str, plate: Path, out: Path, config: Path) -> None:
    cmd = [python, "-m", "memmatte", "render", str(plate / "bedroom.####.exr"), "-o",
           str(out / "m.####.exr"), "--ocio", str(config), "--colorspace", "ACEScg",
           "--backend", "onnx", "--device", "cpu", "--downsample-ratio", str(RATIO)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


# -- without Blender -------------------------------------------------------------------------
def test_the_extension_imports_only_bpy_the_standard_library_and_itself() -> None:
    allowed = set(sys.stdlib_module_names) | {"bpy"}
    for path in PLUGIN.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in allowed, f"{path.name} imports {name}"


def test_the_zip_carries_the_vendored_protocol_and_passes_blenders_validator(
        extension_zip: Path, tmp_path: Path) -> None:
    names = zipfile.ZipFile(extension_zip).namelist()
    assert "blender_manifest.toml" in names and "__init__.py" in names
    for module in ("protocol/__init__.py", "protocol/client.py", "protocol/settings.py",
                   "atomic.py", "__init__.py"):
        assert f"vendor/memmatte/{module}" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert not [n for n in names if n.startswith("vendor/memmatte/") and not n.startswith(
        ("vendor/memmatte/protocol/", "vendor/memmatte/atomic.py",
         "vendor/memmatte/__init__.py"))]
    tool = blender_ext("5.0.1")
    ok = subprocess.run([sys.executable, str(tool), "validate", str(extension_zip)],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # The validator is not a rubber stamp: a manifest without its licence is refused.
    bad = tmp_path / "memory_matte"
    shutil.copytree(PLUGIN, bad, ignore=shutil.ignore_patterns("__pycache__"))
    manifest = bad / "blender_manifest.toml"
    manifest.write_text("\n".join(line for line in manifest.read_text().splitlines()
                                  if not line.startswith("license")))
    refused = subprocess.run([sys.executable, str(tool), "validate", str(bad)],
                             capture_output=True, text=True)
    assert refused.returncode != 0 and "license" in (refused.stdout + refused.stderr)


def test_setup_runtime_makes_a_torch_free_runtime_and_says_what_a_python_lacks(
        installed_runtime: tuple[str, str]) -> None:
    python, said = installed_runtime
    assert f"Runtime Python for the Memory Matte preferences:\n  {python}" in said
    assert "onnx 1." in said and "torch: not available" in said
    caps = subprocess.run([python, "-m", "memmatte.worker", "--capabilities"],
                          capture_output=True, text=True, timeout=300)
    assert '"onnx":{"available":true' in caps.stdout.replace(" ", "")
    no_torch = subprocess.run([python, "-c", "import torch"], capture_output=True)
    assert no_torch.returncode != 0
    # A Python without memmatte (Blender's own, say) is refused with the fix.
    plain = subprocess.run([sys.executable, str(SETUP), "--check",
                            str(bpy_python("4.5.15"))], capture_output=True, text=True,
                           timeout=300)
    assert plain.returncode != 0 and "is not a memmatte runtime" in plain.stderr
    assert "setup_runtime.py VENV" in plain.stderr


# -- in Blender ------------------------------------------------------------------------------
@pytest.mark.parametrize("version", list(VERSIONS))
def test_the_node_computes_cancels_and_renders_like_memmatte_render(
        version: str, extension_zip: Path, plate: Path, onnx_python: str, demo_pattern: str,
        installed_runtime: tuple[str, str], tmp_path: Path) -> None:
    # 5.0 runs on the runtime setup_runtime.py made, 4.5 on make's .venv-onnx.
    runtime = installed_runtime[0] if version == "5.0.1" else onnx_python
    out = tmp_path / "render"
    out.mkdir()
    picture = tmp_path / "picture.png"
    cfg = {"zip": str(extension_zip), "python": runtime,
           "plate_first": str(plate / f"bedroom.{FRAMES[0]}.exr"), "colorspace": "ACEScg",
           "ratio": RATIO, "work": str(tmp_path), "out": str(out), "frames": len(FRAMES),
           "long_plate": demo_pattern, "last_plate_name": f"bedroom.{FRAMES[-1]}.exr",
           "report": str(tmp_path / "report.json"),
           "picture": str(picture) if version == "5.0.1" else ""}
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "OCIO")}
    env["BLENDER_USER_RESOURCES"] = str(tmp_path / "blender")
    t0 = time.monotonic()
    done = subprocess.run([str(bpy_python(version)), str(DRIVER), "--", str(tmp_path /
                          "cfg.json")], capture_output=True, text=True, timeout=600, env=env,
                          cwd=tmp_path)
    seconds = time.monotonic() - t0
    assert done.returncode == 0, done.stderr[-3000:]
    report: dict[str, Any] = json.loads((tmp_path / "report.json").read_text())
    assert "error" not in report, report["error"] + done.stdout[-3000:]
    assert tuple(report["version"][:2]) == tuple(map(int, VERSIONS[version].split(".")))

    # Installed from the zip, enabled, nothing heavy imported into Blender.
    assert report["install"] == ["FINISHED"] and report["enabled"]
    assert report["heavy_modules"] == []
    assert "bl_ext.user_default.memory_matte.vendor.memmatte.protocol.client" in \
        report["extension_modules"]
    # The preferences say what is missing, then what the runtime offers.
    assert "no runtime Python is set" in report["check_without_python"]
    assert report["report_without_python"]["ok"] is False
    caps = report["capabilities"]
    assert caps["ok"] and caps["backends"]["onnx"]["available"]
    assert not caps["backends"]["torch"]["available"]  # the light, torch-free runtime
    assert "pip install" in caps["backends"]["torch"]["reason"]

    # The node: a custom group with Foreground and Alpha, reading its own results folder.
    node = report["node"]
    assert node["type"] == "CompositorNodeMemoryMatte" and node["problem"] == ""
    assert node["outputs"] == ["Foreground", "Alpha"]
    assert "choose a source" in report["problem_without_source"]
    folder = Path(report["folder"])
    assert folder.parent.parent == Path(report["user_folder"])  # survives upgrades
    assert report["settings"]["ocio"] == str(ocio_config(version))
    assert report["reads"] == str(folder / "matte.1001.exr")
    assert report["other_folder"] != report["folder"]
    assert report["other_reads"] == str(Path(report["other_folder"]) / "matte.1001.exr")
    assert report["reader"] == {"frame_start": 1, "frame_offset": 1000, "frame_duration": 4,
                                "use_auto_refresh": True}

    # The node's buttons and the preferences draw only knobs and operators that exist.
    drawn = report["drawn"]
    for call in ("template_ID:image", "template_ID:clip", "prop:name", "prop:backend",
                 "prop:downsample_ratio", "prop:weights", "operator:memmatte.compute",
                 "prop:python", "operator:memmatte.check_runtime"):
        assert call in drawn, (call, drawn)
    assert any(c.startswith("label:memmatte 0.1.0 on Python") for c in drawn)

    assert report["menu"] == "NODE_MT_category_compositor_keying" and report["in_menu"]
    assert report["clip"] == {"source": "SEQUENCE", "problem": "",
                              "input": str(plate / "bedroom.####.exr")}

    # Computed through the worker; a second compute reuses every frame.
    assert report["compute"] == ["FINISHED"] and report["progress"] == 1.0
    assert report["computed"] == [f"matte.{f}.exr" for f in FRAMES]
    assert report["status"] == "done: 4 computed, 0 reused"
    assert report["recompute_status"] == "done: 0 computed, 4 reused"
    cancel = report["cancel"]
    assert cancel["state"] == "cancelled" and 1 <= len(cancel["written"]) < cancel["total"]
    assert all((tmp_path / "cancel" / f"m.{f}.exr").is_file() for f in cancel["written"])

    # The render computed the missing and the stale frame on demand, reused the others.
    assert report["after_render"] == report["computed"]
    assert report["rewritten"] == ["matte.1003.exr", "matte.1004.exr"]
    assert report["rendered"] == [f"render_{i:04d}.exr" for i in range(1, 5)]

    # Pixels: the same as memmatte render, brought to Blender's scene-linear space.
    ref = tmp_path / "reference"
    memmatte_render(onnx_python, plate, ref, ocio_config(version))
    config = ocio.Config.CreateFromFile(str(ocio_config(version)))
    to_linear = config.getProcessor("ACEScg", "scene_linear").getDefaultCPUProcessor()
    worst_alpha = worst_fg = 0.0
    for i, frame in enumerate(FRAMES, start=1):
        expected = read(ref / f"m.{frame}.exr")
        np.testing.assert_array_equal(read(folder / f"matte.{frame}.exr"), expected)
        rgb = np.ascontiguousarray(expected[..., :3])
        to_linear.applyRGB(rgb)
        got = read(out / f"render_{i:04d}.exr")
        worst_alpha = max(worst_alpha, float(np.abs(got[..., 3] - expected[..., 3]).max()))
        worst_fg = max(worst_fg, float(np.abs(got[..., :3] - rgb).max()))
        assert 0.05 < expected[..., 3].mean() < 0.95  # a real matte, not all or nothing
    print(f"bpy {version}: {seconds:.1f} s, compute {report['compute_s']} s, render "
          f"{report['render_s']} s; max abs difference alpha {worst_alpha:.2e}, "
          f"foreground {worst_fg:.2e}")
    assert worst_alpha <= TOLERANCE and worst_fg <= TOLERANCE

    if cfg["picture"]:
        assert report["picture"] == str(picture)
        shot = oiio.ImageBuf(str(picture)).get_pixels(oiio.FLOAT)
        assert shot.shape[:2] == (270, 480)
        corner = shot[:32, :32, 0]  # the checkerboard shows where alpha is 0
        assert corner.max() - corner.min() > 0.2
        PICTURE.parent.mkdir(exist_ok=True)
        shutil.copyfile(picture, PICTURE)
