"""Mattes a clip frame by frame (eval, quick scripts): an Engine over frames numbered 0, 1..."""
from __future__ import annotations

from typing import Any

import numpy as np

from .engine import Engine
from .engine.backend import auto_ratio

__all__ = ["ClipMatter", "auto_ratio"]


class ClipMatter:
    """Call once per frame, in order; ``reset()`` at a shot change.

    Each frame is encoded once: its memory entry is kept for the next two frames.
    ``backend``: a ``MemMatte`` network (torch) or an engine backend.
    """

    def __init__(self, backend: Any, downsample_ratio: float | None = None,
                 device: str = "auto") -> None:
        self.engine = Engine(backend, device=device, downsample_ratio=downsample_ratio,
                             first_frame=0)
        self._frame = 0
        self._current: np.ndarray | None = None

    def reset(self) -> None:
        self.engine.clear()
        self._frame = 0

    def __call__(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """rgb HxWx3 float32 in [0, 1] -> (foreground HxWx3, alpha HxW), straight colour."""
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected an HxWx3 RGB frame, got shape {rgb.shape}")
        frame, self._current = self._frame, rgb
        self._frame += 1
        # Predecessors are always cached (encoded when they were matted), so only the
        # current frame is ever loaded.
        result = self.engine.matte(frame, self._load)
        return result.fgr, result.pha

    def _load(self, frame: int) -> np.ndarray:
        if frame != self._frame - 1 or self._current is None:
            raise KeyError(f"frame {frame} is no longer available")
        return self._current
