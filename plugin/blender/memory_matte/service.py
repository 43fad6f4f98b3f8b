"""The warm worker this Blender session talks to, and computations running on it.

One worker process (``python -m memmatte.worker --serve`` in the runtime's Python) is kept
while Blender runs, so a second compute, or a render asking frame after frame, does not load
the model again. A ``Computation`` reads its request's events in a thread of its own and keeps
a snapshot the UI polls from a timer: Blender's main thread never waits on the worker.
Nothing here touches ``bpy`` data (threads must not); the operators and handlers do.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

from .mm import errors, events, protocol

READY_TIMEOUT = 120.0  # seconds for a worker to start listening
EVENT_TIMEOUT = 900.0  # most seconds between two events of a request (a slow first frame)
ENV_PYTHON = "MEMMATTE_PYTHON"  # the runtime's Python where no preferences are saved (farms)


class Service:
    """The worker process for one runtime Python; started on first use, restarted if it
    died. ``lock`` is held by whoever reads its events (one request at a time)."""

    def __init__(self) -> None:
        self.python = ""
        self.client: Any = None
        self.lock = threading.RLock()

    def worker(self, python: str) -> Any:
        """A listening worker (call with ``lock`` held; blocks while one starts)."""
        if not python:
            raise errors.WorkerError(
                "no runtime Python is set: open Preferences > Add-ons > Memory Matte (or set "
                f"${ENV_PYTHON}); installers/blender/setup_runtime.py makes one",
                option="python")
        alive = self.client is not None and self.client.proc.poll() is None
        if alive and python == self.python:
            return self.client
        self.stop()
        client = protocol.WorkerClient.serve(python, env=protocol.runtime_env())
        ready = client.next_event(timeout=READY_TIMEOUT)
        if ready is None or ready.get("event") != events.READY:
            tail = client.stderr_tail(5)
            client.close(timeout=5)
            raise errors.WorkerError("the runtime did not start a memmatte worker"
                                     + (f": {tail}" if tail else ""), path=python)
        self.client, self.python = client, python
        return client

    def render_frame(self, python: str, settings: dict[str, Any], frame: int) -> dict[str, Any]:
        """One frame on demand, waited for: its ``frame`` or ``skip`` event."""
        with self.lock:
            return dict(self.worker(python).render_frame(settings, frame,
                                                          timeout=EVENT_TIMEOUT))

    def stop(self) -> None:
        with self.lock:
            if self.client is not None:
                self.client.close(timeout=10)
                self.client = None


SERVICE = Service()


def runtime_python(preferences: Any) -> str:
    path = getattr(preferences, "python", "") if preferences is not None else ""
    return os.path.expanduser(path) if path else os.environ.get(ENV_PYTHON, "")


@dataclass(frozen=True)
class Progress:
    state: str = "starting"  # starting, setup, running, done, cancelled, failed
    message: str = "starting the worker"
    done: int = 0
    total: int = 0
    fps: float = 0.0
    eta_s: float | None = None
    written: tuple[int, ...] = ()
    skipped: tuple[int, ...] = ()
    error: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.state in ("done", "cancelled", "failed")

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0

    def line(self) -> str:
        """One line for the status bar and the node."""
        if self.state == "running":
            eta = f", {self.eta_s:.0f} s left" if self.eta_s is not None else ""
            return f"Memory Matte: frame {self.done}/{self.total} ({self.fps:.1f} fps{eta})"
        return f"Memory Matte: {self.message}"


class Computation:
    """A render request on the service, read by a thread; ``progress`` is its snapshot."""

    def __init__(self, python: str, settings: dict[str, Any], service: Service = SERVICE):
        self.python, self.settings, self.service = python, dict(settings), service
        self.progress = Progress()
        self._rid: str | None = None
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="memory-matte-compute")
        self._thread.start()

    def cancel(self) -> None:
        """Stop after the frame in hand (files on disk stay complete)."""
        self._cancel.set()
        client = self.service.client
        if self._rid is not None and client is not None:
            client.cancel(self._rid)

    def wait(self, timeout: float | None = None) -> Progress:
        self._thread.join(timeout)
        return self.progress

    def _set(self, **changes: Any) -> None:
        self.progress = replace(self.progress, **changes)

    def _run(self) -> None:
        started = time.monotonic()
        try:
            with self.service.lock:
                client = self.service.worker(self.python)
                if self._cancel.is_set():
                    self._set(state="cancelled", message="cancelled")
                    return
                self._rid = client.request("render", settings=self.settings)
                if self._cancel.is_set():
                    client.cancel(self._rid)
                for msg in client.answers(self._rid, timeout=EVENT_TIMEOUT):
                    self._event(msg)
        except errors.MemmatteError as exc:
            self._set(state="failed", message=str(exc), error=exc.to_dict())
        except Exception as exc:  # a bug: say so rather than hang the UI's timer
            self._set(state="failed", message=f"{type(exc).__name__}: {exc}",
                      error={"code": errors.INTERNAL, "message": str(exc)})
        finally:
            if not self.progress.finished:
                self._set(state="failed", message="the worker stopped without a result")
            self.seconds = time.monotonic() - started

    def _event(self, msg: dict[str, Any]) -> None:
        kind = msg.get("event")
        if kind == events.SETUP:
            self._set(state="setup", message=str(msg.get("message", msg.get("stage"))))
        elif kind == events.START:
            self._set(state="running", total=int(msg.get("total", 0)))
        elif kind == events.SKIP:
            self._set(skipped=(*self.progress.skipped, int(msg["frame"])))
        elif kind == events.FRAME:
            self._set(state="running", done=int(msg.get("done", 0)),
                      total=int(msg.get("total", 0)), fps=float(msg.get("fps") or 0.0),
                      eta_s=msg.get("eta_s"))
        elif kind == events.ERROR:
            self._set(error={k: v for k, v in msg.items() if k not in ("v", "event", "id")})
        elif kind == events.RESULT:
            written = tuple(msg.get("written") or ())
            if msg.get("cancelled"):
                self._set(state="cancelled", written=written,
                          message=f"cancelled after {len(written)} frames")
            elif msg.get("ok"):
                self._set(state="done", written=written, done=self.progress.total,
                          message=f"done: {len(written)} computed, "
                                  f"{len(self.progress.skipped)} reused")
            else:
                text = (self.progress.error or {}).get("message") or msg.get("error")
                self._set(state="failed", message=f"failed: {text}")


RUNNING: dict[str, Computation] = {}  # node key ("tree/node") -> its latest computation
