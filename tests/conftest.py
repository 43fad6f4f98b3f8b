"""Fixtures shared by the test files: plates on disk, the runtime Pythons, worker clients."""
from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from memmatte.protocol import WorkerClient

from .plates import DEMO_PLATE

DEMO_PATTERN = str(DEMO_PLATE / "bedroom.####.exr")


@pytest.fixture(scope="session")
def demo_pattern() -> str:
    """The bundled ACEScg plate, frames 1001-1010 (480x270), read only."""
    return DEMO_PATTERN


@pytest.fixture()
def plate_copy(tmp_path: Path) -> str:
    """Frames 1001-1006 of the demo plate in a folder of the test's own, to change files in."""
    folder = tmp_path / "plate"
    folder.mkdir()
    for frame in range(1001, 1007):
        shutil.copy2(DEMO_PLATE / f"bedroom.{frame}.exr", folder / f"bedroom.{frame}.exr")
    return str(folder / "bedroom.####.exr")


@pytest.fixture(scope="session")
def runtime_python() -> str:
    """The Python with the memmatte runtime (torch): the one running the tests."""
    return sys.executable


@pytest.fixture(scope="session")
def onnx_python() -> str:
    """The torch-free venv's Python (``make test`` builds it and names it)."""
    python = os.environ.get("MEMMATTE_ONNX_PYTHON")
    if not python or not Path(python).is_file():
        pytest.fail("MEMMATTE_ONNX_PYTHON must name the torch-free venv's python: run "
                    "'make test' (it builds .venv-onnx)")
    return python


@pytest.fixture()
def serving(runtime_python: str) -> Iterator[WorkerClient]:
    """A warm worker in serve mode, shut down after the test."""
    worker = WorkerClient.serve(runtime_python)
    try:
        ready = worker.next_event(timeout=120)
        assert ready is not None and ready["event"] == "ready", worker.stderr_tail()
        yield worker
    finally:
        worker.close(timeout=60)
