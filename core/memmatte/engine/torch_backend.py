"""The torch runtime: the network in eager mode, CPU, CUDA (fp16) or MPS."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..model import MemMatte, MemoryEntry, downsample
from .backend import SELF
from .devices import pick_device


class TorchBackend:
    def __init__(self, model: MemMatte, device: str = "auto", half: bool | None = None,
                 weights_id: str = "") -> None:
        self.device = pick_device(device)
        # fp16 only where it is fast and safe; CPU half kernels are slow or missing.
        self.half = self.device.type == "cuda" if half is None else half
        self.model = model.eval().to(self.device)
        if self.half:
            self.model = self.model.half()
        self.window = model.config.memory_frames if model.memory is not None else 0
        self.weights_id = weights_id

    def describe(self) -> str:
        return f"torch {torch.__version__} on {self.device}{' fp16' if self.half else ''}"

    def set_threads(self, threads: int) -> None:
        torch.set_num_threads(threads)

    def _inputs(self, rgb: np.ndarray, ratio: float) -> tuple[torch.Tensor, torch.Tensor]:
        src = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None]
        src = src.to(self.device, torch.float16 if self.half else torch.float32)
        return src, downsample(src, ratio)

    @torch.inference_mode()
    def entry(self, rgb: np.ndarray, ratio: float) -> MemoryEntry:
        entry = self.model.encode(self._inputs(rgb, ratio)[1]).memory
        assert entry is not None, "a network without memory has no entries"
        return entry

    @torch.inference_mode()
    def matte(self, rgb: np.ndarray, ratio: float, memory: list[Any]
              ) -> tuple[np.ndarray, np.ndarray, MemoryEntry | None]:
        src, src_sm = self._inputs(rgb, ratio)
        feats = self.model.encode(src_sm)
        keys = values = None
        if memory and feats.memory is not None:
            entries = [feats.memory if m is SELF else m for m in memory]
            keys = torch.stack([e.key for e in entries], 1)
            values = torch.stack([e.value for e in entries], 1)
        out = self.model.decode(src, src_sm, feats, self.model.fuse(feats, keys, values))
        fgr = out.fgr[0].permute(1, 2, 0).float().cpu().numpy()
        return fgr, out.pha[0, 0].float().cpu().numpy(), feats.memory
