"""The warm worker this Nuke session talks to, and the jobs running on it.

One ``python -m memmatte.worker --serve`` process per runtime Python is kept while Nuke runs,
so a second Process does not load the model again. A ``Job`` reads its request's events in a
thread of its own: it updates a ``nuke.ProgressTask`` (made for threads) and keeps a snapshot
(``Progress``) the node and the panel show. Everything else it does to Nuke goes through
``nuke.executeInMainThread``; Nuke's objects are never touched from the thread. The worker and
the event folding are memmatte.protocol's (``service``), shared with every host.
"""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

import nuke
from memmatte.protocol import events
from memmatte.protocol.service import ENV_PYTHON, Progress, RenderRequest, WarmWorker

POLL = 0.2  # seconds between looks at the ProgressTask's cancel button

__all__ = ["ENV_PYTHON", "JOBS", "SERVICE", "Job", "Listener", "Progress", "runtime_python"]

SERVICE = WarmWorker(
    "no runtime Python: set the node's 'runtime python' knob or $"
    f"{ENV_PYTHON} to a Python with memmatte and torch (or onnxruntime)")

# Called in the main thread (through executeInMainThread) with the node's full name and the
# snapshot: the node module shows it in the knobs and, at the end, reloads the result.
Listener = Callable[[str, Progress], None]


class Job(RenderRequest):
    """A render request on the service for one node, read by a thread."""

    def __init__(self, node_name: str, python: str, settings: dict[str, Any],
                 listener: Listener, service: WarmWorker = SERVICE) -> None:
        self.node_name, self.listener = node_name, listener
        self._task: Any = None
        super().__init__(service, python, settings, changed=self._changed,
                         name=f"memmatte-{node_name}")

    def _run(self) -> None:
        self._task = nuke.ProgressTask(f"MemoryMatte {self.node_name}")
        self._task.setMessage("starting the worker")
        threading.Thread(target=self._watch, daemon=True).start()
        try:
            super()._run()
        finally:
            self._task = None  # closes the progress bar

    def _watch(self) -> None:
        """The ProgressTask's cancel button, looked at while the request runs."""
        while not self.progress.finished:
            task = self._task
            if task is not None and task.isCancelled() and not self.cancelling:
                self.cancel()
            del task
            time.sleep(POLL)

    def _changed(self, progress: Progress, msg: dict[str, Any] | None) -> None:
        kind = (msg or {}).get("event")
        task = self._task
        if task is not None and kind == events.SETUP:
            task.setMessage(progress.message)
        elif task is not None and kind == events.FRAME:
            task.setProgress(int(100 * progress.fraction))
            task.setMessage(progress.line())
        nuke.executeInMainThread(self.listener, args=(self.node_name, progress))


JOBS: dict[str, Job] = {}  # node full name -> its latest job


def runtime_python(knob_value: str) -> str:
    path = knob_value.strip()
    return os.path.expanduser(path) if path else os.environ.get(ENV_PYTHON, "")
