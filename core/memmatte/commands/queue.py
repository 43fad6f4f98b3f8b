"""``memmatte queue shots.toml``: render shots in order, each in its own worker process.

A failed shot (bad input, a crash, even a segfault in a reader) does not stop the queue; the
summary lists every shot and the exit status is non-zero if any failed.

    [defaults]            # optional: keys every shot gets unless it sets its own
    device = "cpu"
    [[shot]]
    name = "sh010"
    input = "plates/sh010.####.exr"
    output = "mattes/sh010.####.exr"
    frames = "1001-1100"

Relative paths are taken from the TOML file's folder.
"""
from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..protocol import events as ev
from ..protocol.client import WorkerClient
from ..protocol.errors import JobError, WorkerError
from ..protocol.job import Job, job_from_dict, save_job
from ..tomlfile import read_toml

PATH_KEYS = ("input", "output", "alpha_out", "preview", "weights", "ocio")


@dataclass
class ShotOutcome:
    name: str
    ok: bool
    written: int = 0
    skipped: int = 0
    seconds: float = 0.0
    error: str = ""


@dataclass
class QueueResult:
    shots: list[ShotOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[ShotOutcome]:
        return [s for s in self.shots if not s.ok]


def _absolute(value: Any, base: Path) -> Any:
    if not isinstance(value, str) or value.startswith("ocio://") or Path(value).is_absolute():
        return value
    return str(base / value)


def load_queue(path: Path) -> list[Job]:
    data = read_toml(path, JobError)
    defaults = data.get("defaults", {})
    shots = data.get("shot")
    if not isinstance(shots, list) or not shots:
        raise JobError(f"{path}: no shots; add [[shot]] tables with input and output")
    unknown = sorted(set(data) - {"defaults", "shot"})
    if unknown:
        raise JobError(f"{path}: unknown top-level keys {unknown}; valid: defaults, shot")
    jobs = []
    for i, shot in enumerate(shots):
        merged = {**defaults, **shot}
        merged.setdefault("name", f"shot{i + 1}")
        for key in PATH_KEYS:
            if key in merged:
                merged[key] = _absolute(merged[key], path.parent)
        jobs.append(job_from_dict(merged, f"{path} [[shot]] #{i + 1} ({merged['name']})"))
    return jobs


def run_shot(job: Job, folder: Path, report: Callable[[str, dict[str, Any]], None]
             ) -> ShotOutcome:
    job_path = save_job(job, folder / f"{job.name}.json")
    start = time.perf_counter()
    # The queue runs in the runtime's Python, so the worker's Python is this one.
    worker = WorkerClient.job(sys.executable, job_path)
    final: dict[str, Any] = {}
    error = ""
    try:
        for event in worker.events():
            if event.get("event") == ev.RESULT:
                final = event
            else:
                report(job.name, event)
    except WorkerError as exc:  # a crash, even a segfault in a reader: this shot only
        error = str(exc)
    code = worker.close()
    outcome = ShotOutcome(job.name, ok=code == 0 and bool(final.get("ok")),
                          written=len(final.get("written", [])),
                          skipped=len(final.get("skipped", [])),
                          seconds=time.perf_counter() - start)
    if not outcome.ok:
        outcome.error = final.get("error") or error or f"worker exit code {code}"
    return outcome


def run_queue(path: Path, report: Callable[[str, dict[str, Any]], None] | None = None
              ) -> QueueResult:
    jobs = load_queue(path)
    result = QueueResult()
    with tempfile.TemporaryDirectory(prefix="memmatte-queue-") as folder:
        for job in jobs:
            result.shots.append(run_shot(job, Path(folder), report or (lambda n, e: None)))
    return result


def format_summary(result: QueueResult) -> str:
    lines = [f"{len(result.shots)} shots, {len(result.failed)} failed"]
    for s in result.shots:
        state = "ok    " if s.ok else "FAILED"
        line = f"  {state} {s.name}: {s.written} written, {s.skipped} skipped, {s.seconds:.1f} s"
        lines.append(line + (f" - {s.error}" if s.error else ""))
    return "\n".join(lines)
