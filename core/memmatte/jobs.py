"""A job: a small JSON document describing one render, and how to run it.

Host adapters (Blender, Nuke) write a job and start ``python -m memmatte.worker JOB.json`` in a
Python that has the runtime, reading its JSON-lines progress; they never import torch. This
module itself imports nothing heavy, so a host's Python can use it.
"""
from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .atomic import atomic_path

JOB_VERSION = 1

class JobError(ValueError):
    """A job document that cannot be run; the message names the file and the key."""


@dataclass
class Job:
    settings: dict[str, Any]
    name: str = ""
    version: int = JOB_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "name": self.name, **self.settings}


def job_from_dict(data: Any, where: str = "job") -> Job:
    if not isinstance(data, dict):
        raise JobError(f"{where}: a job is a JSON object, got {type(data).__name__}")
    data = dict(data)
    version = data.pop("version", JOB_VERSION)
    if version != JOB_VERSION:
        raise JobError(f"{where}: job version {version!r} is not supported (expected "
                       f"{JOB_VERSION})")
    name = str(data.pop("name", "") or "")
    from .pipeline.settings import RenderSettings, SettingsError

    try:
        RenderSettings.from_dict(data, where, extra_keys=("name", "version"))
    except SettingsError as exc:
        raise JobError(str(exc)) from exc
    return Job(data, name, version)


def load_job(path: str | Path) -> Job:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise JobError(f"{path}: cannot read job file ({exc.strerror})") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JobError(f"{path}: not valid JSON ({exc})") from exc
    return job_from_dict(data, str(path))


def save_job(job: Job, path: str | Path) -> Path:
    """Write atomically (a worker may be reading the folder)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(job.to_dict(), indent=1), encoding="utf-8")
    return path


def start_worker(job_path: str | Path, python: str | None = None,
                 env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Run a job in another process; read its progress with ``events(proc)``."""
    cmd = [python or sys.executable, "-m", "memmatte.worker", str(job_path)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, bufsize=1)


def events(proc: subprocess.Popen[str]) -> Iterator[dict[str, Any]]:
    """The worker's JSON-lines events, as they come; non-JSON lines are skipped."""
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError:
            continue
