"""The push API: hand frames to a shot one by one, in order, get each matte back.

For callers that have frames in memory rather than files (eval, notebooks, training
scripts). It keeps the last few pushed frames itself, so the engine can always load the
predecessors it needs, even after its entry cache dropped them.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from .session import Engine, FrameResult


class PushMatter:
    """``push(rgb)`` once per frame, in order; ``reset()`` at a shot change.

    ``backend``: an engine backend (``make_backend``), or a ``MemMatte`` network run with
    torch on ``device``. Each frame is encoded once; its memory entry serves the next two.

    Example:
        >>> from memmatte.engine.factory import make_backend
        >>> matter = PushMatter(make_backend("torch", device="cpu"))
        >>> fgr, pha = matter(np.random.rand(64, 96, 3).astype(np.float32))
        >>> pha.shape
        (64, 96)
    """

    def __init__(self, backend: Any, downsample_ratio: float | None = None,
                 device: str = "auto", detect_cuts: bool = False) -> None:
        if not hasattr(backend, "matte"):
            from .torch_backend import TorchBackend

            backend = TorchBackend(backend, device)
        self.engine = Engine(backend, first_frame=0, downsample_ratio=downsample_ratio,
                             detect_cuts=detect_cuts)
        self._recent: OrderedDict[int, np.ndarray] = OrderedDict()
        self._next = 0

    def reset(self) -> None:
        self.engine.clear()
        self._recent.clear()
        self._next = 0

    def push(self, rgb: np.ndarray) -> FrameResult:
        """rgb: HxWx3 float32 in [0, 1], network space -> this frame's result."""
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected an HxWx3 RGB frame, got shape {rgb.shape}")
        frame, self._next = self._next, self._next + 1
        self._recent[frame] = rgb
        while len(self._recent) > self.engine.window + 1:
            self._recent.popitem(last=False)
        return self.engine.matte(frame, self._recent.__getitem__)

    def __call__(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(straight foreground HxWx3, alpha HxW) of the next frame."""
        result = self.push(rgb)
        return result.fgr, result.pha
