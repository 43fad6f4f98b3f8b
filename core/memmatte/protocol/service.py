"""What every interactive host keeps: one warm worker, and render requests read by a thread.

A host (Blender, Nuke) keeps one ``python -m memmatte.worker --serve`` process per runtime
Python while it runs (``WarmWorker``), so a second render does not load the model again. A
``RenderRequest`` sends one ``render`` request and folds its events, in a thread of its own,
into a ``Progress`` snapshot the host's UI polls or is told about (``changed``); the host's own
objects are never touched from that thread unless the host's ``changed`` says how.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from . import errors, events
from .client import WorkerClient, runtime_env

READY_TIMEOUT = 120.0  # seconds for a worker to start listening
EVENT_TIMEOUT = 900.0  # most seconds between two events of a request (a slow first frame)
ENV_PYTHON = "MEMMATTE_PYTHON"  # the runtime's Python where a host has no setting saved


class WarmWorker:
    """The worker process for one runtime Python; started on first use, restarted if it
    died. ``lock`` is held by whoever reads its events (one request at a time).
    ``no_python``: the host's words for where to set the runtime Python."""

    def __init__(self, no_python: str) -> None:
        self.no_python = no_python
        self.python = ""
        self.client: WorkerClient | None = None
        self.lock = threading.RLock()

    def worker(self, python: str) -> WorkerClient:
        """A listening worker (call with ``lock`` held; blocks while one starts)."""
        if not python:
            raise errors.WorkerError(self.no_python, option="python")
        client = self.client
        if client is not None and client.proc.poll() is None and python == self.python:
            return client
        self.stop()
        client = WorkerClient.serve(python, env=runtime_env())
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


@dataclass(frozen=True)
class Progress:
    """A request's state as the host shows it; ``total`` counts the frames to compute
    (frames reused by their cache key are in ``skipped``)."""

    state: str = "queued"  # queued, setup, running, done, cancelled, failed
    message: str = "waiting for the worker"
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
        """One line for a status bar or a node."""
        if self.state == "running":
            eta = f", {self.eta_s:.0f} s left" if self.eta_s is not None else ""
            return f"frame {self.done}/{self.total} ({self.fps:.1f} fps{eta})"
        return self.message


def advance(progress: Progress, msg: dict[str, Any]) -> Progress:
    """The snapshot after one event of the request.

    >>> advance(Progress(), {"event": "start", "total": 4}).line()
    'frame 0/4 (0.0 fps)'
    """
    kind = msg.get("event")
    if kind == events.SETUP:
        return replace(progress, state="setup", message=str(msg.get("message", msg.get("stage"))))
    if kind == events.START:
        return replace(progress, state="running", total=int(msg.get("total", 0)))
    if kind == events.SKIP:
        return replace(progress, skipped=(*progress.skipped, int(msg["frame"])))
    if kind == events.FRAME:
        return replace(progress, state="running", done=int(msg.get("done", 0)),
                       total=int(msg.get("total", 0)), fps=float(msg.get("fps") or 0.0),
                       eta_s=msg.get("eta_s"))
    if kind == events.ERROR:
        return replace(progress, error={k: v for k, v in msg.items()
                                        if k not in ("v", "event", "id")})
    if kind == events.RESULT:
        written = tuple(msg.get("written") or ())
        if msg.get("cancelled"):
            return replace(progress, state="cancelled", written=written,
                           message=f"cancelled after {len(written)} new frames")
        if msg.get("ok"):
            return replace(progress, state="done", written=written, done=progress.total,
                           message=f"done: {len(written)} computed, "
                                   f"{len(progress.skipped)} reused")
        why = (progress.error or {}).get("message") or msg.get("error")
        return replace(progress, state="failed", message=f"failed: {why}")
    return progress


class RenderRequest:
    """A ``render`` request on a ``WarmWorker``, read by a thread; ``progress`` is its
    snapshot. ``changed(progress, event)`` is called in that thread after every change
    (``event`` is None for changes that no event made)."""

    def __init__(self, service: WarmWorker, python: str, settings: dict[str, Any], *,
                 changed: Callable[[Progress, dict[str, Any] | None], None] | None = None,
                 name: str = "memmatte-render") -> None:
        self.service, self.python, self.settings = service, python, dict(settings)
        self.changed = changed
        self.progress = Progress()
        self.seconds = 0.0
        self._rid: str | None = None
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=name)
        self._thread.start()

    @property
    def cancelling(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        """Stop after the frame in hand (files on disk stay complete)."""
        self._cancel.set()
        client = self.service.client
        if self._rid is not None and client is not None:
            client.cancel(self._rid)

    def wait(self, timeout: float | None = None) -> Progress:
        self._thread.join(timeout)
        return self.progress

    def _set(self, progress: Progress, msg: dict[str, Any] | None = None) -> None:
        self.progress = progress
        if self.changed is not None:
            self.changed(progress, msg)

    def _answers(self) -> Iterator[dict[str, Any]]:
        with self.service.lock:
            client = self.service.worker(self.python)
            if self._cancel.is_set():
                return
            self._rid = client.request("render", settings=self.settings)
            if self._cancel.is_set():
                client.cancel(self._rid)
            yield from client.answers(self._rid, timeout=EVENT_TIMEOUT)

    def _run(self) -> None:
        started = time.monotonic()
        try:
            for msg in self._answers():
                after = advance(self.progress, msg)
                if after != self.progress or msg.get("event") == events.FRAME:
                    self._set(after, msg)
            if self._cancel.is_set() and self._rid is None:
                self._set(replace(self.progress, state="cancelled", message="cancelled"))
        except errors.MemmatteError as exc:
            self._set(replace(self.progress, state="failed", message=f"failed: {exc}",
                              error=exc.to_dict()))
        except Exception as exc:  # a bug: say so rather than leave the host "running"
            self._set(replace(self.progress, state="failed",
                              message=f"failed: {type(exc).__name__}: {exc}",
                              error={"code": errors.INTERNAL, "message": str(exc)}))
        finally:
            if not self.progress.finished:
                self._set(replace(self.progress, state="failed",
                                  message="failed: the worker stopped without a result"))
            self.seconds = time.monotonic() - started
