"""The honest cache: a frame on disk is kept only when its recorded key matches; renders
sharing a folder never remove each other's temporaries."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from memmatte.atomic import owner
from memmatte.pipeline import RenderSettings, render
from memmatte.pipeline.folder_lock import FolderLock
from memmatte.protocol import KEY_ATTRIBUTE

from .plates import read_exr

FRAMES = "1001-1004"


def settings(plate: str, out: Path, **kw: object) -> RenderSettings:
    values = {"frames": FRAMES, "device": "cpu", "ocio": "ocio://default", "resume": True,
              **kw}
    return RenderSettings(input=plate, output=str(out / "m.####.exr"), **values)  # type: ignore[arg-type]


def test_resume_recomputes_every_frame_after_a_ratio_change_and_none_without(
        tmp_path: Path, demo_pattern: str) -> None:
    first = render(settings(demo_pattern, tmp_path, downsample_ratio=0.5))
    assert first.written == [1001, 1002, 1003, 1004]
    same = render(settings(demo_pattern, tmp_path, downsample_ratio=0.5))
    assert (same.written, same.skipped) == ([], [1001, 1002, 1003, 1004])
    changed = render(settings(demo_pattern, tmp_path, downsample_ratio=0.25))
    assert (changed.written, changed.skipped) == ([1001, 1002, 1003, 1004], [])
    keys = {read_exr(tmp_path / f"m.{f}.exr")[1].get_string_attribute(KEY_ATTRIBUTE)
            for f in (1001, 1002)}
    assert len(keys) == 2  # every frame has its own key (its own source frames)


def test_a_changed_plate_frame_recomputes_the_frames_that_read_it(tmp_path: Path,
                                                                  plate_copy: str) -> None:
    render(settings(plate_copy, tmp_path))
    plate = Path(plate_copy.replace("####", "1002"))
    plate.write_bytes(plate.read_bytes() + b"\0")  # a re-rendered plate (size changes)
    again = render(settings(plate_copy, tmp_path))
    # Frame t reads t-1 and t-2: 1002 changes 1002, 1003 and 1004, never 1001.
    assert (again.written, again.skipped) == ([1002, 1003, 1004], [1001])


def test_a_shared_folder_keeps_the_temporaries_of_live_renders(tmp_path: Path,
                                                               demo_pattern: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = out / f".m.1003.{owner(sleeper.pid)}-abc.tmp.exr"  # another render, writing
        dead = out / f".m.1004.{owner(2**22 + 12345)}-abc.tmp.exr"  # a killed render's
        live.write_bytes(b"in progress")
        dead.write_bytes(b"half a frame")
        with FolderLock(out):  # another render holds the folder
            render(settings(demo_pattern, out, frames="1003-1004"))
        assert live.exists() and not dead.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    render(settings(demo_pattern, out, frames="1003-1004"))  # alone now: tidy everything
    assert sorted(p.name for p in out.iterdir()) == ["m.1003.exr", "m.1004.exr"]
