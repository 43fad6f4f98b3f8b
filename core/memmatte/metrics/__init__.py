"""Matting evaluation metrics that reproduce Robust Video Matting's benchmark numbers.

Per-frame: :func:`mad`, :func:`mse`, :func:`grad`, :func:`conn`, :func:`dtssd` (alpha) and
:func:`fgr_mse`, :func:`fgr_mad` (foreground). Per clip: :func:`score_clip`; across clips:
:func:`average_clips`. See shared/METRICS.md for the definitions and scales.
"""
from __future__ import annotations

from .alpha import conn, dtssd, grad, grad_kernels, mad, mse
from .clip import ClipScorer, ClipScores, average_clips, score_clip, to_unit_float
from .foreground import fgr_mad, fgr_mse

__all__ = [
    "ClipScorer",
    "ClipScores",
    "average_clips",
    "conn",
    "dtssd",
    "fgr_mad",
    "fgr_mse",
    "grad",
    "grad_kernels",
    "mad",
    "mse",
    "score_clip",
    "to_unit_float",
]
