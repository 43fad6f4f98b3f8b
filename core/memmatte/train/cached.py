"""Fine-tune the memory block and the decoder on cached encoder features (a 2-core CPU recipe).

Each step takes one window of a real clip from the feature cache
(:mod:`memmatte.train.feature_cache`): ``frames`` consecutive frames to decode plus their two
predecessors, at a random crop, anywhere in the clip. Windows that begin at the clip's first
frame are shot starts: missing predecessors are replaced by frame 0 exactly as the engine
does (invariant 1), so the cold frames train too. The truth is the warmed-up teacher's;
the paper's losses apply, the temporal term weighted up so that flicker falls.

Deterministic by step: the window of step s comes from (seed, s), so a resumed run continues
exactly. Only the trainable part is checkpointed; the frozen encoder never changes.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..model import MemMatte
from ..model.memory import FrameContext, MemoryEntry
from ..model.network import FrameFeatures, MattingOutput
from .checkpoint import load_checkpoint, save_checkpoint
from .feature_cache import LEVELS, CachedClip
from .losses import matting_losses

FROZEN = ("backbone.", "aspp.", "refiner.")


@dataclass(frozen=True)
class Recipe:
    frames: int = 3  # decoded frames per window (each reads its own t-1, t-2)
    crop: int = 256  # plate pixels, a multiple of 16
    start_share: float = 0.15  # windows that begin at a shot's first frame
    # Supervise through the frozen guided filter although the crop is at network resolution:
    # a decoder trained without it drifts from what the filter reads, and plates larger than
    # the network (every held-out plate) get worse at once.
    guided: bool = False
    lr_memory: float = 1e-4
    lr_decoder: float = 1e-5
    loss: dict[str, float] = field(default_factory=lambda: {
        "alpha": 1.0, "lap": 1.0, "com": 1.0, "tem_agg": 0.0, "tem": 5.0})
    seed: int = 0

    def __post_init__(self) -> None:
        if self.frames < 2:
            raise ValueError(f"frames must be >= 2 (the temporal loss needs two), got "
                             f"{self.frames}")
        if self.crop < 16 or self.crop % 16:
            raise ValueError(f"crop must be a positive multiple of 16, got {self.crop}")
        if not 0.0 <= self.start_share <= 1.0:
            raise ValueError(f"start_share must be in [0, 1], got {self.start_share}")


@dataclass(frozen=True)
class Window:
    clip: int
    first: int  # first decoded frame
    box: tuple[int, int, int, int]  # top, left, height, width (plate pixels)


def sample_window(clips: list[CachedClip], recipe: Recipe, step: int) -> Window:
    rng = np.random.default_rng((recipe.seed, step))
    c = int(rng.integers(len(clips)))
    clip = clips[c]
    last = max(clip.frames - recipe.frames, 0)
    first = 0 if rng.random() < recipe.start_share else int(rng.integers(last + 1))
    h, w = clip.meta["size"]
    box = []
    for extent in (h, w):
        if extent <= recipe.crop:
            box += [0, extent]
        else:
            box += [16 * int(rng.integers((extent - recipe.crop) // 16 + 1)), recipe.crop]
    return Window(c, first, (box[0], box[2], box[1], box[3]))


def window_positions(first: int, frames: int, memory: int = 2) -> list[int]:
    """Clip frames of a window: ``memory`` predecessors then the decoded frames; frames
    before the clip's start are its first frame (a shot start reads itself).

    >>> window_positions(0, 3)
    [0, 0, 0, 1, 2]
    """
    return [max(i, 0) for i in range(first - memory, first + frames)]


def forward_window(model: MemMatte, clip: CachedClip, win: Window, frames: int,
                   guided: bool = False) -> tuple[MattingOutput, torch.Tensor, torch.Tensor]:
    """(prediction (1, T, ...), teacher fgr, teacher pha (1, T, ...)) of one window."""
    window = model.config.memory_frames
    pos = window_positions(win.first, frames, window)
    f = {k: clip.read(k, pos, win.box) for k in LEVELS}
    decoded = pos[window:]
    every_com = clip.read("com", pos, win.box)
    com = every_com[window:]
    true_fgr = clip.read("fgr", decoded, win.box)
    true_pha = clip.read("pha", decoded, win.box)
    # Decoded frame j (window position window + j) reads positions j + window - 1 ... j.
    lags = [[j + window - lag for lag in range(1, window + 1)] for j in range(frames)]
    idx = torch.tensor(lags).flatten()

    def stacked(x: torch.Tensor) -> torch.Tensor:
        return x.index_select(0, idx).unflatten(0, (frames, window))

    keys = values = None
    entry = None
    if model.memory is not None:
        k, v, _ = model.memory.embed(f["f4"])
        keys, values = stacked(k), stacked(v)
        entry = MemoryEntry(k[window:], v[window:])
    state = model.window_states(FrameContext(*(stacked(x) for x in (
        every_com, *(f[k] for k in LEVELS))))) if model.decoder.recurrent else None
    feats = FrameFeatures(*(f[k][window:] for k in LEVELS), entry)
    fused = model.fuse(feats, keys, values)
    out = model.decode(com, com, feats, fused, with_lr=True, refine=guided, state=state)
    pred = MattingOutput(*(x.unsqueeze(0) if x is not None else None for x in out[:4]), None)
    return pred, true_fgr.unsqueeze(0), true_pha.unsqueeze(0)


def trainable(model: MemMatte, rates: dict[str, float]) -> list[dict[str, Any]]:
    """Adam groups: the memory block at its own rate, the decoder side at another; the
    encoder, LR-ASPP and guided filter frozen (their features are the cache). A group whose
    rate is 0 is frozen too: its weights need no gradients."""
    groups: dict[str, list[torch.nn.Parameter]] = {"memory": [], "decoder": []}
    for name, p in model.named_parameters():
        group = "memory" if name.startswith("memory.") else "decoder"
        p.requires_grad_(not name.startswith(FROZEN) and rates[group] > 0)
        if p.requires_grad:
            groups[group].append(p)
    return [{"params": ps, "name": n, "lr": rates[n]} for n, ps in groups.items() if ps]


def train_cached(model: MemMatte, clips: list[CachedClip], out: Path, recipe: Recipe, *,
                 seconds: float, steps: int | None = None, log_every: int = 25,
                 checkpoint_every: int = 100, resume: bool = True) -> dict[str, Any]:
    """Train until ``seconds`` of training time (or ``steps``) have passed; returns the
    summary. ``out`` holds checkpoint.pt, log.jsonl and, at the end, summary.json."""
    out.mkdir(parents=True, exist_ok=True)
    model.eval()  # BatchNorm statistics stay as converted; gradients still flow
    groups = trainable(model, {"memory": recipe.lr_memory, "decoder": recipe.lr_decoder})
    if not groups:
        raise ValueError("nothing to train: the memory and decoder rates are both 0 (or the "
                         "network has no memory block and the decoder rate is 0)")
    optimizer = torch.optim.Adam(groups)
    step, spent = 0, 0.0
    state = load_checkpoint(out) if resume else None
    if state is not None:
        model.load_state_dict(state["model"], strict=False)
        optimizer.load_state_dict(state["optimizer"])
        step, spent = int(state["step"]), float(state["seconds"])
    started = time.perf_counter() - spent
    log = (out / "log.jsonl").open("a")
    try:
        while (steps is None or step < steps) and time.perf_counter() - started < seconds:
            win = sample_window(clips, recipe, step)
            pred, fgr, pha = forward_window(model, clips[win.clip], win, recipe.frames,
                                            recipe.guided)
            losses = matting_losses(pred, fgr, pha, weights=recipe.loss)
            optimizer.zero_grad(set_to_none=True)
            losses["total"].backward()
            optimizer.step()
            step += 1
            elapsed = time.perf_counter() - started
            if step % log_every == 0:
                row = {"step": step, "seconds": round(elapsed, 1),
                       **{k: round(float(v.detach()), 6) for k, v in losses.items()}}
                log.write(json.dumps(row) + "\n")
                log.flush()
            if step % checkpoint_every == 0:
                save_checkpoint(out, _state(model, optimizer, step, elapsed))
        elapsed = time.perf_counter() - started
        save_checkpoint(out, _state(model, optimizer, step, elapsed))
    finally:
        log.close()
    summary = {"recipe": asdict(recipe), "steps": step, "seconds": round(elapsed, 1),
               "clips": {c.name: c.frames for c in clips},
               "memory": model.config.memory, "memory_readout": model.config.memory_readout,
               "decoder_memory": model.config.decoder_memory,
               "trained": sorted({n.split(".")[0] for n, p in model.named_parameters()
                                  if p.requires_grad})}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


def _state(model: MemMatte, optimizer: torch.optim.Optimizer, step: int, seconds: float
           ) -> dict[str, Any]:
    learned = {k: v for k, v in model.state_dict().items() if not k.startswith(FROZEN)}
    return {"model": learned, "optimizer": optimizer.state_dict(), "step": step,
            "seconds": seconds}
