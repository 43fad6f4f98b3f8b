"""``python -m memmatte.worker --serve``: a warm worker answering requests on stdin.

One request runs at a time (they queue); ``cancel`` and ``shutdown`` are read while a
request runs, so a host can stop a long range at once. End of input is a shutdown: the host
has gone. Every event names the request it answers; a failed request leaves the worker
serving.
"""
from __future__ import annotations

import os
import queue
import sys
import threading
from typing import Any

from .. import __version__
from ..protocol import events as ev
from ..protocol.errors import JobError, MemmatteError
from ..protocol.settings import RenderSettings
from .capabilities import capabilities
from .emit import Emitter
from .failure import error_fields
from .probe import probe
from .run import render
from .warm import Warm

_SHUTDOWN: dict[str, Any] = {"op": "shutdown"}


class Server:
    def __init__(self, emit: Emitter) -> None:
        self.emit = emit
        self.warm = Warm()
        self.requests: queue.Queue[dict[str, Any]] = queue.Queue()
        self.cancel = threading.Event()
        self.running: str | None = None  # id of the request in hand

    def listen(self) -> None:
        """The stdin thread: cancels act at once, everything else queues."""
        for line in sys.stdin:
            message = ev.decode(line)
            if message is None:
                if line.strip():
                    self.emit(ev.ERROR, code="bad_job", message=f"not a JSON request: "
                              f"{line.strip()[:80]!r}")
                continue
            if message.get("op") == "cancel":
                target = message.get("target")
                if target is None or str(target) == self.running:
                    self.cancel.set()
                continue
            self.requests.put(message)
        self.requests.put(_SHUTDOWN)

    def serve(self) -> int:
        threading.Thread(target=self.listen, daemon=True, name="memmatte-requests").start()
        self.emit(ev.READY, pid=os.getpid(), version=__version__,
                  protocol=ev.PROTOCOL_VERSION, ops=list(ev.OPS))
        try:
            while True:
                message = self.requests.get()
                rid = str(message.get("id", ""))
                if message.get("op") == "shutdown":
                    self.emit(ev.RESULT, message.get("id"), ok=True)
                    return ev.EXIT_OK
                self.running = rid
                self.cancel.clear()
                self.emit(ev.ACCEPTED, rid, op=message.get("op"))
                try:
                    self.answer(rid, message)
                finally:
                    self.running = None
        finally:
            self.warm.close()

    def answer(self, rid: str, message: dict[str, Any]) -> None:
        op = message.get("op")
        try:
            if op == "capabilities":
                self.emit(ev.CAPABILITIES, rid, **capabilities())
            elif op == "probe":
                self.emit(ev.PROBE, rid, **probe(message))
            elif op in ("render", "frame"):
                settings = self._settings(message)
                render(settings, self.warm, self.emit, self.cancel, rid)
                return  # render sent its own result
            else:
                raise JobError(f"unknown op {op!r}; valid: {', '.join(ev.OPS)}", option="op")
        except Exception as exc:
            fields = error_fields(exc)
            self.emit(ev.ERROR, rid, **fields)
            self.emit(ev.RESULT, rid, ok=False, code=fields["code"], error=fields["message"])
            return
        self.emit(ev.RESULT, rid, ok=True)

    @staticmethod
    def _settings(message: dict[str, Any]) -> RenderSettings:
        data = message.get("settings")
        if not isinstance(data, dict):
            raise JobError("a render request needs 'settings': an object of render settings",
                           option="settings")
        data = dict(data)
        if message.get("op") == "frame":
            frame = message.get("frame")
            if not isinstance(frame, int) or isinstance(frame, bool):
                raise JobError(f"a frame request needs 'frame': a whole number, got {frame!r}",
                               option="frame")
            data["frames"] = str(frame)
            # On demand, a frame already on disk with a matching key is the answer.
            data.setdefault("resume", True)
        try:
            return RenderSettings.from_dict(data, f"request {message.get('id')}")
        except MemmatteError as exc:
            raise JobError(exc.detail, option=exc.option) from exc


def serve(emit: Emitter) -> int:
    return Server(emit).serve()
