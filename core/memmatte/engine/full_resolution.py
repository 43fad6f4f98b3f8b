"""The full-resolution pass of both backends: foreground and alpha at plate size from the
Deep Guided Filter's coefficients (A, b) at network size.

Per pixel fgr = clamp((A + 1) * src + b) and alpha = clamp(A * grey + b), with A and b
bilinearly upsampled (F.interpolate, align_corners=False). The work is memory-bound (the
plate read once, fgr and alpha written once), so the loop is the C extension ``_full_res``:
the upsampled A and b never exist at plate size, only the two network rows a plate row lies
between, resampled across to plate width. At ratio 1 a backend passes A = 0 and b = the
network's output (sizes equal): the same pass, its taps then the identity.

Threads split the plate into bands of rows; the extension releases the GIL. Results are new
arrays unless a previous result is no longer referenced anywhere: then its memory is written
again (fresh plate-sized pages cost the kernel's zeroing and a fault per page).
"""
from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .resample import taps_to_size

try:
    from . import _full_res
except ImportError as exc:  # a source tree on sys.path that no install has built
    raise ImportError(
        "memmatte's C extension memmatte.engine._full_res is not built: install memmatte "
        "with pip (pip install -e . in a checkout), which compiles it; that needs a C "
        "compiler and Python's headers (README, Installing)") from exc

# Pixels below which one thread does the whole frame: handing a band to a thread costs tens
# of microseconds, the loop about a nanosecond a pixel.
THREADED_PIXELS = 65536
# Results kept for reuse: one being written by the pipeline's writer, one being made, and one
# spare (4K: 166 MB each).
KEPT_RESULTS = 3


@dataclass(frozen=True)
class _Plan:
    """Everything that depends only on the sizes: the taps and the bands of plate rows."""

    height: int
    width: int
    h: int
    w: int
    taps: tuple[np.ndarray, ...]  # x0, x1, wx, y0, y1, wy
    bands: list[tuple[int, int]]

    @classmethod
    def make(cls, height: int, width: int, h: int, w: int, threads: int) -> _Plan:
        x0, x1, wx = taps_to_size(w, width)
        y0, y1, wy = taps_to_size(h, height)
        taps = tuple(np.ascontiguousarray(t, np.int32 if k % 3 < 2 else np.float32)
                     for k, t in enumerate((x0, x1, wx, y0, y1, wy)))
        n = threads if height * width >= THREADED_PIXELS else 1
        cuts = np.linspace(0, height, min(n, height) + 1).round().astype(int)
        return cls(height, width, h, w, taps, list(zip(cuts[:-1].tolist(), cuts[1:].tolist())))


class FullResolutionPass:
    """``pass_(rgb, a, b)`` -> (fgr HxWx3, alpha HxW). A result is the caller's for as long as
    anything references it (a writer thread may still hold the previous frame's); the taps and
    bands are reused while the sizes stay the same.

    >>> fr = FullResolutionPass(threads=2)
    >>> fgr, pha = fr(np.zeros((8, 8, 3), np.float32), np.zeros((4, 2, 2), np.float32),
    ...               np.full((4, 2, 2), 0.5, np.float32))
    >>> float(fgr.max()), float(pha.min())
    (0.5, 0.5)
    """

    def __init__(self, threads: int = 1) -> None:
        self.threads = max(1, threads)
        self._plan: _Plan | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._kept: list[tuple[np.ndarray, np.ndarray]] = []

    def set_threads(self, threads: int) -> None:
        threads = max(1, threads)
        if threads != self.threads:
            self.threads, self._plan = threads, None
            if self._pool is not None:
                self._pool.shutdown()
                self._pool = None

    def __call__(self, rgb: np.ndarray, a: np.ndarray, b: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"plate: expected an HxWx3 array, got shape {rgb.shape}")
        if a.ndim != 3 or a.shape[0] != 4 or b.shape != a.shape:
            raise ValueError(f"coefficients: expected A and b of shape (4, h, w), got "
                             f"{a.shape} and {b.shape}")
        height, width = rgb.shape[:2]
        h, w = a.shape[1:]
        plan = self._plan
        if plan is None or (plan.height, plan.width, plan.h, plan.w) != (height, width, h, w):
            plan = self._plan = _Plan.make(height, width, h, w, self.threads)
            self._kept.clear()
        rgb, a, b = (np.ascontiguousarray(x, np.float32) for x in (rgb, a, b))
        fgr, pha = self._result(height, width)

        def band(r0: int, r1: int) -> None:
            _full_res.apply(rgb, fgr, pha, a, b, *plan.taps, height, width, h, w, r0, r1)

        if len(plan.bands) == 1:
            band(*plan.bands[0])
        else:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads,
                                                thread_name_prefix="memmatte-full-res")
            for done in [self._pool.submit(band, *rows) for rows in plan.bands]:
                done.result()
        return fgr, pha

    def _result(self, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        """A kept pair nothing else references (the references counted are the kept tuple's,
        the loop's and getrefcount's own), or a new one; returned as a new tuple, so a caller
        holding the tuple holds the arrays."""
        for pair in self._kept:
            if all(sys.getrefcount(x) == 3 for x in pair):
                return pair[0], pair[1]
        pair = (np.empty((height, width, 3), np.float32), np.empty((height, width), np.float32))
        if len(self._kept) < KEPT_RESULTS:
            self._kept.append(pair)
        return pair[0], pair[1]
