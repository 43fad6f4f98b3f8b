"""``memmatte eval``: run the network over a benchmark-style folder and score it.

Layout (as the public video matting benchmarks): ``DATA/<clip>/com/`` frames (PNG/JPEG),
optionally ``<clip>/pha/`` and ``<clip>/fgr/`` ground truth with the same frame names; clips
may sit in dataset subfolders (``DATA/<dataset>/<clip>/com``). Predictions go to
``OUT/<clip>/{pha,fgr}/<frame>.png`` as 8-bit PNGs, the form the benchmark scores.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..pipeline.contact_sheet import sheet_indices, write_contact_sheet
from ..io.eight_bit import FrameError, list_frames, read_gray, read_rgb, to_uint8, write_png
from ..engine.push import PushMatter
from ..metrics import ClipScorer, average_clips


@dataclass
class ClipResult:
    name: str
    frames: int
    scores: dict[str, list[float]] | None = None  # per-frame metrics where ground truth exists


@dataclass
class EvalResult:
    clips: list[ClipResult] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        scored = [c.scores for c in self.clips if c.scores]
        return average_clips(scored) if scored else {}


def find_clips(root: Path) -> list[Path]:
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: data folder not found")
    clips = sorted(p.parent for p in root.rglob("com") if p.is_dir())
    if not clips:
        raise FileNotFoundError(f"{root}: no clip folders with a 'com/' subfolder of frames "
                                "(expected DATA/<clip>/com/*.png|jpg)")
    return clips


def ground_truth(folder: Path, frames: list[Path]) -> list[Path]:
    """The ground-truth file of every frame (same name, PNG or JPEG), checked up front."""
    found = []
    for frame in frames:
        for suffix in (".png", ".jpg", ".jpeg"):
            candidate = folder / f"{frame.stem}{suffix}"
            if candidate.is_file():
                found.append(candidate)
                break
        else:
            raise FrameError(f"{folder}: no ground truth for frame {frame.name}")
    return found


def quantised(x: np.ndarray) -> np.ndarray:
    """What the scorer reads back from the 8-bit PNG we wrote."""
    return to_uint8(x).astype(np.float32) / 255.0


def evaluate_clip(matter: PushMatter, clip: Path, out: Path, name: str, hr: bool = False,
                  progress: Callable[[str], None] | None = None, sheet_rows: int = 0
                  ) -> ClipResult:
    frames = list_frames(clip / "com")
    if not frames:
        raise FrameError(f"{clip / 'com'}: no PNG or JPEG frames")
    on_sheet = sheet_indices(len(frames), sheet_rows)
    sheet = []
    gt_pha = ground_truth(clip / "pha", frames) if (clip / "pha").is_dir() else None
    gt_fgr = ground_truth(clip / "fgr", frames) if gt_pha and (clip / "fgr").is_dir() else None
    scorer = ClipScorer(with_fgr=gt_fgr is not None, hr=hr) if gt_pha else None
    matter.reset()
    for i, frame in enumerate(frames):
        plate = read_rgb(frame)
        fgr, pha = matter(plate)
        if i in on_sheet:
            sheet.append((plate, fgr, pha))
        write_png(out / name / "pha" / f"{frame.stem}.png", pha)
        write_png(out / name / "fgr" / f"{frame.stem}.png", fgr)
        if scorer is not None and gt_pha is not None:
            scorer.add(quantised(pha), read_gray(gt_pha[i]),
                       quantised(fgr) if gt_fgr else None,
                       read_rgb(gt_fgr[i]) if gt_fgr else None)
        if progress:
            progress(f"{name}: frame {i + 1}/{len(frames)}")
    if sheet:
        write_contact_sheet(out / name / "contact_sheet.png", sheet)
    scores = scorer.scores if scorer is not None else None
    return ClipResult(name, len(frames), scores)


def evaluate(matter: PushMatter, data: Path, out: Path, hr: bool = False,
             progress: Callable[[str], None] | None = None, sheet_rows: int = 0) -> EvalResult:
    result = EvalResult()
    for clip in find_clips(data):
        name = "." if clip == data else str(clip.relative_to(data))
        result.clips.append(evaluate_clip(matter, clip, out, name, hr, progress, sheet_rows))
    return result


def format_result(result: EvalResult) -> str:
    lines = []
    for clip in result.clips:
        if clip.scores:
            means = average_clips([clip.scores])
            parts = " ".join(f"{k} {v:.4f}" for k, v in means.items())
            lines.append(f"{clip.name}: {clip.frames} frames  {parts}")
        else:
            lines.append(f"{clip.name}: {clip.frames} frames (no ground truth)")
    summary = result.summary()
    if summary:
        lines.append("mean over scored clips:")
        lines += [f"  {k}: {v:.4f}" for k, v in summary.items()]
    return "\n".join(lines)
