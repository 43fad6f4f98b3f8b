"""memmatte.protocol: settings and their one validator, jobs, events, errors, cache keys,
the CLI made from the settings, and the promise that it is standard library only."""
from __future__ import annotations

import argparse
import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

import memmatte
from memmatte.io import PlateError
from memmatte.protocol import (
    Job,
    JobError,
    MemmatteError,
    RenderSettings,
    SettingsError,
    add_options,
    cache_key,
    errors,
    events,
    from_args,
    job_from_dict,
    load_job,
    save_job,
    source_stamp,
    to_argv,
)
from memmatte.commands.queue import load_queue

CORE = str(Path(memmatte.__file__).parent.parent)


def test_round_trip(tmp_path: Path) -> None:
    job = Job({"input": "p.####.exr", "output": "m.####.exr", "frames": "1-5"}, name="sh010")
    path = save_job(job, tmp_path / "jobs" / "sh010.json")
    assert load_job(path) == job
    assert json.loads(path.read_text())["version"] == 1
    assert [p.name for p in path.parent.iterdir()] == ["sh010.json"]
    assert job.render_settings().frames == "1-5"


@pytest.mark.parametrize("data,message,option", [
    ([], "a job is a JSON object, got list", None),
    ({"input": "a"}, "missing required keys ['output']", "output"),
    ({"input": "a", "output": "b", "colourspace": "x"}, "unknown keys ['colourspace']",
     "colourspace"),
    ({"version": 9, "input": "a", "output": "b"}, "job version 9 is not supported", "version"),
    # Values, not only key names, are checked in the job: a bad value is a bad job.
    ({"input": "a", "output": "b", "downsample_ratio": 2},
     "downsample_ratio (--downsample-ratio): must be in (0, 1], got 2", "downsample_ratio"),
    ({"input": "a", "output": "b", "downsample_ratio": "half"},
     "expected a number, got 'half'", "downsample_ratio"),
    ({"input": "a", "output": "b", "device": "tpu"}, "unknown device 'tpu'; valid: auto",
     "device"),
    ({"input": "a", "output": "b", "backend": "tensorrt"}, "valid: torch, onnx", "backend"),
    ({"input": "a", "output": "b", "resume": "yes"}, "expected true or false", "resume"),
    ({"input": "a", "output": "b", "threads": 0}, "must be at least 1, got 0", "threads"),
    ({"input": "a", "output": "b", "frames": "10-1"}, "ends before it starts", "frames"),
    ({"input": "a", "output": "b", "compression": "lzma"}, "not an EXR compression",
     "compression"),
    ({"input": "a", "output": "b", "shot_start": 1.5}, "expected a whole number", "shot_start"),
])
def test_bad_documents_are_explained(data: object, message: str, option: str | None) -> None:
    with pytest.raises(JobError) as caught:
        job_from_dict(data, "job.json")
    assert message in str(caught.value) and str(caught.value).startswith("job.json")
    assert caught.value.option == option and caught.value.code == errors.BAD_JOB


def test_unreadable_files_name_themselves(tmp_path: Path) -> None:
    with pytest.raises(JobError, match="nope.json: cannot read job file") as caught:
        load_job(tmp_path / "nope.json")
    assert caught.value.path == str(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{input: 1")
    with pytest.raises(JobError, match="bad.json: not valid JSON"):
        load_job(tmp_path / "bad.json")


def test_settings_validate_on_construction_too() -> None:
    with pytest.raises(SettingsError, match="memory") as caught:
        RenderSettings(input="a", output="b", memory="lstm")
    assert caught.value.option == "memory"
    assert RenderSettings(input="a", output="b", downsample_ratio=1).downsample_ratio == 1.0


def test_cli_options_come_from_the_settings() -> None:
    parser = argparse.ArgumentParser()
    add_options(parser)
    args = parser.parse_args(["p.####.exr", "-o", "m.####.exr", "--float", "--frames", "1-3",
                              "--downsample-ratio", "0.5", "--shot-start", "1", "--resume"])
    s = from_args(args)
    assert (s.half, s.frames, s.downsample_ratio, s.shot_start, s.resume) == (
        False, "1-3", 0.5, 1, True)
    # to_argv gives back arguments that parse to the same settings (farm chunks, hosts).
    assert from_args(parser.parse_args(to_argv(s))) == s


def test_cli_refuses_bad_values_naming_the_option(capsys: pytest.CaptureFixture) -> None:
    parser = argparse.ArgumentParser()
    add_options(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["p", "-o", "m", "--downsample-ratio", "3"])
    assert "--downsample-ratio" in capsys.readouterr().err


def test_every_layer_error_is_a_memmatte_error_that_survives_pickling() -> None:
    err = PlateError("cannot read", path="plate.1001.exr", frame=1001)
    assert isinstance(err, MemmatteError) and err.code == errors.PLATE
    back = pickle.loads(pickle.dumps(err))
    assert (type(back), back.path, back.frame, str(back)) == (
        PlateError, "plate.1001.exr", 1001, "plate.1001.exr (frame 1001): cannot read")
    assert err.to_dict() == {"code": "plate", "message": str(err), "path": "plate.1001.exr",
                             "frame": 1001}
    again = errors.from_event(events.event("error", **err.to_dict()))
    assert (again.code, again.path, again.frame, str(again)) == (
        "plate", "plate.1001.exr", 1001, str(err))


def test_events_are_versioned_and_other_lines_are_ignored() -> None:
    line = events.encode(events.event("frame", frame=3, eta_s=None))
    assert events.decode(line) == {"v": events.PROTOCOL_VERSION, "event": "frame", "frame": 3}
    assert events.decode("Some library says hello") is None
    assert events.decode("{not json") is None


def test_cache_key_changes_with_any_part(tmp_path: Path) -> None:
    frame = tmp_path / "p.1.exr"
    frame.write_bytes(b"x")
    parts = {"weights": "abc", "ratio": 0.5, "sources": [source_stamp(frame)]}
    key = cache_key(parts)
    assert len(key) == 16 and key == cache_key(dict(reversed(parts.items())))
    assert cache_key({**parts, "ratio": 0.25}) != key
    frame.write_bytes(b"xy")  # the plate was re-rendered
    assert cache_key({**parts, "sources": [source_stamp(frame)]}) != key


def test_queue_file_defaults_relative_paths_and_errors(tmp_path: Path) -> None:
    shots = tmp_path / "shots.toml"
    shots.write_text('[defaults]\ndevice = "cpu"\n[[shot]]\ninput = "p/a.####.exr"\n'
                     'output = "o/a.####.exr"\n[[shot]]\nname = "b"\ninput = "/abs/b.exr"\n'
                     'output = "o/b.exr"\ndevice = "cuda"\n')
    jobs = load_queue(shots)
    assert [j.name for j in jobs] == ["shot1", "b"]
    assert jobs[0].settings["input"] == str(tmp_path / "p/a.####.exr")
    assert jobs[0].settings["device"] == "cpu" and jobs[1].settings["device"] == "cuda"
    assert jobs[1].settings["input"] == "/abs/b.exr"
    shots.write_text('[[shot]]\ninput = "a"\noutput = "b"\nfps = 24\n')
    with pytest.raises(JobError, match=r"\[\[shot\]\] #1 \(shot1\): unknown keys \['fps'\]"):
        load_queue(shots)
    shots.write_text("title = 'x'\n")
    with pytest.raises(JobError, match="no shots"):
        load_queue(shots)


HEAVY = ("numpy", "torch", "onnxruntime", "OpenImageIO", "PyOpenColorIO", "av", "scipy", "PIL")


def test_protocol_needs_only_the_standard_library(tmp_path: Path) -> None:
    """A host's Python with nothing installed: -S (no site-packages), -I (no environment),
    only memmatte's own source folder on the path."""
    code = (f"import sys; sys.path.insert(0, {CORE!r}); import memmatte.protocol as p; "
            "p.job_from_dict({'input': 'a', 'output': 'b', 'downsample_ratio': 0.5}); "
            "p.cache_key({'a': 1}); p.WorkerClient; "
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-S", "-I", "-c", code], capture_output=True,
                          text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
