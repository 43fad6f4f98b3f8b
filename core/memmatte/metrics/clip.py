"""Score whole clips and pool clips into the single numbers RVM's tables report."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .alpha import conn, dtssd, grad, mad, mse
from .foreground import fgr_mad, fgr_mse

ClipScores = dict[str, list[float]]


def to_unit_float(img_uint8: np.ndarray) -> np.ndarray:
    """8-bit image -> float32 ``img / 255``, the way the benchmark reads its PNG/JPG files.

    Scoring 8-bit-rounded values is what makes our numbers comparable: a float prediction
    that was never quantised would score (slightly) differently.
    """
    arr = np.asarray(img_uint8)
    if arr.dtype != np.uint8:
        raise ValueError(f"img_uint8: expected dtype uint8, got {arr.dtype} with shape {arr.shape}")
    return arr.astype(np.float32) / np.float32(255)


def score_clip(
    pred_phas: Sequence[np.ndarray],
    gt_phas: Sequence[np.ndarray],
    pred_fgrs: Sequence[np.ndarray] | None = None,
    gt_fgrs: Sequence[np.ndarray] | None = None,
    *,
    hr: bool = False,
) -> ClipScores:
    """Per-frame metric lists for one clip, keyed as in RVM's workbook.

    LR (default): ``pha_mad, pha_mse, pha_grad`` (min-max stretched), ``pha_conn, pha_dtssd``
    and, with foregrounds, ``fgr_mad, fgr_mse``.
    ``hr=True``: ``pha_mad, pha_mse, pha_grad`` (no stretch), ``pha_dtssd`` and, with
    foregrounds, ``fgr_mse`` only — the HR script has neither Conn nor fgr MAD.

    ``pha_dtssd[0]`` is 0 (frame 0 has no predecessor) and is kept, because the benchmark
    averages it in. Frames are HxW (alpha) / HxWx3 (foreground) float32 arrays in [0, 1];
    a TxHxW array works as a sequence too.
    """
    n = len(gt_phas)
    if n == 0:
        raise ValueError("gt_phas: expected at least one frame, got 0")
    if len(pred_phas) != n:
        raise ValueError(f"pred_phas: expected {n} frames to match gt_phas, got {len(pred_phas)}")
    if (pred_fgrs is None) != (gt_fgrs is None):
        raise ValueError("pred_fgrs and gt_fgrs must be given together (both or neither)")
    with_fgr = pred_fgrs is not None and gt_fgrs is not None
    if with_fgr:
        for name, seq in (("pred_fgrs", pred_fgrs), ("gt_fgrs", gt_fgrs)):
            if len(seq) != n:
                raise ValueError(f"{name}: expected {n} frames to match gt_phas, got {len(seq)}")

    scorer = ClipScorer(with_fgr=with_fgr, hr=hr)
    for t in range(n):
        scorer.add(pred_phas[t], gt_phas[t], pred_fgrs[t] if with_fgr else None,
                   gt_fgrs[t] if with_fgr else None)
    return scorer.scores


class ClipScorer:
    """Scores a clip frame by frame, holding only the previous frame (for dtSSD).

    ``scores`` is what :func:`score_clip` returns for the frames added so far; use this form
    when a clip's frames do not fit in memory together.
    """

    def __init__(self, with_fgr: bool, hr: bool = False) -> None:
        self.with_fgr = with_fgr
        self.hr = hr
        keys = ["pha_mad", "pha_mse", "pha_grad"] + ([] if hr else ["pha_conn"]) + ["pha_dtssd"]
        if with_fgr:
            keys += ["fgr_mse"] if hr else ["fgr_mad", "fgr_mse"]
        self.scores: ClipScores = {key: [] for key in keys}
        self._previous: tuple[np.ndarray, np.ndarray] | None = None

    def add(self, pred_pha: np.ndarray, gt_pha: np.ndarray, pred_fgr: np.ndarray | None = None,
            gt_fgr: np.ndarray | None = None) -> None:
        if self.with_fgr and (pred_fgr is None or gt_fgr is None):
            raise ValueError("this scorer scores foregrounds: pred_fgr and gt_fgr are needed")
        p, g = pred_pha, gt_pha
        s = self.scores
        s["pha_mad"].append(mad(p, g))
        s["pha_mse"].append(mse(p, g))
        s["pha_grad"].append(grad(p, g, stretch=not self.hr))
        if not self.hr:
            s["pha_conn"].append(conn(p, g))
        prev = self._previous
        s["pha_dtssd"].append(0.0 if prev is None else dtssd(p, prev[0], g, prev[1]))
        self._previous = (p, g)
        if self.with_fgr:
            if not self.hr:
                s["fgr_mad"].append(fgr_mad(pred_fgr, gt_fgr, g))
            s["fgr_mse"].append(fgr_mse(pred_fgr, gt_fgr, g))


def average_clips(per_clip: list[ClipScores]) -> dict[str, float]:
    """Pool clips the way RVM's workbook does: average per frame index, then over indices.

    ``A_j = mean over clips c with a finite value at frame j of v[c][j]`` and
    ``score = mean_j A_j`` over the indices j that have any value. With equal clip lengths
    this is the plain mean over all frames of all clips; with unequal lengths each frame
    index weighs the same, however many clips reach it. ``nan`` entries (e.g. fgr metrics on
    a frame with no foreground) are skipped like the spreadsheet's empty cells; a metric with
    no finite value at all gives ``nan``. Every clip must carry the same metric names.
    """
    if not per_clip:
        raise ValueError("per_clip: expected at least one clip's scores, got an empty list")
    names = list(per_clip[0])
    for i, clip in enumerate(per_clip):
        if set(clip) != set(names):
            raise ValueError(f"per_clip[{i}]: expected metrics {sorted(names)}, got {sorted(clip)}")

    pooled: dict[str, float] = {}
    for name in names:
        width = max(len(clip[name]) for clip in per_clip)
        table = np.full((len(per_clip), width), np.nan)
        for row, clip in enumerate(per_clip):
            table[row, : len(clip[name])] = clip[name]
        present = ~np.isnan(table)
        counts = present.sum(axis=0)
        sums = np.where(present, table, 0.0).sum(axis=0)
        reached = counts > 0
        pooled[name] = float(np.mean(sums[reached] / counts[reached])) if reached.any() else math.nan
    return pooled
