"""``WorkerClient``: a host's handle on a worker process (one job, or ``--serve``).

The host names the runtime's Python explicitly (inside Blender or Nuke ``sys.executable`` is
the host itself, which has no torch). Stdout (events) and stderr (logs, tracebacks) are each
read by a thread of their own, so a chatty stderr can never fill its pipe and hang the worker;
the last lines of stderr are kept for error messages. Every wait has a timeout. ``cancel()``
writes a request on stdin, which works the same on every OS (a signal does not reach a
Windows process as a clean stop).
"""
from __future__ import annotations

import collections
import itertools
import os
import queue
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from . import events as ev
from .errors import MemmatteError, WorkerError, WorkerTimeout, from_event

_EOF: dict[str, Any] = {}  # the reader's end marker (compared by identity)


class WorkerClient:
    """Start with ``WorkerClient.job(python, path)`` or ``WorkerClient.serve(python)``.

    Example (serve mode, a host asking for frame 1047 on demand)::

        with WorkerClient.serve("/opt/memmatte-runtime/bin/python") as worker:
            event = worker.render_frame(settings_dict, 1047, timeout=120)
            load_exr(event["path"])
    """

    def __init__(self, python: str | Path, args: Sequence[str],
                 env: Mapping[str, str] | None = None, cwd: str | Path | None = None,
                 stderr_lines: int = 200) -> None:
        if not str(python):
            raise MemmatteError("the runtime's Python must be given (a host's own "
                                "interpreter has no memmatte runtime)", option="python")
        self.args = [str(python), "-m", "memmatte.worker", *args]
        try:
            self.proc = subprocess.Popen(
                self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True, encoding="utf-8", errors="replace",
                bufsize=1, env=None if env is None else dict(env), cwd=cwd)
        except OSError as exc:
            raise WorkerError(f"cannot start the worker ({exc.strerror})",
                              path=str(python)) from exc
        self._events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=stderr_lines)
        self._pending: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
        self._ids = itertools.count(1)
        self._write_lock = threading.Lock()
        self._ended = False
        threading.Thread(target=self._read_stdout, daemon=True,
                         name="memmatte-worker-events").start()
        threading.Thread(target=self._read_stderr, daemon=True,
                         name="memmatte-worker-stderr").start()

    # -- starting ---------------------------------------------------------------------------
    @classmethod
    def job(cls, python: str | Path, job_path: str | Path, **kw: Any) -> WorkerClient:
        return cls(python, [str(job_path)], **kw)

    @classmethod
    def serve(cls, python: str | Path, **kw: Any) -> WorkerClient:
        return cls(python, ["--serve"], **kw)

    @staticmethod
    def capabilities(python: str | Path, timeout: float = 120.0,
                     env: Mapping[str, str] | None = None) -> dict[str, Any]:
        """What a runtime Python offers (backends, devices, weights ids), or a WorkerError
        saying why it cannot run the worker (for a host's preferences panel)."""
        cmd = [str(python), "-m", "memmatte.worker", "--capabilities"]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  env=None if env is None else dict(env))
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise WorkerError(f"cannot run the worker: {exc}", path=str(python)) from exc
        for line in done.stdout.splitlines():
            msg = ev.decode(line)
            if msg and msg.get("event") == ev.CAPABILITIES:
                return msg
        tail = done.stderr.strip().splitlines()[-1:] or [f"exit code {done.returncode}"]
        raise WorkerError(f"not a memmatte runtime: {tail[0]}", path=str(python))

    # -- the pipes --------------------------------------------------------------------------
    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            msg = ev.decode(line)
            if msg is not None:
                self._events.put(msg)
        self._events.put(_EOF)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line.rstrip("\n"))

    def stderr_tail(self, lines: int = 20) -> str:
        return "\n".join(list(self._stderr)[-lines:])

    def _send(self, message: dict[str, Any]) -> bool:
        with self._write_lock:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write(ev.encode(message))
                self.proc.stdin.flush()
                return True
            except (OSError, ValueError):  # the worker has gone; its exit says why
                return False

    def _crashed(self) -> WorkerError:
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            code = None
        tail = self.stderr_tail(5)
        return WorkerError(f"the worker exited (code {code}) before answering"
                           + (f"; its last words:\n{tail}" if tail else ""),
                           path=self.args[0])

    def next_event(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The next event from the worker; None once it has exited."""
        if self._ended:
            return None
        try:
            msg = self._events.get(timeout=timeout)
        except queue.Empty:
            raise WorkerTimeout(f"no event from the worker in {timeout} s",
                                path=self.args[0]) from None
        if msg is _EOF:
            self._ended = True
            return None
        return msg

    def events(self, timeout: float | None = None) -> Iterator[dict[str, Any]]:
        """A job's events up to and including ``result``. ``timeout``: most seconds between
        two events. A worker that dies first raises ``WorkerError`` with its stderr."""
        while True:
            msg = self.next_event(timeout)
            if msg is None:
                raise self._crashed()
            yield msg
            if msg.get("event") == ev.RESULT:
                return

    # -- serve mode -------------------------------------------------------------------------
    def request(self, op: str, **fields: Any) -> str:
        """Send a request; returns its id (read its events with ``answers``)."""
        if op not in ev.OPS:
            raise MemmatteError(f"unknown request {op!r}; valid: {', '.join(ev.OPS)}",
                                option="op")
        rid = str(next(self._ids))
        if not self._send({"id": rid, "op": op, **fields}):
            raise self._crashed()
        return rid

    def answers(self, rid: str, timeout: float | None = None) -> Iterator[dict[str, Any]]:
        """The events answering request ``rid``, up to and including its ``result``; events
        of other requests are kept for their own ``answers``."""
        while True:
            if self._pending.get(rid):
                msg = self._pending[rid].pop(0)
            else:
                got = self.next_event(timeout)
                if got is None:
                    raise self._crashed()
                if str(got.get("id")) != rid:
                    self._pending[str(got.get("id"))].append(got)
                    continue
                msg = got
            yield msg
            if msg.get("event") == ev.RESULT:
                self._pending.pop(rid, None)
                return

    def call(self, op: str, timeout: float | None = None, **fields: Any) -> list[dict[str, Any]]:
        """A request's events, waited for; an ``error`` answer is raised as MemmatteError."""
        got = list(self.answers(self.request(op, **fields), timeout))
        for msg in got:
            if msg.get("event") == ev.ERROR:
                raise from_event(msg)
        return got

    def render_frame(self, settings: Mapping[str, Any], frame: int,
                     timeout: float | None = None) -> dict[str, Any]:
        """One frame on demand: its ``frame`` event (computed) or ``skip`` event (its cache
        key matched a file on disk); either names the complete file in ``path``."""
        got = self.call("frame", timeout, settings=dict(settings), frame=frame)
        for msg in got:
            if msg.get("event") in (ev.FRAME, ev.SKIP) and msg.get("frame") == frame:
                return msg
        raise WorkerError(f"the worker answered without the frame: {got[-1]}", frame=frame)

    def probe(self, input: str, timeout: float | None = None, **fields: Any) -> dict[str, Any]:
        got = self.call("probe", timeout, input=input, **fields)
        return next(m for m in got if m.get("event") == ev.PROBE)

    # -- stopping ---------------------------------------------------------------------------
    def cancel(self, target: str | None = None) -> None:
        """Stop the running job or request after the frame in hand (files stay complete).
        If the worker no longer reads its input, it is terminated."""
        if not self._send({"op": "cancel", **({"target": target} if target else {})}):
            self.proc.terminate()

    def close(self, timeout: float = 30.0) -> int:
        """Shut the worker down (serve mode: a ``shutdown`` request); kill it if it does not
        exit within ``timeout``. Returns its exit code."""
        if self.proc.poll() is None:
            self._send({"id": "shutdown", "op": "shutdown"})
            with self._write_lock:
                try:
                    assert self.proc.stdin is not None
                    self.proc.stdin.close()
                except OSError:
                    pass
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def __enter__(self) -> WorkerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def runtime_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The host's environment without what would make the runtime's Python load the host's
    packages (Blender and Nuke set PYTHONPATH/PYTHONHOME for their own interpreter)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(extra or {})
    return env
