"""The torch runtime: the network in eager mode, CPU, CUDA (fp16) or MPS. The plate stays in
numpy: it is brought to network size there, and the full-resolution pass is the same as the
ONNX backend's; torch sees only network-resolution tensors. It runs an inference copy of the
network with its BatchNorms folded (``model.folding``): changes to the model given to it
after it is made are not seen."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..model import MemMatte, MemoryEntry
from ..model.memory import stack_entries
from ..model.folding import fold_batch_norms
from .backend import SELF
from .devices import pick_device
from .allocator import keep_freed_memory
from .full_resolution import FullResolutionPass
from .resample import downsample


class TorchBackend:
    def __init__(self, model: MemMatte, device: str = "auto", half: bool | None = None,
                 weights_id: str = "") -> None:
        self.device = pick_device(device)
        # fp16 only where it is fast and safe; CPU half kernels are slow or missing.
        self.half = self.device.type == "cuda" if half is None else half
        self.model = fold_batch_norms(model).to(self.device)
        if self.half:
            self.model = self.model.half()
        self.window = model.window
        self.weights_id = weights_id
        self.full_resolution = FullResolutionPass(torch.get_num_threads())
        self._layout_threads = 0
        keep_freed_memory()

    def _follow_threads(self) -> None:
        """On CPU, channels-last weights when torch has more than one thread: oneDNN then
        splits the work better (2 threads: 512x288 93 -> 83 ms, 1920x1080 at 0.25 121 -> 99);
        with one thread the contiguous layout is the faster one (133 vs 140 ms at 512x288:
        1x1 convolutions run as a plain GEMM). Memory entries are made contiguous either way,
        so an entry read back from a cache or made with other threads is the same tensor."""
        threads = torch.get_num_threads()
        if self.device.type != "cpu" or threads == self._layout_threads:
            return
        wide = threads > 1
        self.model.to(memory_format=torch.channels_last if wide else torch.contiguous_format)
        self._layout_threads = threads

    def describe(self) -> str:
        return f"torch {torch.__version__} on {self.device}{' fp16' if self.half else ''}"

    def set_threads(self, threads: int) -> None:
        torch.set_num_threads(threads)
        self.full_resolution.set_threads(threads)

    def _small(self, rgb: np.ndarray, ratio: float) -> tuple[np.ndarray, torch.Tensor]:
        small = downsample(rgb, ratio)
        src = torch.from_numpy(np.ascontiguousarray(small.transpose(2, 0, 1)))[None]
        return small, src.to(self.device, torch.float16 if self.half else torch.float32)

    @torch.inference_mode()
    def entry(self, rgb: np.ndarray, ratio: float) -> MemoryEntry:
        self._follow_threads()
        entry = self.model.encode(self._small(rgb, ratio)[1]).memory
        assert entry is not None, "a network without memory has no entries"
        return entry.contiguous()

    @torch.inference_mode()
    def matte(self, rgb: np.ndarray, ratio: float, memory: list[Any]
              ) -> tuple[np.ndarray, np.ndarray, MemoryEntry | None]:
        self._follow_threads()
        _, src_sm = self._small(rgb, ratio)
        feats = self.model.encode(src_sm)
        keys = values = state = None
        if memory and feats.memory is not None:
            stacks = stack_entries([feats.memory if m is SELF else m for m in memory])
            keys, values = stacks.key, stacks.value
            state = self.model.window_states(stacks.context)
        refine = tuple(src_sm.shape[2:]) != rgb.shape[:2]
        a, b = self.model.coefficients(src_sm, feats, self.model.fuse(feats, keys, values),
                                       refine, state)
        fgr, pha = self.full_resolution(rgb, a[0].float().cpu().numpy(),
                                        b[0].float().cpu().numpy())
        return fgr, pha, None if feats.memory is None else feats.memory.contiguous()
