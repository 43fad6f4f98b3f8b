"""Job documents: validation with clear errors, atomic save, JSON-lines events."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from memmatte.jobs import Job, JobError, events, job_from_dict, load_job, save_job
from memmatte.render_queue import load_queue


def test_round_trip(tmp_path: Path) -> None:
    job = Job({"input": "p.####.exr", "output": "m.####.exr", "frames": "1-5"}, name="sh010")
    path = save_job(job, tmp_path / "jobs" / "sh010.json")
    assert load_job(path) == job
    assert json.loads(path.read_text())["version"] == 1
    assert [p.name for p in path.parent.iterdir()] == ["sh010.json"]


@pytest.mark.parametrize("data,message", [
    ([], "a job is a JSON object, got list"),
    ({"input": "a"}, "missing required keys ['output']"),
    ({"input": "a", "output": "b", "colourspace": "x"}, "unknown keys ['colourspace']"),
    ({"version": 9, "input": "a", "output": "b"}, "job version 9 is not supported"),
])
def test_bad_documents_are_explained(data: object, message: str) -> None:
    with pytest.raises(JobError, match=message.replace("[", r"\[").replace("]", r"\]")):
        job_from_dict(data, "job.json")


def test_unreadable_files_name_themselves(tmp_path: Path) -> None:
    with pytest.raises(JobError, match="nope.json: cannot read job file"):
        load_job(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{input: 1")
    with pytest.raises(JobError, match="bad.json: not valid JSON"):
        load_job(tmp_path / "bad.json")


def test_worker_refuses_a_bad_job_with_a_result_event(tmp_path: Path) -> None:
    (tmp_path / "job.json").write_text(json.dumps({"input": "x"}))
    proc = subprocess.Popen([sys.executable, "-m", "memmatte.worker", str(tmp_path / "job.json")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    got = list(events(proc))
    assert proc.wait() == 2
    assert got[-1]["event"] == "result" and got[-1]["ok"] is False
    assert "missing required keys" in got[-1]["error"]


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


def test_jobs_module_imports_nothing_heavy() -> None:
    """Host adapters import memmatte.jobs in the host's Python: no runtime, no image stack."""
    code = ("import sys, memmatte.jobs as j; j.job_from_dict({'input': 'a', 'output': 'b'}); "
            "print(sorted(m for m in ('torch', 'onnxruntime', 'OpenImageIO', 'PyOpenColorIO', "
            "'av', 'numpy') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
