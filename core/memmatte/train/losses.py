"""The training losses of the paper (section 5.2): image terms and temporal terms.

Notation: ``a``/``F`` are the predicted alpha and foreground, ``a*``/``F*`` the ground truth;
``mean`` is the average over every element (batch, frames, channels, pixels). Tensors are
``(B, T, C, H, W)`` clips or ``(B, C, H, W)`` frames (read as clips of one frame).

    L_im  = L_alpha + L_lap + L_com                          (paper eq. 4-7)
    L_t   = L_tem-agg + L_tem                                (paper eq. 8-10)
    L_vid = L_im + L_t                                       (paper eq. 11)

:func:`matting_losses` returns every term by name ("alpha", "lap", "com", "tem_agg", "tem")
and their sum ("total"); the names are the keys of the ``[loss]`` table of a training config.
Three terms are not the paper's and weigh 0 unless asked for. ``"flicker"``, the L1 form of
L_tem on alpha, mean |da/dt - da*/dt|. L_tem squares a frame-to-frame change of a few 1e-3,
so its gradient vanishes exactly where real footage flickers (low alpha in the background);
the L1 form is what the held-out flicker figure measures. Another, ``"solid"``, weighs the
alpha error again where the truth is solid (exactly 0 or 1 in 8-bit labels): low alpha in a
background and holes in a body are what a compositor sees first, and L_alpha, averaged with
the edges, lets a fine-tune trade them for edge detail. ``"solid_balanced"`` is the same
error with background and interior weighing alike (each the mean over its own pixels): with
``"solid"`` a dim body with few exact ones loses to its background's many exact zeros.

Every loss is computed in float32 (predictions made under autocast arrive as float16). The
Laplacian and temporal terms are linear in their argument, so they are computed once on the
error ``a - a*`` rather than on prediction and truth separately: same value, half the work.
"""
from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor

from ..model.network import MattingOutput

TERMS = ("alpha", "lap", "com", "tem_agg", "tem")  # the paper's, each weighing 1 by default
EXTRA_TERMS = ("flicker", "solid", "solid_balanced")  # weigh 0 unless a config asks for them
DEFAULT_WEIGHTS: dict[str, float] = {**{name: 1.0 for name in TERMS},
                                     **{name: 0.0 for name in EXTRA_TERMS}}
PYRAMID_LEVELS = 5

# The 5-tap binomial (Gaussian) kernel [1, 4, 6, 4, 1] / 16, applied separably.
_TAPS = (1.0, 4.0, 6.0, 4.0, 1.0)


# ================================================================ shapes


def as_clip(x: Tensor, name: str = "tensor") -> Tensor:
    """``(B, C, H, W)`` -> ``(B, 1, C, H, W)``; ``(B, T, C, H, W)`` unchanged; float32."""
    if x.dim() == 4:
        x = x.unsqueeze(1)
    elif x.dim() != 5:
        raise ValueError(f"{name}: expected (B, T, C, H, W) or (B, C, H, W), got shape "
                         f"{tuple(x.shape)}")
    return x.float()


def _same_shape(pred: Tensor, true: Tensor, name: str) -> None:
    if pred.shape != true.shape:
        raise ValueError(f"{name}: prediction {tuple(pred.shape)} and truth {tuple(true.shape)} "
                         "differ in shape")


# ================================================================ L_alpha


def alpha_loss(pred_pha: Tensor, true_pha: Tensor) -> Tensor:
    """L_alpha = mean |a - a*|  (paper eq. 4, the L1 alpha loss)."""
    _same_shape(pred_pha, true_pha, "alpha")
    return (pred_pha.float() - true_pha.float()).abs().mean()


# ================================================================ L_lap


def _reflect_index(n: int, pad: int, device: torch.device) -> Tensor:
    """Indices of ``range(-pad, n + pad)`` reflected into ``[0, n)`` about the edge pixels
    (numpy's "reflect": ``-1 -> 1``), repeating the reflection when ``pad >= n``, so that the
    coarse levels of a small image (2 or 1 pixels wide) pad like the fine ones."""
    i = torch.arange(-pad, n + pad, device=device)
    if n == 1:
        return torch.zeros_like(i)
    period = 2 * (n - 1)
    i = i.remainder(period)
    return torch.where(i >= n, period - i, i)


def gaussian_blur(x: Tensor) -> Tensor:
    """Separable 5x5 blur with the kernel [1, 4, 6, 4, 1] / 16 (outer product with itself),
    reflect padding; ``x`` is ``(N, C, H, W)``, every channel blurred on its own."""
    n, c, h, w = x.shape
    taps = torch.tensor(_TAPS, dtype=x.dtype, device=x.device) / 16.0
    flat = x.reshape(n * c, 1, h, w)
    flat = flat.index_select(2, _reflect_index(h, 2, x.device))
    flat = F.conv2d(flat, taps.view(1, 1, 5, 1))
    flat = flat.index_select(3, _reflect_index(w, 2, x.device))
    flat = F.conv2d(flat, taps.view(1, 1, 1, 5))
    return flat.reshape(n, c, h, w)


def pyr_down(x: Tensor) -> Tensor:
    """Blur, then keep every other pixel (rows and columns 0, 2, 4, ...): an ``H x W`` image
    becomes ``ceil(H/2) x ceil(W/2)``, so odd sizes need no cropping."""
    return gaussian_blur(x)[:, :, ::2, ::2]


def pyr_up(x: Tensor, size: tuple[int, int]) -> Tensor:
    """Inverse of :func:`pyr_down`'s sampling: put ``x`` on the even pixels of a zero image of
    ``size`` (zero insertion), multiply by 4 (the kernel's mass on the even grid is 1/4) and
    blur. A constant image comes back constant, borders included (the reflect padding keeps
    the zero-insertion pattern). A dimension of size 1 has no zeros inserted, so it is not
    scaled: 1x1 -> 1x1 is the identity."""
    n, c, h, w = x.shape
    if (h, w) != ((size[0] + 1) // 2, (size[1] + 1) // 2):
        raise ValueError(f"pyr_up: {h}x{w} does not upsample to {size[0]}x{size[1]}")
    gain = (2.0 if size[0] > 1 else 1.0) * (2.0 if size[1] > 1 else 1.0)
    up = x.new_zeros(n, c, size[0], size[1])
    up[:, :, ::2, ::2] = x * gain
    return gaussian_blur(up)


def laplacian_pyramid(x: Tensor, levels: int = PYRAMID_LEVELS, residual: bool = False
                      ) -> list[Tensor]:
    """Laplacian pyramid of ``x`` (``(N, C, H, W)``, or a clip ``(B, T, C, H, W)``, read as
    ``B*T`` frames).

    Level s (s = 1 the finest, full size) is ``G_s - up(down(G_s))`` with ``G_1 = x`` and
    ``G_{s+1} = down(G_s)``: ``levels`` band-pass images. With ``residual=True`` the low-pass
    ``G_{levels+1}`` is appended, and the list then holds everything: ``x`` is rebuilt by
    ``G_s = Lpyr_s + up(G_{s+1})`` from the coarsest level up. A constant image has all
    band-pass levels zero; only its residual is non-zero.
    """
    if x.dim() == 5:
        x = x.flatten(0, 1)
    if x.dim() != 4:
        raise ValueError(f"laplacian_pyramid: expected (N, C, H, W), got {tuple(x.shape)}")
    pyramid = []
    current = x
    for _ in range(levels):
        down = pyr_down(current)
        pyramid.append(current - pyr_up(down, (current.shape[2], current.shape[3])))
        current = down
    if residual:
        pyramid.append(current)
    return pyramid


def laplacian_loss(pred_pha: Tensor, true_pha: Tensor, levels: int = PYRAMID_LEVELS
                   ) -> Tensor:
    """L_lap = sum_{s=1..5} 2^(s-1) * mean |Lpyr_s(a) - Lpyr_s(a*)|  (paper eq. 5).

    s = 1 is the full-size band, s = 5 the coarsest (weight 16): coarse bands hold fewer
    pixels and smaller values, the weights balance them. Only the band-pass levels count
    (not the low-pass residual), so a constant offset costs nothing here; L_alpha sees it.
    The pyramid is linear: it is taken once, of ``a - a*``.
    """
    _same_shape(pred_pha, true_pha, "lap")
    error = pred_pha.float() - true_pha.float()
    bands = laplacian_pyramid(error, levels)
    return sum(2.0 ** s * band.abs().mean() for s, band in enumerate(bands))  # type: ignore


# ================================================================ L_com


def composition_loss(pred_fgr: Tensor, true_fgr: Tensor, true_pha: Tensor) -> Tensor:
    """L_com = mean |a* F - a* F*| = mean |a* (F - F*)|  (paper eq. 6).

    The foreground L1 weighted by the true alpha: the foreground only matters where it shows
    (its colour behind a fully transparent pixel is undefined). The mean runs over the three
    colour channels of every pixel.
    """
    _same_shape(pred_fgr, true_fgr, "com")
    if true_pha.shape[:-3] + true_pha.shape[-2:] != true_fgr.shape[:-3] + true_fgr.shape[-2:]:
        raise ValueError(f"com: alpha {tuple(true_pha.shape)} does not match foreground "
                         f"{tuple(true_fgr.shape)}")
    return (true_pha.float() * (pred_fgr.float() - true_fgr.float())).abs().mean()


# ================================================================ L_tem-agg


def area_downsample(x: Tensor, size: tuple[int, int]) -> Tensor:
    """Average ``x`` (``(..., C, H, W)``) over the area each low-resolution pixel covers."""
    lead = x.shape[:-2]
    flat = x.reshape(-1, 1, x.shape[-2], x.shape[-1])
    return F.adaptive_avg_pool2d(flat, size).reshape(*lead, *size)


def aggregation_loss(lr_fgr: Tensor, lr_pha: Tensor, true_fgr: Tensor, true_pha: Tensor
                     ) -> Tensor:
    """L_tem-agg = mean |a_lr - down(a*)| + mean |F_lr - down(F*)|  (paper eq. 8).

    ``a_lr``, ``F_lr``: the low-resolution head on the memory's output (1/16 of the network
    resolution); ``down``: area averaging of the truth to the head's size. Direct supervision
    of the attention memory.
    """
    size = (lr_pha.shape[-2], lr_pha.shape[-1])
    if (lr_fgr.shape[-2], lr_fgr.shape[-1]) != size:
        raise ValueError(f"tem_agg: lr_fgr {tuple(lr_fgr.shape)} and lr_pha "
                         f"{tuple(lr_pha.shape)} differ in size")
    down_pha = area_downsample(true_pha.float(), size)
    down_fgr = area_downsample(true_fgr.float(), size)
    _same_shape(lr_pha, down_pha, "tem_agg (alpha)")
    _same_shape(lr_fgr, down_fgr, "tem_agg (foreground)")
    return ((lr_pha.float() - down_pha).abs().mean()
            + (lr_fgr.float() - down_fgr).abs().mean())


# ================================================================ L_tem


def time_derivative(x: Tensor) -> Tensor:
    """d/dt of a clip ``(B, T, C, H, W)``: ``x[:, t+1] - x[:, t]``, ``T - 1`` frames."""
    if x.dim() != 5 or x.shape[1] < 2:
        raise ValueError(f"d/dt needs a clip (B, T, C, H, W) with T >= 2, got {tuple(x.shape)}")
    return x[:, 1:] - x[:, :-1]


def temporal_loss(pred_fgr: Tensor, pred_pha: Tensor, true_fgr: Tensor, true_pha: Tensor
                  ) -> Tensor:
    """L_tem = mean (da/dt - da*/dt)^2 + mean (dF/dt - dF*/dt)^2  (paper eq. 9).

    d/dt is the difference of consecutive frames. It penalises flicker the truth does not
    have. Linear in its argument: computed as d/dt of the error.
    """
    _same_shape(pred_pha, true_pha, "tem (alpha)")
    _same_shape(pred_fgr, true_fgr, "tem (foreground)")
    d_pha = time_derivative(pred_pha.float() - true_pha.float())
    d_fgr = time_derivative(pred_fgr.float() - true_fgr.float())
    return d_pha.square().mean() + d_fgr.square().mean()


def flicker_loss(pred_pha: Tensor, true_pha: Tensor) -> Tensor:
    """mean |da/dt - da*/dt|: L_tem on alpha in L1 form (see the module's docstring)."""
    _same_shape(pred_pha, true_pha, "flicker (alpha)")
    return time_derivative(pred_pha.float() - true_pha.float()).abs().mean()


# 8-bit labels: a truth below half a step above 0 (or above 1 - half a step) is solid.
SOLID_MARGIN = 0.5 / 255.0


def solid_masks(true_pha: Tensor) -> tuple[Tensor, Tensor]:
    """Where the truth is exactly 0 (background) and exactly 1 (interior), in 8-bit terms."""
    t = true_pha.float()
    return t <= SOLID_MARGIN, t >= 1.0 - SOLID_MARGIN


def solid_loss(pred_pha: Tensor, true_pha: Tensor) -> Tensor:
    """mean |a - a*| * [a* solid]: the alpha error where the truth is exactly 0 or 1 (mean over
    every pixel, so a clip with little solid area weighs little)."""
    _same_shape(pred_pha, true_pha, "solid (alpha)")
    zero, one = solid_masks(true_pha)
    return ((pred_pha.float() - true_pha.float()).abs() * (zero | one)).mean()


def solid_balanced_loss(pred_pha: Tensor, true_pha: Tensor) -> Tensor:
    """(mean |a - a*| over a* = 0 + mean |a - a*| over a* = 1) / 2, over the whole batch; a
    class with no pixel counts 0."""
    _same_shape(pred_pha, true_pha, "solid_balanced (alpha)")
    error = (pred_pha.float() - true_pha.float()).abs()
    means = [(error * mask).sum() / mask.sum().clamp(min=1) for mask in solid_masks(true_pha)]
    return (means[0] + means[1]) / 2


# ================================================================ all together


def _weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    merged = dict(DEFAULT_WEIGHTS)
    if weights:
        unknown = sorted(set(weights) - set(DEFAULT_WEIGHTS))
        if unknown:
            raise ValueError(f"unknown loss weights {unknown}; valid: "
                             f"{', '.join(DEFAULT_WEIGHTS)}")
        for name, value in weights.items():
            value = float(value)
            if not value >= 0.0:  # also rejects NaN
                raise ValueError(f"loss weight {name} must be >= 0, got {value}")
            merged[name] = value
    return merged


def matting_losses(pred: MattingOutput, true_fgr: Tensor, true_pha: Tensor, *,
                   temporal: bool = True, weights: Mapping[str, float] | None = None
                   ) -> dict[str, Tensor]:
    """The paper's L_vid: every term by name, weighted, and their sum ``"total"``.

    - ``"alpha"``: L_alpha, ``"lap"``: L_lap, ``"com"``: L_com (the image terms, always);
    - ``"tem_agg"``: only when ``pred.lr_pha`` and ``pred.lr_fgr`` exist (``with_lr=True``);
    - ``"tem"``: only when ``temporal`` and the clip has T > 1 frames;
    - ``"flicker"``: likewise, and only when weighted (it is not the paper's);
    - ``"solid"``, ``"solid_balanced"``: only when weighted (not the paper's).

    ``weights`` (keys among TERMS and EXTRA_TERMS; a missing paper term weighs 1, a missing
    extra term 0)
    scale the terms: each returned term is ``weight * L`` and ``total`` is their sum. A term
    of weight 0 is not computed and not returned. Truth is ``(B, T, 3|1, H, W)`` like the
    prediction (or ``(B, 3|1, H, W)``).
    """
    w = _weights(weights)
    fgr, pha = as_clip(pred.fgr, "pred.fgr"), as_clip(pred.pha, "pred.pha")
    t_fgr, t_pha = as_clip(true_fgr, "true_fgr"), as_clip(true_pha, "true_pha")
    _same_shape(fgr, t_fgr, "foreground")
    _same_shape(pha, t_pha, "alpha")
    if pha.shape[2] != 1 or fgr.shape[2] != 3:
        raise ValueError(f"expected alpha with 1 channel and foreground with 3, got "
                         f"{tuple(pha.shape)} and {tuple(fgr.shape)}")
    terms: dict[str, Tensor] = {}
    if w["alpha"]:
        terms["alpha"] = w["alpha"] * alpha_loss(pha, t_pha)
    if w["lap"]:
        terms["lap"] = w["lap"] * laplacian_loss(pha, t_pha)
    if w["com"]:
        terms["com"] = w["com"] * composition_loss(fgr, t_fgr, t_pha)
    if w["tem_agg"] and pred.lr_pha is not None and pred.lr_fgr is not None:
        lr_fgr, lr_pha = as_clip(pred.lr_fgr, "pred.lr_fgr"), as_clip(pred.lr_pha, "pred.lr_pha")
        terms["tem_agg"] = w["tem_agg"] * aggregation_loss(lr_fgr, lr_pha, t_fgr, t_pha)
    if w["tem"] and temporal and pha.shape[1] > 1:
        terms["tem"] = w["tem"] * temporal_loss(fgr, pha, t_fgr, t_pha)
    if w["flicker"] and temporal and pha.shape[1] > 1:
        terms["flicker"] = w["flicker"] * flicker_loss(pha, t_pha)
    if w["solid"]:
        terms["solid"] = w["solid"] * solid_loss(pha, t_pha)
    if w["solid_balanced"]:
        terms["solid_balanced"] = w["solid_balanced"] * solid_balanced_loss(pha, t_pha)
    if terms:
        total = torch.stack(list(terms.values())).sum()
    else:  # every weight 0: a zero that still backpropagates (to nothing)
        total = pha.sum() * 0.0
    return {**terms, "total": total}
