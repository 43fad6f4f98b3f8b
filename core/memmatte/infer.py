"""Mattes a clip frame by frame with the network, carrying its two-frame memory."""
from __future__ import annotations

import numpy as np
import torch

from .model import MemMatte, MemoryEntry

# Long side the network works at when the user gives no ratio (RVM's recommendation too).
AUTO_LONG_SIDE = 512


def auto_ratio(height: int, width: int, long_side: int = AUTO_LONG_SIDE) -> float:
    return min(long_side / max(height, width), 1.0)


class ClipMatter:
    """Call once per frame, in order; ``reset()`` at a shot change.

    Each frame is encoded once: its memory entry is kept for the next two frames.
    """

    def __init__(self, model: MemMatte, downsample_ratio: float | None = None,
                 device: str | torch.device = "cpu") -> None:
        self.model = model.eval().to(device)
        self.ratio = downsample_ratio
        self.device = torch.device(device)
        self.memory: MemoryEntry | None = None

    def reset(self) -> None:
        self.memory = None

    @torch.inference_mode()
    def __call__(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """rgb HxWx3 float32 in [0, 1] -> (foreground HxWx3, alpha HxW), straight colour."""
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected an HxWx3 RGB frame, got shape {rgb.shape}")
        h, w = rgb.shape[:2]
        ratio = self.ratio if self.ratio is not None else auto_ratio(h, w)
        src = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None]
        out = self.model(src.to(self.device), ratio, memory=self.memory)
        self.memory = out.memory
        fgr = out.fgr[0].permute(1, 2, 0).float().cpu().numpy()
        return fgr, out.pha[0, 0].float().cpu().numpy()
