"""The Nuke adapter driven through a fake ``nuke`` module (tests/fake_nuke) with a real warm
worker: Process on a plain Read and on a rendered input, the EXRs equal ``memmatte render``'s,
reuse by cache key only, cancel from the ProgressTask, errors naming the knob, the menus, the
Cattery helper, torch-free imports, and mypy --strict against the types-nuke stubs."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
FAKE = ROOT / "tests" / "fake_nuke"
PLUGIN = ROOT / "plugin" / "nuke"
for _p in (str(FAKE), str(PLUGIN)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import nuke  # noqa: E402  (the fake)
from nuke import fake, render  # noqa: E402

from memmatte_nuke import jobs  # noqa: E402
from memmatte_nuke import node as mm  # noqa: E402

from .plates import read_exr  # noqa: E402

SMALL = ["--device", "cpu", "--ocio", "ocio://default", "--downsample-ratio", "0.25"]
FRAMES = "1001-1004"


@pytest.fixture(scope="module", autouse=True)
def warm_service() -> Iterator[None]:
    """One warm worker for the module's tests, as a Nuke session keeps one."""
    yield
    jobs.SERVICE.stop()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, demo_pattern: str) -> Path:
    """``memmatte render`` of the demo plate, frames 1001-1004: what the node must match."""
    out = tmp_path_factory.mktemp("reference")
    done = subprocess.run([sys.executable, "-m", "memmatte.cli", "render", demo_pattern, "-o",
                           str(out / "m.####.exr"), "--frames", FRAMES, "--colorspace",
                           "ACEScg", *SMALL], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(autouse=True)
def no_jobs_left() -> Iterator[None]:
    """Each test starts with a new script: no jobs of an earlier one's nodes."""
    jobs.JOBS.clear()
    mm.PENDING.clear()
    yield
    for job in jobs.JOBS.values():
        job.cancel()
        job.wait(60)


def script(working: str = "ACEScg") -> Any:
    return fake.new_script("ocio://default", working=working, first=1001, last=1010)


def matte_node(upstream: Any, cache: Path, frames: str = FRAMES) -> Any:
    fake.selected[:] = [upstream]
    node = mm.create()
    node["device"].setValue("cpu")
    node["downsample_ratio"].setValue(0.25)
    node["frame_range"].setValue(frames)
    node["cache_folder"].setValue(str(cache))
    node["python"].setValue(sys.executable)
    return node


def press_process(node: Any) -> jobs.Job:
    before = jobs.JOBS.get(node.fullName())
    node["process"].execute()  # the button, as Nuke runs it (thisNode set)
    job = jobs.JOBS.get(node.fullName())
    assert job is not None and job is not before, node["status"].value()
    return job


def finish(job: jobs.Job, timeout: float = 300) -> jobs.Progress:
    fake.pump(until=lambda: job.progress.finished and not job._thread.is_alive(),
              timeout=timeout)
    fake.pump(until=lambda: fake.main_queue.empty(), timeout=5)
    assert not fake.violations, f"nuke touched off the main thread: {fake.violations}"
    return job.progress


def result_files(node: Any) -> dict[int, Path]:
    read = node.node(mm.RESULT)
    pattern = str(read["file"].value())
    first, last = int(read["first"].value()), int(read["last"].value())
    return {f: Path(render.frame_file(pattern, f)) for f in range(first, last + 1)}


def assert_matches_reference(files: dict[int, Path], reference: Path) -> None:
    assert sorted(files) == [1001, 1002, 1003, 1004]
    for frame, path in files.items():
        got, spec = read_exr(path)
        want, want_spec = read_exr(reference / f"m.{frame}.exr")
        assert list(spec.channelnames) == list(want_spec.channelnames)
        assert (spec.x, spec.y, spec.width, spec.height) == (
            want_spec.x, want_spec.y, want_spec.width, want_spec.height)
        assert (spec.full_width, spec.full_height) == (want_spec.full_width,
                                                       want_spec.full_height)
        diff = np.abs(got.astype(np.float32) - want.astype(np.float32)).max()
        assert diff == 0.0, f"frame {frame}: max abs diff {diff}"


def test_process_on_a_read_matches_memmatte_render_and_comes_back_in_the_working_space(
        tmp_path: Path, plate_copy: str, reference: Path) -> None:
    script(working="Linear Rec.709 (sRGB)")
    read = nuke.nodes.Read(file=plate_copy, first=1001, last=1006, colorspace="ACEScg")
    node = matte_node(read, tmp_path / "cache")
    job = press_process(node)
    progress = finish(job)
    assert progress.state == "done", progress.message
    assert progress.written == (1001, 1002, 1003, 1004) and not progress.skipped
    assert not fake.executed  # the Read's own files were used: nothing rendered
    assert_matches_reference(result_files(node), reference)
    # The internal Read converts the plate-space foreground to the working space.
    inner = node.node(mm.RESULT)
    assert fake.reloads[-1] == node.fullName() + "." + mm.RESULT
    assert not inner["raw"].value() and inner["colorspace"].value() == "ACEScg"
    assert inner["premultiplied"].value()
    out = render.evaluate(node, 1002)
    raw, spec = read_exr(result_files(node)[1002])
    assert np.array_equal(out.rgba[..., 3], raw[..., 3].astype(np.float32))  # alpha untouched
    assert (out.x, out.y) == (spec.x, spec.y)
    # The ProgressTask followed the frames; the status line says how it ended.
    task = fake.tasks[-1]
    assert task.progress and task.progress[-1] == 100 and task.progress == sorted(task.progress)
    assert node["status"].value().startswith("done: 4 computed, 0 reused")
    # Process again: every frame is reused by its cache key.
    again = finish(press_process(node))
    assert again.state == "done" and again.written == () and again.skipped == (
        1001, 1002, 1003, 1004)
    # A knob that changes the pixels changes the keys: recomputed.
    node["downsample_ratio"].setValue(0.3)
    changed = finish(press_process(node))
    assert changed.written == (1001, 1002, 1003, 1004)


def test_process_renders_the_input_when_a_node_sits_in_between(
        tmp_path: Path, plate_copy: str, reference: Path) -> None:
    script(working="ACEScg")
    read = nuke.nodes.Read(file=plate_copy, first=1001, last=1006, colorspace="ACEScg")
    grade = nuke.nodes.Grade(multiply=1.0)
    grade.setInput(0, read)
    dot = nuke.nodes.Dot()
    dot.setInput(0, grade)
    node = matte_node(dot, tmp_path / "cache")
    progress = finish(press_process(node))
    assert progress.state == "done", progress.message
    writer = node.node("MM_source")
    assert fake.executed == [(writer.fullName(), 1001, 1004)]  # shot start: no pre-roll
    assert writer["disable"].value()  # a script render never runs it
    source = Path(mm.cache_folder(node)) / "source"
    assert sorted(p.name for p in source.iterdir()) == [f"src.{f}.exr" for f in
                                                         range(1001, 1005)]
    _, spec = read_exr(source / "src.1001.exr")
    assert str(spec.format) == "float"
    assert_matches_reference(result_files(node), reference)
    assert node.node(mm.RESULT)["raw"].value()  # already in the working space
    # Rendered again with the same pixels: the files (and so the keys) stay.
    stamps = {p.name: p.stat().st_mtime_ns for p in source.iterdir()}
    again = finish(press_process(node))
    assert {p.name: p.stat().st_mtime_ns for p in source.iterdir()} == stamps
    assert again.written == () and len(again.skipped) == 4
    # A change upstream changes the rendered input: its frames are recomputed.
    grade["multiply"].setValue(0.8)
    changed = finish(press_process(node))
    assert changed.written == (1001, 1002, 1003, 1004)


def test_a_range_after_the_shot_start_renders_two_frames_of_pre_roll(
        tmp_path: Path, plate_copy: str) -> None:
    script()
    read = nuke.nodes.Read(file=plate_copy, first=1001, last=1006, colorspace="ACEScg")
    grade = nuke.nodes.Grade(multiply=1.0)
    grade.setInput(0, read)
    node = matte_node(grade, tmp_path / "cache", frames="1005-1006")
    progress = finish(press_process(node))
    assert progress.state == "done", progress.message
    assert fake.executed[-1][1:] == (1003, 1006)
    assert progress.written == (1005, 1006)


def test_cancel_from_the_progress_task_stops_after_the_frame_in_hand(
        tmp_path: Path, demo_pattern: str, monkeypatch: pytest.MonkeyPatch) -> None:
    script()
    monkeypatch.setattr(jobs, "POLL", 0.005)  # the watcher looks at the button often
    read = nuke.nodes.Read(file=demo_pattern, first=1001, last=1010, colorspace="ACEScg")
    node = matte_node(read, tmp_path / "cache", frames="1001-1010")
    node["downsample_ratio"].setValue(1.0)  # slower frames: the click lands mid-range
    job = press_process(node)

    def press_cancel_after_a_frame() -> bool:
        if job.progress.done >= 1 and fake.tasks:
            fake.tasks[-1].cancelled = True  # the user's click on the progress bar
        return job.progress.finished and not job._thread.is_alive()

    fake.pump(until=press_cancel_after_a_frame, timeout=300)
    fake.pump(until=lambda: fake.main_queue.empty(), timeout=5)
    assert not fake.violations
    assert job.progress.state == "cancelled", job.progress.message
    written = job.progress.written
    assert 1 <= len(written) < 10
    folder = Path(mm.cache_folder(node)) / "matte"
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [
        f"matte.{f}.exr" for f in written]
    assert node["status"].value().startswith("cancelled")
    # The Cancel knob with nothing running says so.
    node["cancel"].execute()
    assert node["status"].value() == "nothing to cancel"


def test_errors_name_the_knob_and_nothing_starts(tmp_path: Path, plate_copy: str) -> None:
    script()
    fake.selected[:] = []
    lonely = mm.create()
    lonely["process"].execute()
    assert "connect the node's input" in lonely["status"].value()
    assert lonely.fullName() not in jobs.JOBS
    read = nuke.nodes.Read(file=plate_copy, first=1001, last=1006, colorspace="ACEScg")
    node = matte_node(read, tmp_path / "cache", frames="1001-10x")
    node["process"].execute()
    assert "frame_range" in node["status"].value() and node.fullName() not in jobs.JOBS
    node["frame_range"].setValue("999-1002")
    node["process"].execute()
    assert "shot_start" in node["status"].value()
    # A bad value the worker refuses comes back through the job, naming the knob.
    node["frame_range"].setValue("1001-1002")
    node["colorspace"].setValues(["default", "not a space"])
    node["colorspace"].setValue("not a space")
    progress = finish(press_process(node))
    assert progress.state == "failed" and "not a space" in progress.message
    assert "knob: colorspace" in node["status"].value()
    node["colorspace"].setValue("default")
    node["python"].setValue("")
    env = os.environ.pop(jobs.ENV_PYTHON, None)
    try:
        progress = finish(press_process(node))
    finally:
        if env is not None:
            os.environ[jobs.ENV_PYTHON] = env
    assert progress.state == "failed" and "runtime python" in progress.message


def test_the_node_has_the_knobs_and_the_inside_it_promises() -> None:
    script()
    fake.selected[:] = []
    node = mm.create()
    names = set(node.knobs())
    assert {"weights", "backend", "device", "colorspace", "downsample_ratio", "frame_range",
            "shot_start", "cache_folder", "process", "cancel", "status", "python"} <= names
    assert node["backend"].values() == ["torch", "onnx"]
    # Input colour spaces come from the script's OCIO config.
    assert "ACEScg" in node["colorspace"].values() and node["colorspace"].value() == "default"
    assert mm.all_nodes() == [node]
    inner = {n.name(): n.Class() for n in node.nodes()}
    assert inner == {"Input1": "Input", "MM_result": "Read", "Output1": "Output"}
    assert node.node("Output1").input(0) is node.node("MM_result")


def test_init_and_menu_install_paths_and_entries() -> None:
    script()
    namespace = {"__file__": str(PLUGIN / "init.py")}
    exec(compile((PLUGIN / "init.py").read_text(), "init.py", "exec"), namespace)
    assert str(PLUGIN) in fake.plugin_paths
    assert str(ROOT / "core") in sys.path  # a source checkout's memmatte.protocol
    exec(compile((PLUGIN / "menu.py").read_text(), "menu.py", "exec"), {})
    keyer = fake.menus["Nodes"].items["Keyer"]
    assert "mm.create()" in keyer.items["MemoryMatte"]
    assert "MemoryMatte jobs" in fake.menus["Nuke"].items["Window"].items
    exec(keyer.items["MemoryMatte"], {})  # the menu's command makes a node
    assert len(mm.all_nodes()) == 1


def test_the_cattery_helper_sets_up_catfilecreator_as_the_export_says(tmp_path: Path) -> None:
    from memmatte.commands import export_cattery

    from memmatte_nuke import cattery

    assert cattery.CHANNELS_IN == export_cattery.CHANNELS_IN
    assert cattery.CHANNELS_OUT == export_cattery.CHANNELS_OUT
    script()
    with pytest.raises(FileNotFoundError):
        cattery.make_cat(str(tmp_path / "missing.pt"), str(tmp_path / "m.cat"))
    pt = tmp_path / "MemoryMatte.pt"
    pt.write_bytes(b"stand-in")
    cattery.make_cat(str(pt), str(tmp_path / "MemoryMatte.cat"))
    (creator,) = fake.cats
    assert creator["torchScriptFile"].value() == str(pt)
    assert creator["channelsIn"].value().split(",")[3:6] == fake.layers["mm_prev1"]
    assert creator["downsample_ratio"].value() == 0.0


def test_the_plugin_imports_only_the_protocol(tmp_path: Path) -> None:
    """Importing and building the node loads no torch, numpy or pipeline."""
    code = f"""
import sys, json
sys.path[:0] = [{str(FAKE)!r}, {str(PLUGIN)!r}]
import nuke
from nuke import fake
fake.new_script(spaces=["ACEScg", "sRGB"])
exec(open({str(PLUGIN / 'init.py')!r}).read(), {{"__file__": {str(PLUGIN / 'init.py')!r}}})
import memmatte_nuke.node, memmatte_nuke.jobs, memmatte_nuke.source, memmatte_nuke.cattery
memmatte_nuke.node.create(selected=False)
heavy = ("torch", "numpy", "onnxruntime", "OpenImageIO", "PyOpenColorIO",
         "memmatte.engine", "memmatte.pipeline", "memmatte.model", "memmatte.worker")
print(json.dumps(sorted(m for m in sys.modules if m in heavy or m.startswith(heavy))))
print(json.dumps(sorted(m for m in sys.modules if m.startswith("memmatte"))))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": ""})
    assert done.returncode == 0, done.stderr
    heavy, loaded = (json.loads(line) for line in done.stdout.splitlines()[-2:])
    assert heavy == []
    assert "memmatte.protocol" in loaded


def test_mypy_strict_checks_the_plugin_against_the_nuke_stubs(tmp_path: Path) -> None:
    """The plugin passes, and a wrong call is caught (the stubs are really used)."""
    bad = tmp_path / "bad_call.py"
    bad.write_text("import nuke\n\n\ndef f() -> None:\n    nuke.execute('Write1')\n")
    cmd = [sys.executable, "-m", "mypy", "--strict", "--python-version", "3.10",
           "--no-error-summary"]
    env = {**os.environ, "MYPYPATH": str(PLUGIN)}
    done = subprocess.run([*cmd, str(PLUGIN / "memmatte_nuke"), str(PLUGIN / "init.py"),
                           str(PLUGIN / "menu.py")], capture_output=True, text=True,
                          timeout=300, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    wrong = subprocess.run([*cmd, str(bad)], capture_output=True, text=True, timeout=300,
                           env=env, cwd=tmp_path)
    assert wrong.returncode == 1 and "execute" in wrong.stdout, wrong.stdout


def test_install_copies_the_plugin_with_the_protocol_vendored(tmp_path: Path) -> None:
    """Installed into a ~/.nuke, the plugin loads in a Python that has no memmatte at all."""
    dest = tmp_path / "dot_nuke"
    dest.mkdir()
    (dest / "init.py").write_text("import nuke\nnuke.pluginAddPath('other')\n")
    for _ in range(2):  # twice: the hook is added once
        done = subprocess.run([sys.executable, str(PLUGIN / "install.py"), "--dest", str(dest)],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    assert (dest / "init.py").read_text().count("pluginAddPath(\"memmatte\")") == 1
    target = dest / "memmatte"
    assert (target / "vendor" / "memmatte" / "protocol" / "client.py").is_file()
    assert not (target / "vendor" / "memmatte" / "engine").exists()
    code = f"""
import os, sys, json
sys.path[:] = [p for p in sys.path if "site-packages" not in p]
sys.path.insert(0, {str(FAKE)!r})
import nuke
from nuke import fake
fake.new_script(spaces=["ACEScg"])
os.chdir({str(dest)!r})
init = os.path.join({str(target)!r}, "init.py")
exec(open(init).read(), {{"__file__": init}})
import memmatte_nuke.node as mm, memmatte.protocol
mm.create(selected=False)
print(json.dumps(memmatte.protocol.__file__))
"""
    done = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": ""})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]).startswith(str(target / "vendor"))
