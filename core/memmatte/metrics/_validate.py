"""Input checks shared by the metric modules, so every metric fails the same clear way."""
from __future__ import annotations

import numpy as np

_UNIT_FLOAT_HINT = "convert 8-bit images with memmatte.metrics.to_unit_float"


def as_alpha(name: str, value: object, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Return ``value`` as an HxW float32 alpha array, or raise ValueError saying why not.

    ``shape``, when given, is the (H, W) the array must have (usually the other operand's).
    """
    arr = np.asarray(value)
    if arr.dtype != np.float32:
        raise ValueError(f"{name}: expected float32 alpha in [0, 1], got dtype {arr.dtype}; {_UNIT_FLOAT_HINT}")
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected alpha of shape (H, W), got shape {arr.shape}")
    if shape is not None and arr.shape != shape:
        raise ValueError(f"{name}: expected shape {shape} to match the other inputs, got {arr.shape}")
    return arr


def as_foreground(name: str, value: object, hw: tuple[int, int]) -> np.ndarray:
    """Return ``value`` as an HxWx3 float32 foreground whose (H, W) is ``hw``, or raise ValueError."""
    arr = np.asarray(value)
    expected = (*hw, 3)
    if arr.dtype != np.float32:
        raise ValueError(f"{name}: expected float32 foreground in [0, 1], got dtype {arr.dtype}; {_UNIT_FLOAT_HINT}")
    if arr.shape != expected:
        raise ValueError(f"{name}: expected foreground of shape {expected} (H, W, 3), got {arr.shape}")
    return arr
