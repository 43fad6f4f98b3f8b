"""Clip-consistent augmentation and the compositing rule.

Every random choice (crop, flip, colour jitter, blur) is drawn once per clip and applied to all
of its frames: a per-frame choice would make the clip flicker and teach the temporal parts of
the network that flicker is normal. The only per-frame change is a slow drift of the crop
offset, which adds camera-like motion to clips that have little.

Foreground (fgr, pha) and background (bgr) are augmented independently, before compositing,
because in the real world they come from different places; sensor noise is added after.

Example:
    >>> import numpy as np, torch
    >>> s = {"fgr": torch.rand(2, 3, 40, 60), "pha": torch.rand(2, 1, 40, 60),
    ...      "bgr": torch.rand(2, 3, 40, 60)}
    >>> out = augment(s, np.random.default_rng(0), (32, 48))
    >>> out["com"].shape
    torch.Size([2, 3, 32, 48])
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

Size = tuple[int, int]
Sample = dict[str, Tensor]


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges and probabilities of the augmentations (all per clip)."""

    crop_scale: tuple[float, float] = (0.45, 1.0)  # area of the crop / largest crop of that aspect
    crop_aspect_jitter: float = 0.1  # log-aspect range of the crop around the target's
    drift: float = 0.01  # max crop-offset speed, fraction of the crop size per frame
    flip_probability: float = 0.5
    jitter_probability: float = 0.8
    brightness: float = 0.15  # factor in [1 - b, 1 + b]
    contrast: float = 0.15
    saturation: float = 0.25
    hue: float = 0.04  # fraction of a full turn around the grey axis
    blur_probability: float = 0.3  # background depth of field
    blur_sigma: tuple[float, float] = (0.5, 3.0)  # pixels of a 288-high output
    noise_probability: float = 0.4
    noise_sigma: tuple[float, float] = (0.002, 0.02)


def composite(fgr: Tensor, pha: Tensor, bgr: Tensor) -> Tensor:
    """The matting equation: com = fgr * pha + bgr * (1 - pha), straight (unpremultiplied) fgr.

    Example:
        >>> composite(torch.ones(1, 3, 1, 1), torch.full((1, 1, 1, 1), 0.25),
        ...           torch.zeros(1, 3, 1, 1)).flatten().tolist()
        [0.25, 0.25, 0.25]
    """
    return fgr * pha + bgr * (1.0 - pha)


# ----------------------------------------------------------------------------- geometry

def crop_boxes(rng: np.random.Generator, T: int, src: Size, size: Size,
               scale: tuple[float, float] = (0.45, 1.0), aspect_jitter: float = 0.1,
               drift: float = 0.01) -> np.ndarray:
    """Integer crop boxes (T, 4) as (top, left, height, width); one size, slowly moving offset.

    The box has the target's aspect ratio (times a small jitter) and covers ``scale`` of the
    largest such box; its offset moves at a constant random velocity of at most ``drift`` times
    the box size per frame and stops at the image border.
    """
    hs, ws = src
    h, w = size
    aspect = (w / h) * math.exp(rng.uniform(-aspect_jitter, aspect_jitter))
    if ws / hs > aspect:
        hmax, wmax = hs, hs * aspect
    else:
        hmax, wmax = ws / aspect, ws
    k = math.sqrt(rng.uniform(*scale))
    bh = int(min(hs, max(1, round(hmax * k))))
    bw = int(min(ws, max(1, round(wmax * k))))
    top0, left0 = rng.uniform(0, hs - bh), rng.uniform(0, ws - bw)
    vy, vx = rng.uniform(-drift, drift) * bh, rng.uniform(-drift, drift) * bw
    t = np.arange(T)
    top = np.clip(np.round(top0 + vy * t), 0, hs - bh)
    left = np.clip(np.round(left0 + vx * t), 0, ws - bw)
    return np.stack([top, left, np.full(T, bh), np.full(T, bw)], 1).astype(np.int64)


def resize(x: Tensor, size: Size) -> Tensor:
    """(N, C, h, w) -> (N, C, H, W), bilinear with antialiasing when shrinking.

    Bilinear weights are convex, so values stay in the input's range (alpha stays in [0, 1]);
    antialiasing keeps hair from aliasing when a large source is shrunk.
    """
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    shrink = x.shape[-2] > size[0] or x.shape[-1] > size[1]
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=shrink)


def crop_resize(x: Tensor, boxes: np.ndarray, size: Size) -> Tensor:
    """Crop frame t of (T, C, H, W) with boxes[t] (all of one size), then resize to ``size``."""
    bh, bw = int(boxes[0, 2]), int(boxes[0, 3])
    crops = torch.stack([x[t, :, b[0]:b[0] + bh, b[1]:b[1] + bw] for t, b in enumerate(boxes)])
    return resize(crops, size)


def cover_crop(x: Tensor, size: Size) -> Tensor:
    """Deterministic resize-to-cover and centre crop: the no-augmentation path, (T, C, H, W)."""
    hs, ws = x.shape[-2:]
    h, w = size
    k = max(h / hs, w / ws)
    nh, nw = max(h, int(math.ceil(hs * k - 1e-6))), max(w, int(math.ceil(ws * k - 1e-6)))
    x = resize(x, (nh, nw))
    top, left = (nh - h) // 2, (nw - w) // 2
    return x[..., top:top + h, left:left + w].contiguous()


# ----------------------------------------------------------------------------- colour

def hue_matrix(angle: float) -> Tensor:
    """Rotation by ``angle`` radians about the grey axis (1, 1, 1): a cheap hue shift.

    Greys are fixed points, so neutral colours never change; saturated colours turn around it.
    """
    c, s = math.cos(angle), math.sin(angle)
    k = 1.0 / math.sqrt(3.0)
    ax = torch.full((3,), k, dtype=torch.float64)
    cross = torch.tensor([[0.0, -k, k], [k, 0.0, -k], [-k, k, 0.0]], dtype=torch.float64)
    m = c * torch.eye(3, dtype=torch.float64) + s * cross + (1 - c) * torch.outer(ax, ax)
    return m.float()


def color_jitter(x: Tensor, brightness: float = 1.0, contrast: float = 1.0,
                 saturation: float = 1.0, hue: float = 0.0) -> Tensor:
    """Brightness, contrast (about mid-grey), saturation (about luma) and hue of (..., 3, H, W).

    Fixed pivots (0.5 grey, per-pixel luma) make the transform the same for every frame,
    whatever the frame shows.
    """
    x = x * brightness
    x = (x - 0.5) * contrast + 0.5
    luma = (0.299 * x[..., 0:1, :, :] + 0.587 * x[..., 1:2, :, :] + 0.114 * x[..., 2:3, :, :])
    x = luma + (x - luma) * saturation
    if hue != 0.0:
        x = torch.einsum("ij,...jhw->...ihw", hue_matrix(hue), x)
    return x.clamp(0.0, 1.0)


def _random_jitter(rng: np.random.Generator, x: Tensor, cfg: AugmentConfig) -> Tensor:
    """Colour jitter with factors drawn once for the whole clip (or none, per probability)."""
    if rng.random() >= cfg.jitter_probability:
        return x
    return color_jitter(x, 1 + rng.uniform(-cfg.brightness, cfg.brightness),
                        1 + rng.uniform(-cfg.contrast, cfg.contrast),
                        1 + rng.uniform(-cfg.saturation, cfg.saturation),
                        2 * math.pi * rng.uniform(-cfg.hue, cfg.hue))


def gaussian_blur(x: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur of (N, C, H, W) with reflected borders (no dark edge halo)."""
    if sigma <= 0:
        return x
    n, c, h, w = x.shape
    r = int(min(math.ceil(3 * sigma), h - 1, w - 1))
    if r < 1:
        return x
    k = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=torch.float32) / sigma) ** 2)
    k = k / k.sum()
    x = F.pad(x, (r, r, r, r), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


# ----------------------------------------------------------------------------- the whole chain

def augment(sample: Sample, rng: np.random.Generator, size: Size,
            config: AugmentConfig | None = None) -> Sample:
    """Augment one clip and composite it: {"fgr", "pha", "bgr"} -> same keys + "com" at ``size``.

    Inputs are (T, C, h, w) float tensors in [0, 1]; fgr and pha must share their size, bgr may
    have another. fgr/pha get one crop (with drift) and one flip; bgr gets its own crop, flip,
    colour jitter and maybe a depth-of-field blur; the composite may get Gaussian noise. pha
    stays in [0, 1]. Any "com" in the input is ignored (it is recomputed).
    """
    cfg = config or AugmentConfig()
    size = (int(size[0]), int(size[1]))
    fgr, pha, bgr = sample["fgr"], sample["pha"], sample["bgr"]
    if fgr.shape[-2:] != pha.shape[-2:] or fgr.shape[0] != pha.shape[0]:
        raise ValueError(f"fgr {tuple(fgr.shape)} and pha {tuple(pha.shape)} must share T, H, W")
    T = fgr.shape[0]
    # foreground: one crop for fgr and pha together, so the matte stays registered
    boxes = crop_boxes(rng, T, tuple(fgr.shape[-2:]), size, cfg.crop_scale,
                       cfg.crop_aspect_jitter, cfg.drift)
    fp = crop_resize(torch.cat([fgr, pha], dim=1), boxes, size)
    if rng.random() < cfg.flip_probability:
        fp = fp.flip(-1)
    fgr, pha = fp[:, :3], fp[:, 3:4].clamp(0.0, 1.0)
    fgr = _random_jitter(rng, fgr, cfg)
    # background: independent crop (a plain resize when it already has the target size)
    if tuple(bgr.shape[-2:]) != size:
        bboxes = crop_boxes(rng, T, tuple(bgr.shape[-2:]), size, cfg.crop_scale,
                            cfg.crop_aspect_jitter, cfg.drift)
        bgr = crop_resize(bgr, bboxes, size)
    if rng.random() < cfg.flip_probability:
        bgr = bgr.flip(-1)
    bgr = _random_jitter(rng, bgr, cfg)
    if rng.random() < cfg.blur_probability:
        bgr = gaussian_blur(bgr, rng.uniform(*cfg.blur_sigma) * size[0] / 288.0)
    fgr, bgr = fgr.contiguous(), bgr.clamp(0.0, 1.0).contiguous()
    pha = pha.contiguous()
    com = composite(fgr, pha, bgr)
    if rng.random() < cfg.noise_probability:
        sigma = rng.uniform(*cfg.noise_sigma)
        noise = rng.standard_normal(tuple(com.shape), dtype=np.float32)
        com = (com + sigma * torch.from_numpy(noise)).clamp(0.0, 1.0)
    return {"fgr": fgr, "pha": pha, "bgr": bgr, "com": com}
