"""Held-out real footage: how far weights are from the warmed-up teacher, and how much they
flicker, clip by clip (what decides whether weights ship; see :mod:`memmatte.train.gate`).

A held-out clip is a label folder as `memmatte label` writes it (``<clip>/com``, ``pha``):
the plate's frames and the teacher's alpha after its warm-up pass. Weights matte the frames
in order from a cold start (frame 0 is a shot's first frame), at the plate's own size and the
engine's automatic ratio, and their alpha is rounded to 8 bits like the teacher's.

Figures (all x1e3, the benchmark's scale):
- ``mad``: mean |alpha - teacher alpha| over every pixel of every frame.
- ``flicker``: mean |alpha_t - alpha_t-1| over the *still* pixels of each pair of frames,
  those whose plate changed by at most ``STILL`` (mean over RGB). Where the plate does not
  move, a matte that changes is flicker; the teacher's own figure is its floor.
- ``flicker_bg`` / ``flicker_fg`` / ``flicker_edge``: the same split by the teacher's alpha
  (background: below 0.05 in both frames; interior: above 0.95 in both; the rest: edge).
- ``mad_first3`` / ``mad_rest``: mad over frames 0-2 and over the later frames (a memory that
  needs warming up shows as first3 > rest; so do first frames that are simply harder).
- ``mad_cold3`` / ``mad_warm3``: the same three frames from the middle of the clip matted as a
  shot of their own (cold: their first frame reads only itself) and as part of the whole clip
  (warm). Same frames, same content: cold3 > warm3 is warm-up error and nothing else.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..io.eight_bit import list_frames, read_gray, read_rgb

STILL = 0.01
REGIONS = {"bg": (None, 0.05), "fg": (0.95, None)}


@dataclass(frozen=True)
class HeldOutClip:
    name: str
    frames: list[np.ndarray]  # HxWx3 float32 plates in [0, 1]
    teacher: list[np.ndarray]  # HxW float32 teacher alphas

    @property
    def size(self) -> tuple[int, int]:
        return int(self.frames[0].shape[0]), int(self.frames[0].shape[1])


def load_clips(root: Path, names: Sequence[str] | None = None,
               max_frames: int | None = None) -> list[HeldOutClip]:
    """The label folders under ``root`` (those named, in that order; all when None)."""
    folders = ([root / n for n in names] if names is not None
               else sorted(p for p in root.iterdir() if (p / "com").is_dir()))
    clips = []
    for folder in folders:
        files = list_frames(folder / "com")[:max_frames]
        if not files:
            raise FileNotFoundError(f"{folder}: no held-out frames in com/ (label it first: "
                                    "memmatte label CLIP --out ...)")
        teacher = [read_gray(folder / "pha" / f.name) for f in files]
        clips.append(HeldOutClip(folder.name, [read_rgb(f) for f in files], teacher))
    return clips


def quantise(alpha: np.ndarray) -> np.ndarray:
    """Alpha as an 8-bit PNG would hold it (the teacher's labels are 8-bit)."""
    return np.round(np.clip(alpha, 0.0, 1.0) * 255.0) / 255.0


def _pairs(seq: Sequence[np.ndarray]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    return zip(seq[1:], seq[:-1])


def flicker_figures(phas: Sequence[np.ndarray], clip: HeldOutClip) -> dict[str, float]:
    """Flicker on still pixels, overall and by region of the teacher's alpha (x1e3)."""
    sums = {k: 0.0 for k in ("flicker", "flicker_bg", "flicker_fg", "flicker_edge")}
    counts = dict.fromkeys(sums, 0)
    for (a, a0), (f, f0), (g, g0) in zip(_pairs(phas), _pairs(clip.frames),
                                         _pairs(clip.teacher)):
        still = np.abs(f - f0).mean(axis=2) <= STILL
        change = np.abs(a - a0)
        bg = still & (np.maximum(g, g0) < REGIONS["bg"][1])
        fg = still & (np.minimum(g, g0) > REGIONS["fg"][0])
        for key, mask in (("flicker", still), ("flicker_bg", bg), ("flicker_fg", fg),
                          ("flicker_edge", still & ~bg & ~fg)):
            sums[key] += float(change[mask].sum())
            counts[key] += int(mask.sum())
    return {k: round(sums[k] / max(counts[k], 1) * 1e3, 3) for k in sums}


def restart(clip: HeldOutClip) -> tuple[int, HeldOutClip] | None:
    """Where a cold restart is measured (mid-clip, away from frame 0's own content) and the
    three frames from there as a clip of their own; None for clips too short to tell."""
    if len(clip.frames) < 6:
        return None
    at = len(clip.frames) // 2
    return at, HeldOutClip(clip.name, clip.frames[at:at + 3], clip.teacher[at:at + 3])


def _errors(phas: Sequence[np.ndarray], teacher: Sequence[np.ndarray]) -> list[float]:
    return [float(np.abs(p - t).mean()) for p, t in zip(phas, teacher)]


def _milli(errors: Sequence[float]) -> float:
    return round(float(np.mean(errors)) * 1e3, 3)


def score(phas: Sequence[np.ndarray], clip: HeldOutClip,
          cold: Sequence[np.ndarray] | None = None) -> dict[str, float]:
    """Every figure of one clip's alphas (HxW, in frame order) against its teacher; ``cold``:
    the alphas of :func:`restart`'s three frames matted as a shot of their own."""
    phas = [quantise(p) for p in phas]
    errors = _errors(phas, clip.teacher)
    out = {"mad": _milli(errors), **flicker_figures(phas, clip)}
    out["mad_first3"] = _milli(errors[:3])
    out["mad_rest"] = _milli(errors[3:] or errors)
    where = restart(clip)
    if cold is not None and where is not None:
        at, shot = where
        out["mad_cold3"] = _milli(_errors([quantise(p) for p in cold], shot.teacher))
        out["mad_warm3"] = _milli(errors[at:at + 3])
    return out


def teacher_figures(clip: HeldOutClip) -> dict[str, float]:
    """The teacher's own flicker (its floor: the labels are its output)."""
    return flicker_figures(clip.teacher, clip)


Matter = Callable[[HeldOutClip], list[np.ndarray]]


def table(clips: Sequence[HeldOutClip], matters: dict[str, Matter]
          ) -> dict[str, dict[str, dict[str, float]]]:
    """{clip: {"teacher": figures, name: figures, ...}} for every named way of matting."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for clip in clips:
        row = {"teacher": teacher_figures(clip)}
        where = restart(clip)
        for name, matter in matters.items():
            row[name] = score(matter(clip), clip, matter(where[1]) if where else None)
        out[clip.name] = row
    return out


def overall(rows: dict[str, dict[str, dict[str, float]]], name: str) -> dict[str, float]:
    """Mean of each figure over the clips (each clip counts once, whatever its size)."""
    figures = [row[name] for row in rows.values() if name in row]
    keys = sorted(set.intersection(*(set(f) for f in figures))) if figures else []
    return {k: round(float(np.mean([f[k] for f in figures])), 3) for k in keys}


def model_matter(model: Any) -> Matter:
    """A network (``MemMatte``) matting a clip in order from a cold start, its memory carried
    from frame to frame as the engine carries it, at the engine's automatic ratio."""
    import torch

    from ..engine.backend import auto_ratio

    def run(clip: HeldOutClip) -> list[np.ndarray]:
        ratio = auto_ratio(*clip.size)
        memory, phas = None, []
        with torch.inference_mode():
            for frame in clip.frames:
                out = model(torch.from_numpy(frame).permute(2, 0, 1)[None], ratio,
                            memory=memory)
                memory = out.memory
                phas.append(out.pha[0, 0].numpy())
        return phas

    return run


def scored_rows(doc: dict[str, Any], clips: Sequence[HeldOutClip], ids: dict[str, str]
                ) -> dict[str, dict[str, dict[str, float]]]:
    """{name: {clip: figures}} taken from an earlier gate's JSON (``scripts/heldout_gate.py
    --json``) for each of ``ids`` ({name: weights id}) whose weights it scored: scoring is
    deterministic, so a new candidate need not run every incumbent again. Names may differ,
    ids may not; the earlier run must have scored exactly these clips (same frame counts and
    sizes), else ValueError. Read-out-zeroed variants share their weights' id and are skipped.
    """
    same = {c.name: {"frames": len(c.frames), "size": list(c.size)} for c in clips}
    wrong = sorted(n for n, spec in same.items() if doc["clips"].get(n) != spec)
    if wrong:
        raise ValueError(f"it did not score {', '.join(wrong)} with these frame counts and "
                         "sizes")
    by_id = {wid: name for name, wid in doc["weights"].items()
             if not name.endswith("-readout0")}
    return {name: {clip: doc["rows"][clip][by_id[wid]] for clip in same}
            for name, wid in ids.items() if wid in by_id and not name.endswith("-readout0")}
