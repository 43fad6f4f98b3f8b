"""The worker: the runtime side of the host seam (``memmatte.protocol`` is the host side).

    python -m memmatte.worker JOB.json        one job, JSON-lines events on stdout
    python -m memmatte.worker --serve         warm: requests on stdin, events on stdout
    python -m memmatte.worker --capabilities  backends, devices, version, weights ids

Events and requests are listed in ``memmatte.protocol.events``. Exit codes: 0 done,
1 failed, 2 bad job (the settings or the document), 3 cancelled.
"""
from __future__ import annotations

import sys

from ..protocol import events as ev
from ..protocol.events import EXIT_BAD_JOB, EXIT_CANCELLED, EXIT_FAILED, EXIT_OK

__all__ = ["EXIT_BAD_JOB", "EXIT_CANCELLED", "EXIT_FAILED", "EXIT_OK", "main"]

USAGE = "usage: python -m memmatte.worker JOB.json | --serve | --capabilities"


def main(argv: list[str] | None = None) -> int:
    from .emit import Emitter

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(USAGE, file=sys.stderr)
        return EXIT_BAD_JOB
    emit = Emitter.take_stdout() if argv is None else Emitter(sys.stdout)
    if args[0] == "--capabilities":
        from .capabilities import capabilities

        emit(ev.CAPABILITIES, **capabilities())
        return EXIT_OK
    if args[0] == "--serve":
        from .serve import serve

        return serve(emit)
    from .job_mode import run_job

    return run_job(args[0], emit)
