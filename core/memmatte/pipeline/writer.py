"""Writes finished frames in a worker thread so the next frame's compute can start."""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor


class BackgroundWriter:
    """At most ``pending`` writes in flight; the first error is raised on the next call.

    Only the first: the writes already queued behind a failed one usually fail the same way
    (a full disk), and ``close()`` in a ``finally`` must not hide the frame that failed first
    behind a later one's error.
    """

    def __init__(self, pending: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="memmatte-write")
        self._pending = pending
        self._futures: list[Future[None]] = []
        self._raised = False

    def _reap(self, keep: int) -> None:
        while len(self._futures) > keep:
            future = self._futures.pop(0)
            try:
                future.result()  # re-raises a failed write
            except BaseException:
                if not self._raised:
                    self._raised = True
                    raise

    def submit(self, job: Callable[[], None]) -> None:
        self._reap(self._pending - 1)
        self._futures.append(self._pool.submit(job))

    def close(self) -> None:
        try:
            self._reap(0)
        finally:
            self._pool.shutdown(wait=True)
