"""What the engine needs from a runtime (torch, ONNX Runtime): encode a frame's memory entry,
and matte a frame given the entries of the frames it reads."""
from __future__ import annotations

from typing import Any, Protocol

import numpy as np

# Marks the frame being matted in its own window (a shot's first frame reads itself): the
# backend substitutes the entry it computes for that frame.
SELF = object()

# Long side the network works at when the user gives no ratio (RVM's recommendation too).
AUTO_LONG_SIDE = 512


def auto_ratio(height: int, width: int, long_side: int = AUTO_LONG_SIDE) -> float:
    return min(long_side / max(height, width), 1.0)


class Backend(Protocol):
    window: int  # frames of memory (0: none)
    weights_id: str

    def entry(self, rgb: np.ndarray, ratio: float) -> Any:
        """The memory entry of a frame (network-space RGB, HxWx3 float32)."""

    def matte(self, rgb: np.ndarray, ratio: float, memory: list[Any]
              ) -> tuple[np.ndarray, np.ndarray, Any]:
        """(straight foreground HxWx3, alpha HxW, this frame's entry or None)."""

    def describe(self) -> str:
        """Runtime and device, for plans and logs."""

    def set_threads(self, threads: int) -> None:
        """Compute threads from now on."""
