"""Shot-cut detection between two neighbouring frames.

A pure function of the two frames, so every way of walking a sequence (sequential, chunks,
random access) sees the same cuts and gives the same pixels.
"""
from __future__ import annotations

import numpy as np

THUMB = (18, 32)  # rows, columns of the comparison thumbnail
DEFAULT_THRESHOLD = 0.18


def thumbnail(rgb: np.ndarray) -> np.ndarray:
    """Block-mean of a network-space frame to THUMB, as luma-ish grey."""
    h, w = rgb.shape[:2]
    rows = np.linspace(0, h, THUMB[0] + 1).astype(int)
    cols = np.linspace(0, w, THUMB[1] + 1).astype(int)
    grey = rgb.mean(axis=2, dtype=np.float64)
    # Cumulative sums give every block mean at once, whatever the frame size.
    c = np.pad(grey.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    r0, r1, c0, c1 = rows[:-1, None], rows[1:, None], cols[None, :-1], cols[None, 1:]
    area = np.maximum((r1 - r0) * (c1 - c0), 1)
    return ((c[r1, c1] - c[r0, c1] - c[r1, c0] + c[r0, c0]) / area).astype(np.float32)


def is_cut(previous: np.ndarray, current: np.ndarray,
           threshold: float = DEFAULT_THRESHOLD) -> bool:
    """True when the thumbnails differ by more than ``threshold`` on average ([0, 1] scale).

    Camera and subject motion move a 32x18 thumbnail little; a cut changes most of it.
    """
    return float(np.abs(previous - current).mean()) > threshold
