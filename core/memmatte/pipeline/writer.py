"""Writes finished frames in a worker thread so the next frame's compute can start."""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor


class BackgroundWriter:
    """At most ``pending`` writes in flight; the first error is raised on the next call."""

    def __init__(self, pending: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="memmatte-write")
        self._pending = pending
        self._futures: list[Future[None]] = []

    def _reap(self, keep: int) -> None:
        while len(self._futures) > keep:
            self._futures.pop(0).result()  # re-raises a failed write

    def submit(self, job: Callable[[], None]) -> None:
        self._reap(self._pending - 1)
        self._futures.append(self._pool.submit(job))

    def close(self) -> None:
        try:
            self._reap(0)
        finally:
            self._pool.shutdown(wait=True)
