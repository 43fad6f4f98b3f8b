"""The warm worker this Nuke session talks to, and the jobs running on it.

One ``python -m memmatte.worker --serve`` process per runtime Python is kept while Nuke runs,
so a second Process does not load the model again. A ``Job`` reads its request's events in a
thread of its own: it updates a ``nuke.ProgressTask`` (made for threads) and keeps a snapshot
(``Progress``) the node and the panel show. Everything else it does to Nuke goes through
``nuke.executeInMainThread``; Nuke's objects are never touched from the thread.
"""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import nuke
from memmatte.protocol import WorkerClient, errors, events, runtime_env

READY_TIMEOUT = 120.0  # seconds for a worker to start listening
EVENT_TIMEOUT = 900.0  # most seconds between two events (a slow first frame)
POLL = 0.2  # seconds between looks at the ProgressTask's cancel button
ENV_PYTHON = "MEMMATTE_PYTHON"


class Service:
    """The worker for one runtime Python; started on first use, restarted if it died."""

    def __init__(self) -> None:
        self.python = ""
        self.client: WorkerClient | None = None
        self.lock = threading.RLock()  # held by whoever reads the worker's events

    def worker(self, python: str) -> WorkerClient:
        if not python:
            raise errors.WorkerError(
                "no runtime Python: set the node's 'runtime python' knob or $"
                f"{ENV_PYTHON} to a Python with memmatte and torch (or onnxruntime)",
                option="python")
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

    def stop(self) -> None:
        with self.lock:
            if self.client is not None:
                self.client.close(timeout=10)
                self.client = None


SERVICE = Service()


@dataclass(frozen=True)
class Progress:
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
        if self.state == "running":
            eta = f", {self.eta_s:.0f} s left" if self.eta_s is not None else ""
            return f"frame {self.done}/{self.total} ({self.fps:.1f} fps{eta})"
        return self.message


# Called in the main thread (through executeInMainThread) with the node's full name and the
# snapshot: the node module shows it in the knobs and, at the end, reloads the result.
Listener = Callable[[str, Progress], None]


class Job:
    """A render request on the service for one node, read by a thread."""

    def __init__(self, node_name: str, python: str, settings: dict[str, Any],
                 listener: Listener, service: Service = SERVICE) -> None:
        self.node_name, self.python = node_name, python
        self.settings = dict(settings)
        self.listener, self.service = listener, service
        self.progress = Progress()
        self.seconds = 0.0
        self._rid: str | None = None
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"memmatte-{node_name}")
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
        nuke.executeInMainThread(self.listener, args=(self.node_name, self.progress))

    def _run(self) -> None:
        started = time.monotonic()
        task = nuke.ProgressTask(f"MemoryMatte {self.node_name}")
        task.setMessage("starting the worker")
        try:
            with self.service.lock:
                client = self.service.worker(self.python)
                if self._cancel.is_set():
                    self._set(state="cancelled", message="cancelled")
                    return
                self._rid = client.request("render", settings=self.settings)
                answers = client.answers(self._rid, timeout=EVENT_TIMEOUT)
                watcher = threading.Thread(target=self._watch, args=(task,), daemon=True)
                watcher.start()
                for msg in answers:
                    self._event(msg, task)
        except errors.MemmatteError as exc:
            self._set(state="failed", message=f"failed: {exc}", error=exc.to_dict())
        except Exception as exc:  # a bug: say so rather than leave the node "running"
            self._set(state="failed", message=f"failed: {type(exc).__name__}: {exc}",
                      error={"code": errors.INTERNAL, "message": str(exc)})
        finally:
            if not self.progress.finished:
                self._set(state="failed", message="failed: the worker stopped without a "
                          "result")
            self.seconds = time.monotonic() - started
            del task  # closes the progress bar

    def _watch(self, task: Any) -> None:
        """The ProgressTask's cancel button, looked at while the request runs."""
        while not self.progress.finished:
            if task.isCancelled() and not self._cancel.is_set():
                self.cancel()
            time.sleep(POLL)

    def _event(self, msg: dict[str, Any], task: Any) -> None:
        kind = msg.get("event")
        if kind == events.SETUP:
            text = str(msg.get("message", msg.get("stage")))
            task.setMessage(text)
            self._set(state="setup", message=text)
        elif kind == events.START:
            self._set(state="running", total=int(msg.get("total", 0)))
        elif kind == events.SKIP:
            # Reused by its cache key; "total" counts the frames to compute only.
            self._set(skipped=(*self.progress.skipped, int(msg["frame"])))
        elif kind == events.FRAME:
            self._set(state="running", done=int(msg.get("done", 0)),
                      total=int(msg.get("total", 0)),
                      fps=float(msg.get("fps") or 0.0), eta_s=msg.get("eta_s"))
            self._show(task)
        elif kind == events.ERROR:
            self._set(error={k: v for k, v in msg.items() if k not in ("v", "event", "id")})
        elif kind == events.RESULT:
            written = tuple(msg.get("written") or ())
            if msg.get("cancelled"):
                self._set(state="cancelled", written=written,
                          message=f"cancelled after {len(written)} new frames")
            elif msg.get("ok"):
                self._set(state="done", written=written, done=self.progress.total,
                          message=f"done: {len(written)} computed, "
                                  f"{len(self.progress.skipped)} reused")
            else:
                why = (self.progress.error or {}).get("message") or msg.get("error")
                self._set(state="failed", message=f"failed: {why}")

    def _show(self, task: Any) -> None:
        p = self.progress
        task.setProgress(int(100 * p.fraction))
        task.setMessage(p.line())


JOBS: dict[str, Job] = {}  # node full name -> its latest job


def runtime_python(knob_value: str) -> str:
    path = knob_value.strip()
    return os.path.expanduser(path) if path else os.environ.get(ENV_PYTHON, "")
