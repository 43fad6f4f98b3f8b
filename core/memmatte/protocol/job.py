"""A job: one render's settings as a small JSON document a host writes for the worker."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..atomic import atomic_path
from .errors import JobError, SettingsError
from .settings import RenderSettings

JOB_VERSION = 1


@dataclass
class Job:
    settings: dict[str, Any]
    name: str = ""
    version: int = JOB_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "name": self.name, **self.settings}

    def render_settings(self) -> RenderSettings:
        return RenderSettings.from_dict(self.settings, self.name or "job")


def job_from_dict(data: Any, where: str = "job") -> Job:
    """A checked job; every value is validated here, so a bad one is a bad job (exit 2)."""
    if not isinstance(data, dict):
        raise JobError(f"{where}: a job is a JSON object, got {type(data).__name__}")
    data = dict(data)
    version = data.pop("version", JOB_VERSION)
    if version != JOB_VERSION:
        raise JobError(f"{where}: job version {version!r} is not supported (expected "
                       f"{JOB_VERSION})", option="version")
    name = str(data.pop("name", "") or "")
    try:
        RenderSettings.from_dict(data, where, extra_keys=("name", "version"))
    except SettingsError as exc:
        raise JobError(exc.detail, option=exc.option) from exc
    return Job(data, name, version)


def load_job(path: str | Path) -> Job:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise JobError(f"cannot read job file ({exc.strerror})", path=path) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JobError(f"not valid JSON ({exc})", path=path) from exc
    return job_from_dict(data, str(path))


def save_job(job: Job, path: str | Path) -> Path:
    """Write atomically (a worker may be reading the folder)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(job.to_dict(), indent=1), encoding="utf-8")
    return path
