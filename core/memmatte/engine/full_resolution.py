"""The full-resolution pass of both backends: foreground and alpha at plate size from the
Deep Guided Filter's coefficients (A, b) at network size, in numpy.

Per pixel fgr = clamp((A + 1) * src + b) and alpha = clamp(A * grey + b), with A and b
bilinearly upsampled (F.interpolate, align_corners=False). The upsampled A and b never exist
at plate size: they are resampled across at network height (h x W) once, and each run of
plate rows lying between the same two network rows (about H / h rows) takes its coefficient
rows from those two, in buffers that stay in cache. The plate is read once and the result
written once; everything else is cache traffic. The foreground's "+ 1" and the grey's 1/3
are folded into A at network height. At ratio 1 a backend passes A = 0 and b = the network's
output (sizes equal): the same pass, with no interpolation.

Threads split the plate into bands of rows (numpy releases the GIL inside its loops).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .resample import taps_to_size

# Plate rows per strip when the sizes are equal (no runs to follow): about 1 MB of buffers.
DIRECT_ROWS = 16
# Pixels per strip below which strips run on one thread: each numpy call is then a few
# microseconds, and two threads passing the GIL back and forth are slower than one
# (measured: HD at ratio 0.25, 4-row strips, 38 ms on one thread, 56 on two).
THREADED_STRIP_PIXELS = 16384


@dataclass
class _Strip:
    r0: int
    r1: int
    low: int  # the network row above (interpolated strips) or -1 (rows taken directly)
    weights: np.ndarray  # the lower row's weight per plate row, (rows, 1)


class _Plan:
    """Everything that depends only on the sizes: taps, strips and reusable buffers."""

    def __init__(self, height: int, width: int, h: int, w: int, threads: int) -> None:
        self.height, self.width, self.h, self.w = height, width, h, w
        x0, x1, wx = taps_to_size(w, width)
        channel = np.arange(3)
        self.x0_rgb = (x0[:, None] * 3 + channel).ravel()
        self.x1_rgb = (x1[:, None] * 3 + channel).ravel()
        self.wx_rgb = np.repeat(wx, 3)[None]
        self.x0, self.x1, self.wx = x0, x1, wx[None]
        self.direct = h == height
        self.strips = self._strips()
        # Coefficient rows at network height and plate width: A + 1 and b for the colour
        # (interleaved like the plate), A / 3 and b for alpha; then their row differences.
        self.rows = {k: np.empty((h, width * (3 if k[0] == "f" else 1)), np.float32)
                     for k in ("fa", "fb", "pa", "pb")}
        self.step = {k: np.empty_like(v) for k, v in self.rows.items()}
        self.deltas = {k: np.zeros((max(h - 1, 1), v.shape[1]), np.float32)
                       for k, v in self.rows.items()}
        strip_rows = max(s.r1 - s.r0 for s in self.strips)
        self.bands = _bands(self.strips,
                            threads if strip_rows * width >= THREADED_STRIP_PIXELS else 1)
        self.scratch = [_Scratch(strip_rows, width) for _ in self.bands]
        self.low_bands = np.array_split(np.arange(h), max(1, min(threads, h)))

    def _strips(self) -> list[_Strip]:
        if self.direct:
            return [_Strip(r, min(r + DIRECT_ROWS, self.height), -1, np.zeros((0, 1)))
                    for r in range(0, self.height, DIRECT_ROWS)]
        y0, y1, wy = taps_to_size(self.h, self.height)
        cuts = [0] + [r for r in range(1, self.height) if y0[r] != y0[r - 1]] + [self.height]
        strips = []
        for r0, r1 in zip(cuts[:-1], cuts[1:]):
            weights = wy[r0:r1] if y1[r0] != y0[r0] else np.zeros(r1 - r0, np.float32)
            strips.append(_Strip(r0, r1, int(y0[r0]), weights[:, None].astype(np.float32)))
        return strips


class _Scratch:
    def __init__(self, rows: int, width: int) -> None:
        self.fa = np.empty((rows, width * 3), np.float32)
        self.fb = np.empty((rows, width * 3), np.float32)
        self.pa = np.empty((rows, width), np.float32)
        self.pb = np.empty((rows, width), np.float32)
        self.grey = np.empty((rows, width), np.float32)


def _bands(strips: list[_Strip], threads: int) -> list[list[_Strip]]:
    """Consecutive strips in ``threads`` groups of about equal rows."""
    total = strips[-1].r1
    bands: list[list[_Strip]] = [[] for _ in range(max(1, min(threads, len(strips))))]
    for s in strips:
        bands[min(len(bands) - 1, s.r0 * len(bands) // total)].append(s)
    return [b for b in bands if b]


class FullResolutionPass:
    """``pass_(rgb, a, b)`` -> (fgr HxWx3, alpha HxW), new arrays each call (they outlive it:
    a writer thread may still hold the previous frame's); every other buffer is reused while
    the sizes stay the same.

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

    def set_threads(self, threads: int) -> None:
        threads = max(1, threads)
        if threads != self.threads:
            self.threads, self._plan = threads, None
            if self._pool is not None:
                self._pool.shutdown()
                self._pool = None

    def _map(self, fn, items) -> None:  # type: ignore[no-untyped-def]
        if len(items) == 1:
            fn(*items[0])
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="memmatte-full-res")
        for done in [self._pool.submit(fn, *item) for item in items]:
            done.result()

    def __call__(self, rgb: np.ndarray, a: np.ndarray, b: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
        height, width = rgb.shape[:2]
        h, w = a.shape[1:]
        if a.shape[0] != 4 or b.shape != a.shape:
            raise ValueError(f"coefficients: expected A and b of shape (4, h, w), got "
                             f"{a.shape} and {b.shape}")
        plan = self._plan
        if plan is None or (plan.height, plan.width, plan.h, plan.w) != (height, width, h, w):
            plan = self._plan = _Plan(height, width, h, w, self.threads)
        rgb = np.ascontiguousarray(rgb, np.float32)
        low = {"fa": (a[:3] + np.float32(1)).transpose(1, 2, 0).reshape(h, w * 3),
               "fb": np.ascontiguousarray(b[:3].transpose(1, 2, 0)).reshape(h, w * 3),
               "pa": a[3] * np.float32(1 / 3), "pb": np.ascontiguousarray(b[3])}
        if w == width:  # nothing to resample across: the network's rows are the rows
            rows = {k: np.ascontiguousarray(v) for k, v in low.items()}
        else:
            self._map(lambda part: _across(plan, low, part), [(r,) for r in plan.low_bands])
            rows = plan.rows
        fgr = np.empty((height, width, 3), np.float32)
        pha = np.empty((height, width), np.float32)
        self._map(lambda band, scratch: _strips(plan, rows, rgb, fgr, pha, band, scratch),
                  list(zip(plan.bands, plan.scratch)))
        return fgr, pha


def _across(plan: _Plan, low: dict[str, np.ndarray], rows: np.ndarray) -> None:
    """Resample network rows ``rows`` to plate width (their differences follow in
    ``_strips``, once every row is there)."""
    if rows.size == 0:
        return
    r0, r1 = int(rows[0]), int(rows[-1]) + 1
    for key, src in low.items():
        out = plan.rows[key][r0:r1]
        rgb = key[0] == "f"
        i0, i1, wx = ((plan.x0_rgb, plan.x1_rgb, plan.wx_rgb) if rgb
                      else (plan.x0, plan.x1, plan.wx))
        part = np.ascontiguousarray(src[r0:r1])
        np.take(part, i0, axis=1, out=out)
        step = np.take(part, i1, axis=1, out=plan.step[key][r0:r1])
        step -= out
        step *= wx
        out += step


def _strips(plan: _Plan, rows: dict[str, np.ndarray], rgb: np.ndarray, fgr: np.ndarray,
            pha: np.ndarray, band: list[_Strip], scratch: _Scratch) -> None:
    width = plan.width
    deltas = plan.deltas
    if not plan.direct:
        # The row differences this band reads (rows of the other bands are all written).
        lows = sorted({s.low for s in band if s.low < plan.h - 1})
        if lows:
            lo, hi = lows[0], lows[-1] + 1
            for key in rows:
                np.subtract(rows[key][lo + 1:hi + 1], rows[key][lo:hi], out=deltas[key][lo:hi])
    for s in band:
        k = s.r1 - s.r0
        x = rgb[s.r0:s.r1].reshape(k, width * 3)
        if s.low < 0:
            fa, fb, pa, pb = (rows[key][s.r0:s.r1] for key in ("fa", "fb", "pa", "pb"))
        else:
            i, j = s.low, min(s.low, plan.h - 2) if plan.h > 1 else 0
            fa, fb, pa, pb = scratch.fa[:k], scratch.fb[:k], scratch.pa[:k], scratch.pb[:k]
            for out, key in ((fa, "fa"), (fb, "fb"), (pa, "pa"), (pb, "pb")):
                np.multiply(s.weights, deltas[key][j], out=out)
                out += rows[key][i]
        f = fgr[s.r0:s.r1].reshape(k, width * 3)
        np.multiply(fa, x, out=f)
        f += fb
        np.clip(f, 0.0, 1.0, out=f)
        x3 = x.reshape(k, width, 3)
        grey = np.add(x3[..., 0], x3[..., 1], out=scratch.grey[:k])
        grey += x3[..., 2]
        p = pha[s.r0:s.r1]
        np.multiply(pa, grey, out=p)
        p += pb
        np.clip(p, 0.0, 1.0, out=p)
