"""Attention-based memory block: the current frame reads from frames t-1 and t-2.

Keys and values are computed from each frame's own LR-ASPP features, so a frame's output
depends on a finite window of frames (never on earlier outputs): sequential, chunked and
random-access evaluation agree.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import MEMORY_READOUTS


class FrameContext(NamedTuple):
    """What a frame hands to the decoder window of the frames after it (decoder memory
    "window"): its image at network resolution and its encoder features, from which their
    decoder rebuilds its states (N, C, h, w each; (N, M, C, h, w) when stacked)."""

    src: Tensor
    f1: Tensor
    f2: Tensor
    f3: Tensor
    f4: Tensor


class MemoryEntry(NamedTuple):
    """What a frame contributes to memory: key (N, Ck, h, w) and value (N, Cv, h, w) for the
    attention block (None without one), and its context for a decoder window (or None)."""

    key: Tensor | None
    value: Tensor | None
    context: FrameContext | None = None

    def tensors(self) -> list[Tensor]:
        """The entry's tensors in a fixed order: key, value (with attention), the context's."""
        out = [x for x in (self.key, self.value) if x is not None]
        return out + (list(self.context) if self.context is not None else [])

    def like(self, tensors: list[Tensor]) -> "MemoryEntry":
        """An entry of this one's kind made of ``tensors`` (in ``tensors()``' order)."""
        it = iter(tensors)
        key = next(it) if self.key is not None else None
        value = next(it) if self.value is not None else None
        context = FrameContext(*it) if self.context is not None else None
        return MemoryEntry(key, value, context)

    def contiguous(self) -> "MemoryEntry":
        return self.like([x.contiguous() for x in self.tensors()])


def stack_entries(entries: list[MemoryEntry]) -> MemoryEntry:
    """Per-frame entries (N, C, h, w each) as one memory (N, M, C, h, w), in their order."""
    columns = zip(*(e.tensors() for e in entries))
    return entries[0].like([torch.stack(list(xs), 1) for xs in columns])


def attend(query: Tensor, keys: Tensor, values: Tensor) -> Tensor:
    """Scaled dot-product read-out over all spatio-temporal memory positions.

    query (N, Ck, h, w); keys (N, M, Ck, h', w'); values (N, M, Cv, h', w') -> (N, Cv, h, w).

    Example:
        >>> q = torch.randn(1, 8, 2, 3); k = torch.randn(1, 2, 8, 2, 3)
        >>> attend(q, k, torch.randn(1, 2, 4, 2, 3)).shape
        torch.Size([1, 4, 2, 3])
    """
    if keys.dim() != 5 or values.dim() != 5:
        raise ValueError("expected keys and values of shape (N, M, C, h, w), got "
                         f"{tuple(keys.shape)} and {tuple(values.shape)}")
    if query.shape[:2] != (keys.shape[0], keys.shape[2]):
        raise ValueError(f"query {tuple(query.shape)} does not match keys {tuple(keys.shape)}")
    n, ck, h, w = query.shape
    cv = values.shape[2]
    q = query.flatten(2).transpose(1, 2).unsqueeze(1)                # N,1,hw,Ck
    k = keys.transpose(1, 2).flatten(2).transpose(1, 2).unsqueeze(1)  # N,1,M*h'w',Ck
    v = values.transpose(1, 2).flatten(2).transpose(1, 2).unsqueeze(1)
    # SDPA picks a memory-bounded kernel, so large ratios do not build the full affinity.
    out = F.scaled_dot_product_attention(q, k, v, scale=1.0 / math.sqrt(ck))
    return out.squeeze(1).transpose(1, 2).reshape(n, cv, h, w)


class AttentionMemory(nn.Module):
    """Keys and values per frame; the current frame's read-out is fused into its features.

    ``readout="delta"`` fuses what frames t-1 and t-2 say *beyond* the frame's own read:
    read(memory) - read(itself). At a shot's first frame the memory holds only the frame
    itself, so the two reads run the same kernel on the same numbers and the difference is
    exactly zero: a cold frame is the single-frame network, and the memory can only add what
    the previous frames contribute. ``"plain"`` fuses read(memory) as it is (weights trained
    before the delta read-out existed).
    """

    def __init__(self, channels: int, key_channels: int, value_channels: int,
                 readout: str = "delta") -> None:
        super().__init__()
        if readout not in MEMORY_READOUTS:
            raise ValueError(f"readout must be one of {MEMORY_READOUTS}, got {readout!r}")
        self.delta = readout == "delta"
        self.key = nn.Conv2d(channels, key_channels, 1)
        self.value = nn.Conv2d(channels, value_channels, 1)
        self.readout = nn.Conv2d(value_channels, channels, 1)
        # Zero read-out: before training the block passes the current features through,
        # so converted single-frame weights behave as they did in their own network.
        nn.init.zeros_(self.readout.weight)
        nn.init.zeros_(self.readout.bias)

    def embed(self, features: Tensor) -> MemoryEntry:
        return MemoryEntry(self.key(features), self.value(features))

    def read(self, own: MemoryEntry, keys: Tensor, values: Tensor) -> Tensor:
        """What the frame (its own entry) reads from memory (N, M, C, h, w), before read-out."""
        read = attend(own.key, keys, values)
        if self.delta:
            # The same stack shape as the memory's, so a cold start is bit-identical.
            read = read - attend(own.key, own.key.unsqueeze(1).expand_as(keys),
                                 own.value.unsqueeze(1).expand_as(values))
        return read

    def forward(self, features: Tensor, own: MemoryEntry, keys: Tensor, values: Tensor
                ) -> Tensor:
        """Fuse the current features (N, C, h, w) with what they read from memory."""
        read = self.read(own, keys, values)
        if self.delta:
            # No bias: a constant is not something the previous frames said, and zero in must
            # stay zero out. (The bias stays in the file layout for the plain read-out.)
            return features + F.conv2d(read, self.readout.weight)
        return features + self.readout(read)


def window_indices(prior: int, frames: int, window: int, device: torch.device) -> Tensor:
    """Memory indices into [prior entries..., sequence frames...] for each sequence frame.

    Frame t (at position prior + t) reads positions prior+t-1 ... prior+t-window, with
    positions before the start replaced by the earliest available entry (position 0).

    Example:
        >>> window_indices(0, 3, 2, torch.device("cpu")).tolist()
        [[0, 0], [0, 0], [1, 0]]
    """
    pos = torch.arange(frames, device=device).unsqueeze(1) + prior
    lag = torch.arange(1, window + 1, device=device).unsqueeze(0)
    idx = pos - lag
    # A cold start (no prior) has no predecessor at all: the frame reads itself.
    floor = torch.zeros_like(idx)
    return torch.maximum(idx, floor)
