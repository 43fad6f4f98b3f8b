"""Bilinear resampling positions, as torch's ``F.interpolate`` (align_corners=False) computes
them, for the numpy side of both backends.

Two rules: resizing *to a size* (the guided filter's coefficients brought to plate size)
places output pixel d at (d + 0.5) * in / out - 0.5; resizing *by a scale factor* with
recompute_scale_factor=False (the plate brought to network size) uses 1 / scale in float32
instead of in / out, and floors size * scale for the output size.
"""
from __future__ import annotations

import numpy as np


def _taps(pos: np.ndarray, size_in: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pos = np.maximum(pos, 0)
    i0 = np.minimum(np.floor(pos).astype(np.int64), size_in - 1)
    i1 = np.minimum(i0 + 1, size_in - 1)
    return i0, i1, (pos - i0).astype(np.float32)


def taps_to_size(size_in: int, size_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source rows (i0, i1) and the weight of i1 for each of ``size_out`` output rows."""
    scale = np.float32(size_in) / np.float32(size_out)
    dst = np.arange(size_out, dtype=np.float32)
    return _taps(scale * (dst + np.float32(0.5)) - np.float32(0.5), size_in)


def scaled_size(size: int, ratio: float) -> int:
    return int(np.floor(size * float(np.float32(ratio))))


def taps_by_ratio(size_in: int, ratio: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """As ``taps_to_size`` for a resize by ``ratio`` (held as float32, as the graphs take it)."""
    inv = np.float32(1.0 / float(np.float32(ratio)))
    dst = np.arange(scaled_size(size_in, ratio), dtype=np.float32)
    return _taps(inv * (dst + np.float32(0.5)) - np.float32(0.5), size_in)


def downsample(rgb: np.ndarray, ratio: float) -> np.ndarray:
    """An HxWxC frame at network resolution (bilinear, no antialiasing: four taps per pixel,
    so the cost follows the small size, not the plate's). Ratio 1 returns the frame."""
    if not 0.0 < ratio <= 1.0:
        raise ValueError(f"downsample_ratio must be in (0, 1], got {ratio}")
    if ratio == 1.0:
        return rgb
    y0, y1, wy = taps_by_ratio(rgb.shape[0], ratio)
    x0, x1, wx = taps_by_ratio(rgb.shape[1], ratio)
    if y0.size == 0 or x0.size == 0:
        raise ValueError(f"downsample_ratio {ratio} leaves no pixel of a "
                         f"{rgb.shape[1]}x{rgb.shape[0]} frame")
    top, bottom = rgb[y0], rgb[y1]
    wx = wx[None, :, None]
    upper = top[:, x0] * (1 - wx) + top[:, x1] * wx
    lower = bottom[:, x0] * (1 - wx) + bottom[:, x1] * wx
    wy = wy[:, None, None]
    return (upper * (1 - wy) + lower * wy).astype(np.float32, copy=False)
