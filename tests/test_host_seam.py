"""A fake host drives the worker through memmatte.protocol, end to end, with real worker
processes: start, setup, frames, cancel, a bad job, a crash, warm per-frame requests, probe,
capabilities, and the honest cache (a stale frame after a settings or plate change)."""
from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from memmatte.protocol import (
    Job,
    KEY_ATTRIBUTE,
    MemmatteError,
    WorkerClient,
    WorkerError,
    errors,
    save_job,
)

from .plates import read_exr

SMALL = {"device": "cpu", "ocio": "ocio://default", "downsample_ratio": 0.25}


def job_file(tmp_path: Path, plate: str, **settings: Any) -> Path:
    job = Job({"input": plate, "output": str(tmp_path / "out" / "m.####.exr"), **SMALL,
               **settings}, name="sh010")
    return save_job(job, tmp_path / "sh010.json")


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [e["event"] for e in events]


def test_a_job_reports_from_the_first_moment_to_its_result(tmp_path: Path, demo_pattern: str,
                                                          runtime_python: str) -> None:
    worker = WorkerClient.job(runtime_python, job_file(tmp_path, demo_pattern,
                                                       frames="1001-1003"))
    got = list(worker.events(timeout=120))
    assert worker.close() == 0
    order = kinds(got)
    assert order[0] == "accepted" and got[0]["pid"] == worker.proc.pid
    stages = [e["stage"] for e in got if e["event"] == "setup"]
    assert stages[0] == "source" and "runtime" in stages and stages[-1] == "ready"
    assert order.index("setup") < order.index("start") < order.index("frame")
    frames = [e for e in got if e["event"] == "frame"]
    assert [e["frame"] for e in frames] == [1001, 1002, 1003]
    for e in frames:
        _, spec = read_exr(Path(e["path"]))
        assert spec.get_string_attribute(KEY_ATTRIBUTE) == e["key"]
        assert spec.get_string_attribute("memmatte:device") == "cpu"
        assert spec.get_string_attribute("memmatte:precision") == "fp32"
    assert got[-1]["event"] == "result" and got[-1]["ok"] and got[-1]["written"] == [
        1001, 1002, 1003]
    assert all(e["v"] == 1 for e in got)


def test_cancel_through_stdin_stops_after_the_frame_in_hand(tmp_path: Path, demo_pattern: str,
                                                            runtime_python: str) -> None:
    worker = WorkerClient.job(runtime_python, job_file(tmp_path, demo_pattern))
    seen = []
    for event in worker.events(timeout=120):
        seen.append(event)
        if event["event"] == "frame" and event["done"] == 1:
            worker.cancel()  # no signal: works the same on Windows
    assert worker.close() == 3
    final = seen[-1]
    assert final["cancelled"] is True and 1 <= len(final["written"]) < 10
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == [f"m.{f}.exr" for f in final["written"]]  # complete files only


def test_a_bad_job_is_refused_with_the_option_named(tmp_path: Path, demo_pattern: str,
                                                    runtime_python: str) -> None:
    worker = WorkerClient.job(runtime_python, job_file(tmp_path, demo_pattern,
                                                       downsample_ratio=2))
    got = list(worker.events(timeout=60))
    assert worker.close() == 2
    error = next(e for e in got if e["event"] == "error")
    assert error["code"] == errors.BAD_JOB and error["option"] == "downsample_ratio"
    assert "must be in (0, 1]" in error["message"]
    assert kinds(got) == ["accepted", "error", "result"]


def test_a_missing_frame_names_the_file(tmp_path: Path, runtime_python: str) -> None:
    missing = str(tmp_path / "nowhere" / "p.####.exr")
    worker = WorkerClient.job(runtime_python, job_file(tmp_path, missing))
    got = list(worker.events(timeout=60))
    assert worker.close() == 1
    error = next(e for e in got if e["event"] == "error")
    assert error["code"] == errors.PLATE and error["path"] == missing


def test_a_crashed_worker_is_reported_not_waited_for(tmp_path: Path, demo_pattern: str,
                                                     serving: WorkerClient) -> None:
    settings = {"input": demo_pattern, "output": str(tmp_path / "m.####.exr"), **SMALL}
    rid = serving.request("render", settings=settings)
    with pytest.raises(WorkerError, match="exited") as caught:
        for event in serving.answers(rid, timeout=120):
            if event["event"] == "frame":
                os.kill(serving.proc.pid, signal.SIGKILL)  # the worker dies mid-render
    assert caught.value.code == errors.WORKER
    assert serving.proc.wait(timeout=30) == -signal.SIGKILL


def test_warm_frames_on_demand_and_the_honest_cache(tmp_path: Path, plate_copy: str,
                                                    serving: WorkerClient) -> None:
    settings = {"input": plate_copy, "output": str(tmp_path / "m.####.exr"), **SMALL}
    first = serving.render_frame(settings, 1004, timeout=120)
    assert first["event"] == "frame" and Path(first["path"]).is_file()
    after = serving.render_frame(settings, 1005, timeout=120)  # warm: 1003-1004 remembered
    assert after["event"] == "frame"
    again = serving.render_frame(settings, 1004, timeout=120)
    assert again["event"] == "skip" and again["key"] == first["key"]  # on disk, key matches
    # A settings change makes the frame on disk stale: computed again, new key.
    other = serving.render_frame({**settings, "downsample_ratio": 0.5}, 1004, timeout=120)
    assert other["event"] == "frame" and other["key"] != first["key"]
    # So does a re-rendered plate: frame 1003 is in the window of 1004 and 1005.
    plate = Path(plate_copy.replace("####", "1003"))
    plate.write_bytes(plate.read_bytes())
    os.utime(plate, ns=(time.time_ns(), time.time_ns() + 10**9))
    redo = serving.render_frame(settings, 1005, timeout=120)
    assert redo["event"] == "frame" and redo["key"] != after["key"]


def test_a_bad_request_leaves_the_worker_serving(serving: WorkerClient,
                                                 demo_pattern: str, tmp_path: Path) -> None:
    with pytest.raises(MemmatteError) as caught:
        serving.render_frame({"input": demo_pattern, "output": str(tmp_path / "m.####.exr"),
                              "device": "gpu"}, 1001, timeout=60)
    assert caught.value.option == "device" and caught.value.code == errors.BAD_JOB
    info = serving.probe(demo_pattern, timeout=60, ocio="ocio://default")
    assert (info["first"], info["last"], info["width"], info["height"]) == (1001, 1010, 480, 270)
    assert info["layers"][0]["channels"][:3] == ["R", "G", "B"]
    assert "ACEScg" in info["colorspaces"] and info["default_colorspace"] == "ACEScg"
    answer = serving.call("capabilities", timeout=120)
    assert kinds(answer) == ["accepted", "capabilities", "result"]
    caps = answer[1]
    assert caps["backends"]["torch"]["available"] and "cpu" in caps["backends"]["torch"][
        "devices"]


def test_cancel_in_serve_mode_stops_a_range_and_keeps_serving(
        tmp_path: Path, demo_pattern: str, serving: WorkerClient) -> None:
    settings = {"input": demo_pattern, "output": str(tmp_path / "m.####.exr"), **SMALL}
    rid = serving.request("render", settings=settings)
    got = []
    for event in serving.answers(rid, timeout=120):
        got.append(event)
        if event["event"] == "frame" and event["done"] == 1:
            serving.cancel(rid)
    assert got[-1]["cancelled"] is True and len(got[-1]["written"]) < 10
    assert serving.render_frame(settings, 1001, timeout=120)["event"] == "skip"


def test_capabilities_of_a_runtime_python(runtime_python: str, tmp_path: Path) -> None:
    caps = WorkerClient.capabilities(runtime_python)
    assert caps["event"] == "capabilities" and caps["protocol"] == 1
    assert caps["backends"]["torch"]["available"] and caps["backends"]["onnx"]["available"]
    assert len(caps["backends"]["torch"]["weights_id"]) == 12
    with pytest.raises(WorkerError, match="cannot run the worker") as caught:
        WorkerClient.capabilities(tmp_path / "no-such-python")
    assert caught.value.path == str(tmp_path / "no-such-python")
