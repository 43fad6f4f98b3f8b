"""``python -m memmatte.worker JOB.json``: run one job, JSON lines on stdout.

Events: {"event": "start"|"frame"|"skip"|"done"|"cancelled", ...} as the render goes, then
one {"event": "result", "ok": ..., ...}. SIGTERM (or SIGINT) stops cleanly after the frame in
hand: frames written so far are complete files, and a rerun with resume continues.
Exit codes: 0 done, 1 failed, 2 bad job file, 3 cancelled.
"""
from __future__ import annotations

import json
import signal
import sys
import threading
import traceback
from typing import Any

from .jobs import JobError, load_job

EXIT_OK, EXIT_FAILED, EXIT_BAD_JOB, EXIT_CANCELLED = 0, 1, 2, 3


def emit(event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m memmatte.worker JOB.json", file=sys.stderr)
        return EXIT_BAD_JOB
    try:
        job = load_job(args[0])
    except JobError as exc:
        emit({"event": "result", "ok": False, "error": str(exc)})
        return EXIT_BAD_JOB
    cancel = threading.Event()

    def stop(signum: int, frame: object) -> None:
        cancel.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
    from .pipeline import RenderSettings, render

    try:
        settings = RenderSettings.from_dict(job.settings, args[0])
        result = render(settings, lambda p: emit(p.to_dict()), cancel)
    except Exception as exc:  # the host shows the message; the traceback goes to stderr
        traceback.print_exc()
        emit({"event": "result", "ok": False, "job": job.name, "error": str(exc)})
        return EXIT_FAILED
    emit({"event": "result", "ok": not result.cancelled, "job": job.name,
          "cancelled": result.cancelled, "written": result.written, "skipped": result.skipped,
          "seconds": round(result.seconds, 3)})
    return EXIT_CANCELLED if result.cancelled else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
