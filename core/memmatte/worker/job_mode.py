"""``python -m memmatte.worker JOB.json``: one job, then exit.

Cancel: a ``{"op": "cancel"}`` line on stdin (every OS), or SIGTERM/SIGINT where there are
signals; the frame in hand is finished, files stay complete, a rerun with resume continues.
"""
from __future__ import annotations

import os
import signal
import sys
import threading

from .. import __version__
from ..protocol import events as ev
from ..protocol.errors import JobError
from ..protocol.job import load_job
from .emit import Emitter
from .failure import exit_code
from .run import render
from .warm import Warm


def _listen_for_cancel(cancel: threading.Event) -> None:
    # End of input is no reason to stop: a queue may start the worker with stdin closed.
    for line in sys.stdin:
        message = ev.decode(line)
        if (message or {}).get("op") == "cancel" or line.strip() == "cancel":
            cancel.set()


def run_job(path: str, emit: Emitter) -> int:
    emit(ev.ACCEPTED, pid=os.getpid(), version=__version__, protocol=ev.PROTOCOL_VERSION,
         job=path)
    try:
        job = load_job(path)
        settings = job.render_settings()
    except JobError as exc:
        fields = exc.to_dict()
        emit(ev.ERROR, **fields)
        emit(ev.RESULT, ok=False, code=fields["code"], error=fields["message"])
        return exit_code(fields)
    cancel = threading.Event()
    threading.Thread(target=_listen_for_cancel, args=(cancel,), daemon=True).start()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, frame: cancel.set())
    warm = Warm()
    try:
        return render(settings, warm, emit, cancel, name=job.name)
    finally:
        warm.close()
