"""Reads plate frames ahead of the compute in a worker thread, and keeps them until released.

Reading (and the colour transform) overlaps the network's work on the previous frame; the
lookahead is bounded so a 4K sequence never piles up in memory.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..io import Plate


@dataclass
class Loaded:
    plate: Plate
    rgb: np.ndarray  # plate-space RGB, HxWx3 float32 (plate.rgb(), taken once)
    network: np.ndarray  # network-space RGB, HxWx3 float32 in [0, 1]


class Prefetcher:
    def __init__(self, plan: list[int], read: Callable[[int], Loaded], lookahead: int = 3) -> None:
        self.plan = plan
        self._read = read
        self._lookahead = lookahead
        self._frames: dict[int, Loaded] = {}
        self._errors: dict[int, BaseException] = {}
        self._cond = threading.Condition()
        self._position = 0  # index in plan of the frame the consumer waits for
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="memmatte-read", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for i, frame in enumerate(self.plan):
            with self._cond:
                self._cond.wait_for(lambda: self._stop or i <= self._position + self._lookahead)
                if self._stop:
                    return
                if frame in self._frames:
                    continue
            try:
                loaded = self._read(frame)
            except BaseException as exc:  # handed to the consumer, who raises it
                with self._cond:
                    self._errors[frame] = exc
                    self._cond.notify_all()
                return
            with self._cond:
                self._frames[frame] = loaded
                self._cond.notify_all()

    def get(self, frame: int) -> Loaded:
        """The frame, waiting for the reader if it is on its way, reading it here if not."""
        with self._cond:
            if frame in self.plan:
                self._position = max(self._position, self.plan.index(frame))
                self._cond.notify_all()
            while True:
                if frame in self._frames:
                    return self._frames[frame]
                if frame in self._errors:
                    raise self._errors[frame]
                if not self._thread.is_alive() or frame not in self.plan:
                    break
                self._cond.wait(0.5)
        loaded = self._read(frame)
        with self._cond:
            self._frames[frame] = loaded
        return loaded

    def network(self, frame: int) -> np.ndarray:
        return self.get(frame).network

    def release_before(self, frame: int) -> None:
        """Forget frames the window no longer needs (older than ``frame``)."""
        with self._cond:
            for f in [f for f in self._frames if f < frame]:
                del self._frames[f]

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(timeout=10)
