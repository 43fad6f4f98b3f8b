"""Foreground colour errors, scored only where the ground-truth alpha is non-zero.

Scored set ``S = {x : g(x) > 0}`` (for 8-bit GT: alpha >= 1/255). Errors are averaged
over all ``|S| * 3`` values, every scored pixel and every channel, and scaled by 1e3.
If no pixel has ``g > 0`` the mean is undefined: these functions then return ``nan``
(no exception, no warning), and :func:`memmatte.metrics.average_clips` skips it.
"""
from __future__ import annotations

import math

import numpy as np

from ._validate import as_alpha, as_foreground


def _scored_differences(pred_fgr: np.ndarray, gt_fgr: np.ndarray, gt_pha: np.ndarray) -> np.ndarray:
    """``F_p - F_g`` at the pixels of S, shape (|S|, 3), float32."""
    pha = as_alpha("gt_pha", gt_pha)
    gt = as_foreground("gt_fgr", gt_fgr, pha.shape)
    pred = as_foreground("pred_fgr", pred_fgr, pha.shape)
    scored = pha > 0
    return pred[scored] - gt[scored]


def fgr_mse(pred_fgr: np.ndarray, gt_fgr: np.ndarray, gt_pha: np.ndarray) -> float:
    """``mean_{x in S, c in RGB} (F_p - F_g)**2 * 1e3``; ``nan`` when S is empty."""
    diff = _scored_differences(pred_fgr, gt_fgr, gt_pha)
    if diff.size == 0:
        return math.nan
    return float(np.mean(np.square(diff), dtype=np.float64) * 1e3)


def fgr_mad(pred_fgr: np.ndarray, gt_fgr: np.ndarray, gt_pha: np.ndarray) -> float:
    """``mean_{x in S, c in RGB} |F_p - F_g| * 1e3``; ``nan`` when S is empty."""
    diff = _scored_differences(pred_fgr, gt_fgr, gt_pha)
    if diff.size == 0:
        return math.nan
    return float(np.mean(np.abs(diff), dtype=np.float64) * 1e3)
