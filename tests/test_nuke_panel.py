"""The MemoryMatte jobs panel: offscreen under PySide6 with pytest-qt, and built under
PySide2 5.13 (Nuke 13-15's binding; the newest that installs for Python 3.11) in its own venv."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
for _p in (str(ROOT / "tests" / "fake_nuke"), str(ROOT / "plugin" / "nuke")):
    if _p not in sys.path:
        sys.path.insert(0, _p)
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")

import nuke  # noqa: E402  (the fake)
from nuke import fake  # noqa: E402

from memmatte_nuke import jobs, node  # noqa: E402

PYSIDE2_PYTHON = ROOT / ".venv-pyside2" / "bin" / "python"


class Stand:
    """A job's snapshot as the panel reads it (the worker side is tested in test_nuke.py)."""

    def __init__(self, progress: jobs.Progress) -> None:
        self.progress = progress
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


@pytest.fixture()
def two_nodes() -> tuple[Any, Any]:
    fake.new_script(spaces=["ACEScg", "sRGB"])
    jobs.JOBS.clear()
    a = node.create(selected=False)
    b = node.create(selected=False)
    return a, b


def test_the_panel_lists_the_nodes_with_state_and_progress(qtbot: Any, two_nodes: Any,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    from memmatte_nuke.panel import JobsPanel
    from memmatte_nuke.qt import BINDING

    assert BINDING == "PySide6"
    a, b = two_nodes
    panel = JobsPanel()
    qtbot.addWidget(panel)
    assert [panel.row_state(r) for r in range(2)] == [
        ("MemoryMatte1", "idle", 0, "not processed"), ("MemoryMatte2", "idle", 0,
                                                       "not processed")]
    running = Stand(jobs.Progress(state="running", done=1, total=4, fps=2.0))
    jobs.JOBS[b.fullName()] = running  # type: ignore[assignment]
    qtbot.waitUntil(lambda: panel.row_state(1)[1] == "running", timeout=3000)  # the timer
    assert panel.row_state(1)[2] == 25 and panel.row_state(1)[3].startswith("frame 1/4")
    running.progress = jobs.Progress(state="done", done=4, total=4, message="done: 4 computed")
    qtbot.waitUntil(lambda: panel.row_state(1)[2] == 100, timeout=3000)
    # A node added to the script shows up.
    node.create(selected=False)
    qtbot.waitUntil(lambda: panel.table.rowCount() == 3, timeout=3000)
    # Start and Cancel act on the selected rows' nodes.
    started: list[str] = []
    monkeypatch.setattr(node, "process", lambda n: started.append(n.fullName()))
    panel.table.selectRow(0)
    qtbot.mouseClick(panel.start_button, _left())
    assert started == ["MemoryMatte1"]
    again = Stand(jobs.Progress(state="running", done=1, total=4))
    jobs.JOBS[a.fullName()] = again  # type: ignore[assignment]
    qtbot.mouseClick(panel.cancel_button, _left())
    assert again.cancelled and a["status"].value().startswith("cancelling")


def _left() -> Any:
    from memmatte_nuke.qt import QtCore

    return QtCore.Qt.MouseButton.LeftButton


def test_the_fake_refuses_nuke_calls_off_the_main_thread(two_nodes: Any) -> None:
    a, _ = two_nodes
    caught: list[BaseException] = []

    def touch() -> None:
        try:
            a["status"].setValue("from a thread")
        except BaseException as exc:
            caught.append(exc)
    t = threading.Thread(target=touch, name="offender")
    t.start()
    t.join()
    assert caught and isinstance(caught[0], nuke.ThreadViolation)
    assert fake.violations == ["offender"]
    nuke.executeInMainThread(a["status"].setValue, args=("through the main thread",))
    assert a["status"].value() == "not processed"  # queued until the event loop runs
    fake.pump(until=lambda: fake.main_queue.empty(), timeout=5)
    assert a["status"].value() == "through the main thread"


def test_the_panel_builds_under_pyside2_5_13() -> None:
    if not PYSIDE2_PYTHON.is_file():
        pytest.fail(f"{PYSIDE2_PYTHON} is missing: 'make test' builds .venv-pyside2")
    done = subprocess.run([str(PYSIDE2_PYTHON), str(ROOT / "tests" / "nuke_panel_pyside2.py")],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "QT_API": "pyside2", "QT_QPA_PLATFORM": "offscreen",
                               "PYTHONPATH": ""})
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["binding"] == "PySide2" and got["qt"].startswith("5.13")
    assert [tuple(r) for r in got["rows"]] == [("MemoryMatte1", "idle", 0, "not processed"),
                                               ("MemoryMatte2", "running", 75, "frame 3/4 "
                                                "(0.0 fps)")]
    assert got["started"] == ["MemoryMatte2"]
    assert got["flags"] == 1 | 32  # ItemIsSelectable | ItemIsEnabled, without Flag | Flag
