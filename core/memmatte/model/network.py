"""The attention-memory matting network: encoder, LR-ASPP, memory, decoder, guided filter.

Two ways in:
- ``model(src)`` with src (N, 3, H, W): a cold single frame (its memory is itself).
- ``model(src)`` with src (N, T, 3, H, W): a time series; frame t reads t-1 and t-2 (earlier
  frames of the clip replaced by its first). Pass ``memory=`` (the previous call's
  ``out.memory``) to continue a sequence across calls with identical results.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import ModelConfig
from .decoder import Decoder, States
from .encoder import FEATURE_CHANNELS, MobileNetV3LargeEncoder
from .guided_filter import DeepGuidedFilter
from .lraspp import LRASPP
from .memory import AttentionMemory, FrameContext, MemoryEntry, window_indices


class FrameFeatures(NamedTuple):
    """Everything the decoder needs from one frame's encoder pass (what an engine caches)."""

    f1: Tensor
    f2: Tensor
    f3: Tensor
    f4: Tensor  # LR-ASPP output at 1/16
    memory: MemoryEntry | None  # None where neither memory nor decoder window reads it


class MattingOutput(NamedTuple):
    fgr: Tensor  # foreground, straight (not premultiplied), [0, 1]
    pha: Tensor  # alpha, [0, 1]
    lr_fgr: Tensor | None  # low-resolution head at 1/16 (training supervision)
    lr_pha: Tensor | None
    memory: MemoryEntry | None  # entries of the last frames, (N, M, C, h, w), for the next call


def downsample(src: Tensor, ratio: float) -> Tensor:
    if not 0.0 < ratio <= 1.0:
        raise ValueError(f"downsample_ratio must be in (0, 1], got {ratio}")
    if ratio == 1.0:
        return src
    # The ratio as float32 holds it: exported graphs take it as a float32 input, and the
    # resampling positions must agree bit for bit between backends.
    ratio = float(torch.tensor(ratio, dtype=torch.float32))
    return F.interpolate(src, scale_factor=(ratio, ratio), mode="bilinear",
                         align_corners=False, recompute_scale_factor=False)


class MemMatte(nn.Module):
    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        self.config = config or ModelConfig()
        c = self.config
        self.backbone = MobileNetV3LargeEncoder()
        self.aspp = LRASPP(FEATURE_CHANNELS[3], c.aspp_channels)
        self.memory = (AttentionMemory(c.aspp_channels, c.key_channels, c.value_channels,
                                       c.memory_readout)
                       if c.memory == "attention" else None)
        self.lr_head = nn.Conv2d(c.aspp_channels, 4, 1)
        self.decoder = Decoder(FEATURE_CHANNELS[:3], c.aspp_channels, c.decoder_channels,
                               recurrent=c.decoder_memory == "window")
        self.project = nn.Conv2d(c.decoder_channels[3], 4, 1)
        self.refiner = DeepGuidedFilter(c.decoder_channels[3])

    # -- per-frame pieces (an engine calls these to cache encoder work) -------------------
    def encode(self, src_sm: Tensor) -> FrameFeatures:
        """Encode frames (N, 3, h, w) already at network resolution."""
        f1, f2, f3, f4 = self.backbone(src_sm)
        f4 = self.aspp(f4)
        entry = self.memory.embed(f4) if self.memory is not None else None
        if self.decoder.recurrent:
            context = FrameContext(src_sm, f1, f2, f3, f4)
            entry = (MemoryEntry(None, None, context) if entry is None
                     else entry._replace(context=context))
        return FrameFeatures(f1, f2, f3, f4, entry)

    def unused_parameters(self) -> set[str]:
        """Parameters no forward reads, kept for the file layout: the delta read-out's bias."""
        return {"memory.readout.bias"} if self.memory is not None and self.memory.delta else set()

    @property
    def window(self) -> int:
        """Frames before the current one that its output depends on (0: none)."""
        reads = self.memory is not None or self.decoder.recurrent
        return self.config.memory_frames if reads else 0

    def window_states(self, contexts: FrameContext | None) -> States | None:
        """The decoder states frame t starts from: rebuilt from zero over its predecessors,
        stacked (N, M, ...) as memory is (t-1 first), so the oldest runs first. Each
        predecessor decodes its own unfused features: what it read from its own memory
        would reach further back than the window."""
        if contexts is None or not self.decoder.recurrent:
            return None
        state: States | None = None
        for m in reversed(range(contexts.src.shape[1])):
            pyramid = self.decoder.image_pyramid(contexts.src[:, m])
            _, state = self.decoder.states(pyramid, contexts.f1[:, m], contexts.f2[:, m],
                                           contexts.f3[:, m], contexts.f4[:, m], state)
        return state

    def fuse(self, feats: FrameFeatures, keys: Tensor | None, values: Tensor | None) -> Tensor:
        """Current 1/16 features fused with memory (N, M, C, h, w); identity for "none"."""
        if self.memory is None:
            return feats.f4
        if keys is None or values is None or feats.memory is None:
            raise ValueError("attention memory needs keys and values of the previous frames")
        return self.memory(feats.f4, feats.memory, keys, values)

    def decode_low(self, src_sm: Tensor, feats: FrameFeatures, fused: Tensor,
                   state: States | None = None) -> tuple[Tensor, Tensor, list[Tensor]]:
        """At network resolution: (fgr residual + alpha, hidden features, image pyramid)."""
        pyramid = self.decoder.image_pyramid(src_sm)
        hidden = self.decoder(pyramid, feats.f1, feats.f2, feats.f3, fused, state)
        return self.project(hidden), hidden, pyramid

    def coefficients(self, src_sm: Tensor, feats: FrameFeatures, fused: Tensor, refine: bool,
                     state: States | None = None) -> tuple[Tensor, Tensor]:
        """What the engines' full-resolution pass needs, at network resolution: A and b with
        fgr = clamp((A + 1) * src + b), alpha = clamp(A * grey + b) once upsampled to the
        plate. Where ``refine`` (the plate is larger) they are the guided filter's; where not,
        A = 0 and b the network's output (``unrefined``), and the guided filter's
        network-resolution convolutions are skipped (65 ms at 512x288 on one CPU thread)."""
        out, hidden, _ = self.decode_low(src_sm, feats, fused, state)
        if refine:
            return self.refiner.coefficients(src_sm, out, hidden)
        return torch.zeros_like(out), out

    @staticmethod
    def unrefined(out: Tensor, src: Tensor) -> tuple[Tensor, Tensor]:
        """Final foreground and alpha when the network ran at the input's size (ratio 1)."""
        return (out[:, :3] + src).clamp(0.0, 1.0), out[:, 3:4].clamp(0.0, 1.0)

    def decode(self, src: Tensor, src_sm: Tensor, feats: FrameFeatures, fused: Tensor,
               with_lr: bool = False, refine: bool | None = None,
               state: States | None = None) -> MattingOutput:
        """``refine``: through the guided filter (default: where src is larger than src_sm).
        Training at network resolution passes True so that the decoder's hidden features,
        which the frozen filter reads, stay features it can use at the plate's ratio."""
        out, hidden, pyramid = self.decode_low(src_sm, feats, fused, state)
        if refine is None:
            refine = src.shape[2:] != src_sm.shape[2:]
        if refine:
            fgr, pha = self.refiner(src, src_sm, out, hidden)
        else:
            fgr, pha = self.unrefined(out, src)
        lr_fgr = lr_pha = None
        if with_lr:
            lr = self.lr_head(fused)
            lr_fgr = (lr[:, :3] + pyramid[4][:, :, : lr.shape[2], : lr.shape[3]]).clamp(0, 1)
            lr_pha = lr[:, 3:4].clamp(0.0, 1.0)
        return MattingOutput(fgr, pha, lr_fgr, lr_pha, None)

    # -- whole clips ----------------------------------------------------------------------
    def forward(self, src: Tensor, downsample_ratio: float = 1.0,
                memory: MemoryEntry | None = None, with_lr: bool = False) -> MattingOutput:
        single = src.dim() == 4
        if single:
            src = src.unsqueeze(1)
        if src.dim() != 5 or src.shape[2] != 3:
            raise ValueError("expected src of shape (N, 3, H, W) or (N, T, 3, H, W), got "
                             f"{tuple(src.shape)}")
        n, t = src.shape[:2]
        flat = src.flatten(0, 1)
        flat_sm = downsample(flat, downsample_ratio)
        feats = self.encode(flat_sm)
        stacks = next_memory = None
        if feats.memory is not None:
            stacks, next_memory = self._gather_memory(feats.memory, n, t, memory)
        keys = None if stacks is None else stacks.key
        values = None if stacks is None else stacks.value
        fused = self.fuse(feats, keys, values)
        state = self.window_states(None if stacks is None else stacks.context)
        out = self.decode(flat, flat_sm, feats, fused, with_lr, state=state)

        def shape(x: Tensor | None) -> Tensor | None:
            if x is None:
                return None
            x = x.unflatten(0, (n, t))
            return x.squeeze(1) if single else x

        return MattingOutput(shape(out.fgr), shape(out.pha), shape(out.lr_fgr),
                             shape(out.lr_pha), next_memory)

    def _gather_memory(self, entry: MemoryEntry, n: int, t: int, prior: MemoryEntry | None
                       ) -> tuple[MemoryEntry, MemoryEntry]:
        """Per-frame memory stacks (N*T, M, ...) of every tensor of the entries, and the
        entries of the last frames to carry forward (N, M, ...)."""
        window = self.config.memory_frames
        seq = [x.unflatten(0, (n, t)) for x in entry.tensors()]
        p = 0  # entries before the sequence
        if prior is not None:
            old = prior.tensors()
            if len(old) != len(seq) or any(a.shape[0] != n or a.shape[2:] != b.shape[2:]
                                           for a, b in zip(old, seq)):
                raise ValueError(f"memory of shape {tuple(old[0].shape)} does not fit frames "
                                 f"of shape {tuple(seq[0].shape)}: same batch and "
                                 "resolution needed, from the same network")
            seq = [torch.cat([a, b], dim=1) for a, b in zip(old, seq)]
            p = old[0].shape[1]
        idx = window_indices(p, t, window, seq[0].device).flatten()
        stacks = [x.index_select(1, idx).unflatten(1, (t, window)).flatten(0, 1) for x in seq]
        carry = [x[:, -window:] for x in seq]
        return entry.like(stacks), entry.like(carry)

