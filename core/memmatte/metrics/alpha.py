"""Per-frame alpha-matte errors, scaled exactly as in RVM's benchmark tables.

Notation: ``p`` is the predicted alpha, ``g`` the ground truth, both HxW float32 in
[0, 1], and ``N = H*W``. Per-pixel arithmetic stays in float32 like the benchmark;
reductions accumulate in float64 so large frames do not lose digits to summation order.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import ndimage

from ._validate import as_alpha

GRAD_SIGMA = 1.4
GRAD_EPSILON = 0.01
CONN_STEP = 0.1
CONN_MIN_RESIDUAL = 0.15

# 4-connectivity: a cross, so diagonal neighbours form separate components (as OpenCV's connectivity=4).
_FOUR_CONNECTED = ndimage.generate_binary_structure(2, 1)


def _pair(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    g = as_alpha("gt", gt)
    return as_alpha("pred", pred, g.shape), g


def mad(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean absolute difference: ``MAD = (1/N) * sum_x |p(x) - g(x)| * 1e3``."""
    p, g = _pair(pred, gt)
    return float(np.mean(np.abs(p - g), dtype=np.float64) * 1e3)


def mse(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean squared difference: ``MSE = (1/N) * sum_x (p(x) - g(x))**2 * 1e3``."""
    p, g = _pair(pred, gt)
    return float(np.mean(np.square(p - g), dtype=np.float64) * 1e3)


@lru_cache(maxsize=8)
def grad_kernels(sigma: float = GRAD_SIGMA, epsilon: float = GRAD_EPSILON) -> tuple[np.ndarray, np.ndarray]:
    """First-derivative-of-Gaussian kernels ``(Kx, Ky)`` used by :func:`grad` (float64, read-only).

    ``h = ceil(sigma * sqrt(-2 * ln(sqrt(2*pi) * sigma * epsilon)))`` (4 for the defaults, so 9x9);
    ``G(u) = exp(-u**2 / (2 sigma**2)) / (sigma sqrt(2 pi))``, ``G'(u) = -u G(u) / sigma**2``;
    ``Kx[i, j] = G(i - h) * G'(j - h)`` (smooth along rows/y, differentiate along columns/x),
    scaled to unit Frobenius norm; ``Ky = Kx.T``.
    """
    log_arg = math.sqrt(2.0 * math.pi) * sigma * epsilon
    if sigma <= 0 or not 0 < log_arg < 1:
        raise ValueError(f"need sigma > 0 and 0 < sqrt(2*pi)*sigma*epsilon < 1, got sigma={sigma}, epsilon={epsilon}")
    half = math.ceil(sigma * math.sqrt(-2.0 * math.log(log_arg)))
    u = np.arange(-half, half + 1, dtype=np.float64)
    gauss = np.exp(-(u**2) / (2.0 * sigma**2)) / (sigma * math.sqrt(2.0 * math.pi))
    dgauss = -u * gauss / sigma**2
    kx = np.outer(gauss, dgauss)
    kx /= math.sqrt(float(np.sum(kx**2)))
    ky = np.ascontiguousarray(kx.T)
    # Cached and shared between callers, so nobody may edit them in place.
    kx.flags.writeable = False
    ky.flags.writeable = False
    return kx, ky


def _minmax_stretch(a: np.ndarray) -> np.ndarray:
    """``(a - min a) / (max a - min a)`` as float32; a (near-)constant frame becomes all zeros.

    Mirrors OpenCV's NORM_MINMAX, which sets the scale to 0 when the range is at most
    DBL_EPSILON instead of dividing by (almost) zero.
    """
    lo, hi = float(a.min()), float(a.max())
    span = hi - lo
    if span <= np.finfo(np.float64).eps:
        return np.zeros_like(a, dtype=np.float32)
    return ((a.astype(np.float64) - lo) / span).astype(np.float32)


def _gradient_magnitude(a: np.ndarray) -> np.ndarray:
    """``sqrt((a * Kx)**2 + (a * Ky)**2)`` with 2-D correlation and replicated borders, in float32."""
    kx, ky = grad_kernels()
    # The benchmark filters float32 images with a float32 kernel; 'nearest' is edge replication.
    fx = ndimage.correlate(a, kx.astype(np.float32), output=np.float32, mode="nearest")
    fy = ndimage.correlate(a, ky.astype(np.float32), output=np.float32, mode="nearest")
    return np.sqrt(fx * fx + fy * fy)


def grad(pred: np.ndarray, gt: np.ndarray, stretch: bool = True) -> float:
    """Gradient error: ``Grad = sum_x (|grad g|(x) - |grad p|(x))**2 / 1e3`` (a sum: grows with resolution).

    ``stretch=True`` is the LR script: each frame is first min-max stretched to [0, 1]
    on its own (a constant frame becomes zeros). ``stretch=False`` is the HR script.
    """
    p, g = _pair(pred, gt)
    if stretch:
        p, g = _minmax_stretch(p), _minmax_stretch(g)
    diff = _gradient_magnitude(g) - _gradient_magnitude(p)
    return float(np.sum(np.square(diff, dtype=np.float64)) / 1e3)


def _largest_component(mask: np.ndarray) -> np.ndarray:
    """Boolean mask of the largest 4-connected component of ``mask`` (all False if it is empty)."""
    labels, count = ndimage.label(mask, structure=_FOUR_CONNECTED)
    if count == 0:
        return np.zeros(mask.shape, dtype=bool)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0  # label 0 is the background, never a candidate
    # scipy numbers components in raster order of their first pixel and argmax keeps the
    # first maximum, so a tie goes to the component OpenCV would also have labelled first.
    return labels == int(np.argmax(sizes))


def conn(pred: np.ndarray, gt: np.ndarray) -> float:
    """Connectivity error (LR script only): ``Conn = sum_x |phi_g(x) - phi_p(x)| / 1e3``.

    Thresholds ``tau_k = 0.1 k``, k = 0..10, come from float64 ``np.arange(0, 1.1, 0.1)``
    (so ``tau_3 = 0.30000000000000004``). ``Omega_k`` is the largest 4-connected component
    of ``{g >= tau_k and p >= tau_k}``. ``lambda(x) = tau_{k*-1}`` for the smallest k >= 1
    with ``x not in Omega_k``, or 1 if x is in every ``Omega_k``. With ``d = a - lambda``,
    ``phi_a = 1 - d * [d >= 0.15]`` for a in {g, p}.
    """
    p, g = _pair(pred, gt)
    thresholds = np.arange(0.0, 1.0 + CONN_STEP, CONN_STEP)
    # Widening float32 -> float64 is exact, so this compares float32 alpha against float64
    # thresholds regardless of numpy's scalar-promotion rules; 8-bit values that land on a
    # threshold (51/255 -> 0.2, ...) are then >= it.
    p64, g64 = p.astype(np.float64), g.astype(np.float64)

    # The benchmark keeps the level map in float32, so lambda is float32(tau).
    level = np.ones(g.shape, dtype=np.float32)
    unassigned = np.ones(g.shape, dtype=bool)
    for k in range(1, len(thresholds)):
        omega = _largest_component((g64 >= thresholds[k]) & (p64 >= thresholds[k]))
        level[unassigned & ~omega] = thresholds[k - 1]
        unassigned &= omega
        if not unassigned.any():
            break

    def phi(a: np.ndarray) -> np.ndarray:
        d = a - level
        return np.float32(1.0) - d * (d >= CONN_MIN_RESIDUAL)

    return float(np.sum(np.abs(phi(g) - phi(p)), dtype=np.float64) / 1e3)


def dtssd(pred_t: np.ndarray, pred_prev: np.ndarray, gt_t: np.ndarray, gt_prev: np.ndarray) -> float:
    """Temporal coherence for frame t >= 1:
    ``dtSSD = sqrt((1/N) * sum_x ((p_t - p_{t-1}) - (g_t - g_{t-1}))**2) * 1e2``.

    Frame 0 of a clip has no predecessor; :func:`memmatte.metrics.score_clip` records 0 for it.
    """
    g = as_alpha("gt_t", gt_t)
    shape = g.shape
    p = as_alpha("pred_t", pred_t, shape)
    p_prev = as_alpha("pred_prev", pred_prev, shape)
    g_prev = as_alpha("gt_prev", gt_prev, shape)
    residual = (p - p_prev) - (g - g_prev)
    return float(math.sqrt(np.mean(np.square(residual), dtype=np.float64)) * 1e2)
