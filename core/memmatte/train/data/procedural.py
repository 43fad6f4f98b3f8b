"""Procedural portrait clips with exact ground truth.

Real matting datasets are small and their alphas are hand-made estimates; a synthetic subject
whose alpha we construct ourselves has *exact* ground truth for every hard case the network must
learn: antialiased and feathered silhouettes, thin hair strands of partial alpha, semi-transparent
veils, textured colour, motion blur (alpha and premultiplied colour blurred consistently) and a
moving background.

Everything is rendered once on a "canonical" canvas (premultiplied colour, alpha, straight
colour) and warped per sub-frame (all sub-frames in one ``grid_sample`` call); motion blur is
the mean of the sub-frame warps. All randomness comes from
``numpy.random.default_rng([seed, index])``, so a clip is a pure function of (seed, index) and
of the config.

Example:
    >>> ds = ProceduralClips(T=2, size=(64, 96), seed=0, count=4)
    >>> s = ds[0]
    >>> s["fgr"].shape, s["pha"].shape, s["com"].dtype
    (torch.Size([2, 3, 64, 96]), torch.Size([2, 1, 64, 96]), torch.float32)
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset

from .augment import AugmentConfig, augment, composite

Size = tuple[int, int]
Sample = dict[str, Tensor]

# Below this alpha the colour of a motion-blurred pixel (P / A) is numerically meaningless.
_ALPHA_EPS = 1e-3
# Float dust left by bilinear weights that do not sum to exactly 1 (0.99999994 instead of 1):
# snapped so that "solid" and "clear" pixels are exactly 1 and 0.
_SNAP = 1e-5

# sRGB anchors of human skin tones, light to dark; a subject's skin is a random point between two.
_SKIN = np.array([[0.98, 0.85, 0.75], [0.93, 0.74, 0.60], [0.82, 0.60, 0.45],
                  [0.62, 0.42, 0.29], [0.42, 0.27, 0.18], [0.28, 0.18, 0.12]], np.float32)
_HAIR = np.array([[0.05, 0.04, 0.04], [0.20, 0.12, 0.07], [0.42, 0.26, 0.14],
                  [0.75, 0.60, 0.38], [0.55, 0.22, 0.10], [0.70, 0.70, 0.70]], np.float32)


@dataclass(frozen=True)
class ProceduralConfig:
    """What a procedural clip may contain; lengths are in pixels of a 288-pixel-high frame."""

    hair_strands: tuple[int, int] = (30, 90)  # number of loose strands (min, max)
    strand_alpha: tuple[float, float] = (0.2, 0.8)
    strand_width: tuple[float, float] = (0.5, 1.4)
    hair_cap_probability: float = 0.85  # solid hair volume on the head (else short/bald)
    veil_probability: float = 0.5  # a semi-transparent veil / glass patch
    veil_alpha: tuple[float, float] = (0.3, 0.6)
    feather: tuple[float, float] = (0.8, 4.0)  # silhouette ramp width (1 = plain antialiasing)
    motion: float = 1.0  # scales subject and background motion; 0 gives a still clip
    motion_blur_samples: int = 10  # most sub-frame renders per frame (1 = no motion blur)
    shutter: float = 0.5  # fraction of the frame interval the shutter is open


# ----------------------------------------------------------------------------- small helpers

def random_color(rng: np.random.Generator, sat: tuple[float, float] = (0.1, 0.9),
                 val: tuple[float, float] = (0.15, 0.95)) -> np.ndarray:
    """A random sRGB colour drawn in HSV (uniform hue), float32 (3,)."""
    h, s, v = rng.random(), rng.uniform(*sat), rng.uniform(*val)
    k = (np.array([5.0, 3.0, 1.0]) + h * 6.0) % 6.0
    rgb = v - v * s * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)
    return rgb.astype(np.float32)


def value_noise(rng: np.random.Generator, h: int, w: int, cells: float, octaves: int = 3,
                persistence: float = 0.5) -> Tensor:
    """Smooth fractal noise in [0, 1], (h, w): random lattices upsampled bicubically.

    ``cells`` is the lattice size along the longer side for the first octave; each octave
    doubles it. Cheap (a few tiny random grids) and resolution independent in look.
    """
    # Sum the octaves at a working resolution of ~8 samples per finest cell, then upsample
    # once: the finest octave is smooth at that density, and it saves most of the work.
    k = min(1.0, 8.0 * cells * 2 ** (octaves - 1) / max(h, w))
    wh, ww = max(2, int(math.ceil(h * k))), max(2, int(math.ceil(w * k)))
    total = torch.zeros(1, 1, wh, ww)
    amp, norm = 1.0, 0.0
    for o in range(octaves):
        c = cells * 2 ** o
        gh = max(2, int(round(c * h / max(h, w))) + 1)
        gw = max(2, int(round(c * w / max(h, w))) + 1)
        grid = torch.from_numpy(rng.random((1, 1, gh, gw), dtype=np.float32))
        total += amp * F.interpolate(grid, size=(wh, ww), mode="bicubic", align_corners=True)
        norm += amp
        amp *= persistence
    if (wh, ww) != (h, w):
        total = F.interpolate(total, size=(h, w), mode="bilinear", align_corners=True)
    total = total[0, 0] / norm
    lo, hi = total.min(), total.max()
    return (total - lo) / (hi - lo).clamp_min(1e-6)


def _rotate(x: Tensor, y: Tensor, cx: float, cy: float, angle: float) -> tuple[Tensor, Tensor]:
    """Coordinates relative to (cx, cy), rotated by -angle (into a shape's own frame)."""
    c, s = math.cos(angle), math.sin(angle)
    dx, dy = x - cx, y - cy
    return c * dx + s * dy, -s * dx + c * dy


def sd_ellipse(x: Tensor, y: Tensor, cx: float, cy: float, rx: float, ry: float,
               angle: float = 0.0) -> Tensor:
    """Approximate signed distance (pixels) to an ellipse; exact enough for a 1-4 px ramp."""
    px, py = _rotate(x, y, cx, cy, angle)
    k0 = torch.sqrt((px / rx) ** 2 + (py / ry) ** 2)
    k1 = torch.sqrt((px / rx ** 2) ** 2 + (py / ry ** 2) ** 2)
    return k0 * (k0 - 1.0) / k1.clamp_min(1e-6)


def sd_round_rect(x: Tensor, y: Tensor, cx: float, cy: float, hw: float, hh: float, r: float,
                  angle: float = 0.0) -> Tensor:
    """Exact signed distance (pixels) to a rectangle of half size (hw, hh), corner radius r."""
    px, py = _rotate(x, y, cx, cy, angle)
    r = min(r, hw, hh)
    qx, qy = px.abs() - (hw - r), py.abs() - (hh - r)
    outside = torch.sqrt(qx.clamp_min(0) ** 2 + qy.clamp_min(0) ** 2)
    return outside + torch.maximum(qx, qy).clamp_max(0) - r


def smooth_min(a: Tensor, b: Tensor, k: float) -> Tensor:
    """Polynomial smooth union of two distance fields: blends head, neck and shoulders."""
    h = (k - (a - b).abs()).clamp_min(0) / k
    return torch.minimum(a, b) - h * h * k * 0.25


def coverage(d: Tensor, feather: Tensor | float) -> Tensor:
    """Area coverage from a signed distance: a linear ramp ``feather`` pixels wide.

    With feather = 1 this is the usual box-filter antialiasing of an edge; wider ramps model
    soft (defocused or fuzzy) boundaries.
    """
    return (0.5 - d / feather).clamp(0.0, 1.0)


def _over(top_p: Tensor, top_a: Tensor, p: Tensor, a: Tensor) -> tuple[Tensor, Tensor]:
    """Porter-Duff "over" on premultiplied colour: the only compositing rule used."""
    return top_p + (1.0 - top_a) * p, top_a + (1.0 - top_a) * a


def _grid(h: int, w: int) -> tuple[Tensor, Tensor]:
    """Pixel-centre coordinates (x, y) of an h x w image, each (h, w)."""
    ys = torch.arange(h, dtype=torch.float32) + 0.5
    xs = torch.arange(w, dtype=torch.float32) + 0.5
    y, x = torch.meshgrid(ys, xs, indexing="ij")
    return x, y


# ----------------------------------------------------------------------------- motion

class Wander:
    """A bounded random motion: two sines of random rate (radians per frame) and phase.

    Bounded (unlike a constant velocity) so that long clips never drift out of frame; the
    peak velocity is about ``amplitude * max(speed)`` per frame. Drawn once, evaluated at any
    times (sub-frame times for motion blur included).
    """

    def __init__(self, rng: np.random.Generator, amplitude: float,
                 speed: tuple[float, float] = (0.05, 0.4), offset: float = 0.0) -> None:
        self.amplitude, self.offset = amplitude, offset
        self.omega = rng.uniform(*speed, 2)
        self.phase = rng.uniform(0, 2 * math.pi, 2)

    def __call__(self, times: np.ndarray) -> np.ndarray:
        t = np.asarray(times, dtype=np.float64)[..., None]
        share = np.array([0.65, 0.35])
        return self.offset + self.amplitude * (share * np.sin(self.omega * t + self.phase)).sum(-1)


def warp_affine(src: Tensor, out_size: Size, shift: np.ndarray, angle: np.ndarray,
                scale: np.ndarray, pivot: tuple[float, float],
                origin: tuple[float, float] = (0.0, 0.0), mode: str = "bilinear",
                padding: str = "border") -> Tensor:
    """Render N affine views of one image: (C, Hs, Ws) -> (N, C, H, W).

    View n maps a source point p to ``pivot + scale[n] * R(angle[n]) (p - pivot) + shift[n]``
    in output pixels; ``origin`` is where output pixel (0, 0) lies in source pixels (non-zero
    when the source canvas has a margin). Shift is (N, 2) as (x, y).

    All views are stacked along the grid's height so that ``grid_sample`` reads the single
    source without expanding it N times in memory.
    """
    c, hs, ws = src.shape
    h, w = out_size
    n = len(angle)
    px, py = pivot
    cos, sin = np.cos(angle), np.sin(angle)
    inv_s = 1.0 / np.asarray(scale, dtype=np.float64)
    shift = np.asarray(shift, dtype=np.float64)
    # Inverse map in pixels: p = pivot + origin + R(-angle) (q - pivot - shift) / scale, i.e.
    # p = M q + b. Conjugate with the pixel <-> normalised maps of affine_grid
    # (align_corners=False: q = (u + 1) W / 2, u_src = 2 p / Ws - 1) to get theta.
    m = np.empty((n, 2, 2))
    m[:, 0, 0], m[:, 0, 1] = inv_s * cos, inv_s * sin
    m[:, 1, 0], m[:, 1, 1] = -inv_s * sin, inv_s * cos
    q0 = np.array([px, py])[None, :] + shift
    b = np.array([px + origin[0], py + origin[1]])[None, :] - np.einsum("nij,nj->ni", m, q0)
    out_half = np.array([w / 2.0, h / 2.0])
    src_scale = np.array([2.0 / ws, 2.0 / hs])
    theta = np.empty((n, 2, 3))
    theta[:, :, :2] = src_scale[None, :, None] * m * out_half[None, None, :]
    theta[:, :, 2] = src_scale[None, :] * (np.einsum("nij,j->ni", m, out_half) + b) - 1.0
    # theta applied to output normalised coordinates, written straight into the grid buffer
    # (cheaper than F.affine_grid's batched matmul over a homogeneous base grid)
    th = torch.from_numpy(theta).float()
    u = ((torch.arange(w, dtype=torch.float32) * 2 + 1) / w - 1).view(1, 1, w)
    v = ((torch.arange(h, dtype=torch.float32) * 2 + 1) / h - 1).view(1, h, 1)
    grid = torch.empty(n, h, w, 2)
    for k in range(2):
        torch.add(th[:, k, 0].view(n, 1, 1) * u,
                  th[:, k, 1].view(n, 1, 1) * v + th[:, k, 2].view(n, 1, 1), out=grid[..., k])
    out = F.grid_sample(src.unsqueeze(0), grid.view(1, n * h, w, 2), mode=mode,
                        padding_mode=padding, align_corners=False)
    return out.view(c, n, h, w).transpose(0, 1)


def _sub_frame_times(T: int, samples: int, shutter: float) -> np.ndarray:
    """Times (T * samples,) of the sub-frame renders: ``samples`` per frame across the shutter."""
    if samples <= 1:
        return np.arange(T, dtype=np.float64)
    offsets = shutter * (np.arange(samples) / (samples - 1) - 0.5)
    return (np.arange(T)[:, None] + offsets[None, :]).reshape(-1)


def _blur_samples(points: Callable[[np.ndarray], np.ndarray], T: int, shutter: float,
                  max_samples: int, spacing: float = 2.0) -> int:
    """Sub-frames needed so that consecutive renders are <= ``spacing`` px apart (capped).

    ``points(times)`` gives (len(times), K, 2) positions of K tracked points. A fixed count
    would strobe thin strands into visible copies on fast moves and waste work on slow ones.
    """
    if max_samples <= 1 or shutter <= 0:
        return 1
    t = np.arange(T, dtype=np.float64)
    travel = np.linalg.norm(points(t + shutter / 2) - points(t - shutter / 2), axis=-1).max()
    return int(np.clip(math.ceil(travel / spacing) + 1, 1, max_samples))


# ----------------------------------------------------------------------------- background

def _window(cx: float, cy: float, radius: float, h: int, w: int) -> tuple[slice, slice]:
    """Row and column slices of the pixels within ``radius`` (a square) of (cx, cy)."""
    y0, y1 = max(0, int(cy - radius)), min(h, int(math.ceil(cy + radius)) + 1)
    x0, x1 = max(0, int(cx - radius)), min(w, int(math.ceil(cx + radius)) + 1)
    return slice(y0, max(y0, y1)), slice(x0, max(x0, x1))


def _background_canvas(rng: np.random.Generator, h: int, w: int) -> Tensor:
    """A random textured backdrop (3, h, w): gradient + noise + optional stripes/blobs/boxes."""
    x, y = _grid(h, w)
    u, v = x / w, y / h
    a = rng.uniform(0, 2 * math.pi)
    g = (math.cos(a) * u + math.sin(a) * v)
    g = (g - g.min()) / (g.max() - g.min()).clamp_min(1e-6)
    c1, c2 = torch.from_numpy(random_color(rng)), torch.from_numpy(random_color(rng))
    img = c1.view(3, 1, 1) + (c2 - c1).view(3, 1, 1) * g
    # large-scale noise: walls, foliage, out-of-focus clutter
    n = value_noise(rng, h, w, cells=rng.uniform(2, 8), octaves=int(rng.integers(2, 5)))
    c3 = torch.from_numpy(random_color(rng))
    mix = rng.uniform(0.15, 0.7)
    img = img + mix * n * (c3.view(3, 1, 1) - img)
    if rng.random() < 0.4:  # stripes: strong high-frequency edges the net must not matte
        b = rng.uniform(0, math.pi)
        freq = rng.uniform(4, 40)
        s = torch.sin(2 * math.pi * freq * (math.cos(b) * u + math.sin(b) * v * h / w)
                      + rng.uniform(0, 2 * math.pi))
        s = (s * rng.uniform(1, 6)).clamp(-1, 1) * 0.5 + 0.5
        c4 = torch.from_numpy(random_color(rng))
        img = img + rng.uniform(0.2, 0.7) * s * (c4.view(3, 1, 1) - img)
    if rng.random() < 0.5:  # boxes: hard straight edges (furniture, windows, doors)
        for _ in range(int(rng.integers(1, 6))):
            bx, by = rng.uniform(0, w), rng.uniform(0, h)
            bw, bh = rng.uniform(0.03, 0.25) * w, rng.uniform(0.05, 0.4) * h
            ang = rng.normal(0, 0.1)
            win = _window(bx, by, 1.2 * (bw + bh) + 2, h, w)  # only pixels the box can touch
            d = sd_round_rect(x[win], y[win], bx, by, bw, bh, rng.uniform(0, 8), ang)
            c5 = torch.from_numpy(random_color(rng)).view(3, 1, 1)
            img[(slice(None),) + win] += coverage(d, 1.0) * (c5 - img[(slice(None),) + win])
    if rng.random() < 0.6:  # soft blobs: bokeh lights and defocused objects
        for _ in range(int(rng.integers(2, 12))):
            r = rng.uniform(0.01, 0.12) * max(h, w)
            bx, by = rng.uniform(0, w), rng.uniform(0, h)
            win = _window(bx, by, 3.5 * r, h, w)  # exp(-0.5 * 3.5^2) < 0.3 %: cut there
            d2 = ((x[win] - bx) ** 2 + (y[win] - by) ** 2) / (r * r)
            blob = torch.exp(-0.5 * d2) * rng.uniform(0.3, 1.0)
            c6 = torch.from_numpy(random_color(rng, val=(0.5, 1.0))).view(3, 1, 1)
            img[(slice(None),) + win] += blob * (c6 - img[(slice(None),) + win])
    return img.clamp(0.0, 1.0)


def render_background(rng: np.random.Generator, T: int, size: Size, motion: float = 1.0,
                      max_blur_samples: int = 1, shutter: float = 0.5) -> Tensor:
    """A procedural background clip (T, 3, H, W) in [0, 1] with a slow pan and zoom.

    The texture is rendered once on a canvas 1.4x the frame and viewed through a moving,
    zooming window, so frames are consistent views of one scene (as a camera move would be).
    With ``max_blur_samples`` > 1 fast pans are motion blurred like the subject.
    """
    h, w = size
    margin = 1.4
    hc, wc = int(math.ceil(h * margin)), int(math.ceil(w * margin))
    canvas = _background_canvas(rng, hc, wc)
    m = max(0.0, min(motion, 1.0))  # the window must stay inside the canvas
    # zoom >= 1 keeps the view inside the canvas together with the bounded pan below
    zoom = Wander(rng, 0.075 * m, (0.02, 0.2), offset=1.0 + 0.075 * m)
    pan_x = Wander(rng, 0.9 * (wc - w) * 0.5 * m, (0.02, 0.3))
    pan_y = Wander(rng, 0.9 * (hc - h) * 0.5 * m, (0.02, 0.3))
    pivot = (w * 0.5, h * 0.5)  # the output centre shows the canvas centre (plus pan)
    origin = ((wc - w) * 0.5, (hc - h) * 0.5)
    corners = np.array([[0.0, 0.0], [w, 0.0], [0.0, h], [w, h]]) - np.array(pivot)

    def track(t: np.ndarray) -> np.ndarray:
        return (zoom(t)[:, None, None] * corners[None]
                + np.stack([pan_x(t), pan_y(t)], 1)[:, None, :])

    samples = _blur_samples(track, T, shutter, max_blur_samples)
    times = _sub_frame_times(T, samples, shutter)
    shift = np.stack([pan_x(times), pan_y(times)], axis=1)
    views = warp_affine(canvas, size, shift, np.zeros_like(times), zoom(times), pivot, origin)
    if samples > 1:
        views = views.view(T, samples, 3, h, w).mean(dim=1)
    return views.clamp(0.0, 1.0).contiguous()


# ----------------------------------------------------------------------------- subject

def _strands(rng: np.random.Generator, hc: int, wc: int, head: tuple[float, float, float, float],
             cfg: ProceduralConfig, unit: float, color: np.ndarray) -> tuple[Tensor, Tensor]:
    """Loose hair strands around the head: premultiplied colour (3, hc, wc) and alpha (1, hc, wc).

    Each strand is a cubic Bezier sampled every ~0.5 px and splatted bilinearly (so the line is
    antialiased) into an optical-depth buffer: a strand of opacity a and width 1 adds
    -log(1 - a) per pixel of length, and alpha = 1 - exp(-depth) composites overlapping strands
    exactly like repeated "over".
    """
    cx, cy, rx, ry = head
    n = int(rng.integers(cfg.hair_strands[0], cfg.hair_strands[1] + 1))
    if n == 0:
        return torch.zeros(3, hc, wc), torch.zeros(1, hc, wc)
    theta = rng.uniform(-math.pi - 0.6, 0.6, n)  # upper half of the head, plus the temples
    nx, ny = np.cos(theta), np.sin(theta)
    root = np.stack([cx + 0.9 * rx * nx, cy + 0.9 * ry * ny], 1)
    length = ry * rng.uniform(0.3, 1.1, n)
    # outward, drooping with gravity the more the strand leaves from the side of the head
    droop = rng.uniform(0.0, 1.2, n) * (1 - np.abs(ny))
    d0 = np.stack([nx, ny], 1) + rng.normal(0, 0.3, (n, 2))
    d1 = np.stack([nx, ny + droop], 1) + rng.normal(0, 0.4, (n, 2))
    d0 /= np.linalg.norm(d0, axis=1, keepdims=True) + 1e-9
    d1 /= np.linalg.norm(d1, axis=1, keepdims=True) + 1e-9
    p0 = root
    p3 = root + length[:, None] * d1
    perp = np.stack([-d1[:, 1], d1[:, 0]], 1)
    curl = rng.normal(0, 0.25, (n, 1)) * length[:, None]
    p1 = p0 + length[:, None] / 3 * d0
    p2 = p3 - length[:, None] / 3 * d1 + curl * perp
    m = int(math.ceil(length.max() * 1.6 / 0.5)) + 2  # samples per strand (~0.5 px apart)
    t = np.linspace(0.0, 1.0, m)[None, :, None]
    b = ((1 - t) ** 3 * p0[:, None] + 3 * (1 - t) ** 2 * t * p1[:, None]
         + 3 * (1 - t) * t ** 2 * p2[:, None] + t ** 3 * p3[:, None])  # (n, m, 2)
    seg = np.linalg.norm(np.diff(b, axis=1), axis=2)  # (n, m - 1)
    ds = np.zeros((n, m))  # length each sample stands for (trapezoid rule)
    ds[:, :-1] += 0.5 * seg
    ds[:, 1:] += 0.5 * seg
    width = rng.uniform(*cfg.strand_width, n)[:, None] * max(unit, 0.5)
    taper = 1.0 - 0.6 * t[..., 0]  # strands thin towards the tip
    opacity = rng.uniform(*cfg.strand_alpha, n)[:, None]
    depth_w = (-np.log1p(-opacity) * width * taper * ds).reshape(-1)
    tint = np.clip(color[None, :] * rng.uniform(0.75, 1.35, (n, 1)), 0, 1)  # per-strand shade
    tint = np.repeat(tint, m, axis=0)
    # bilinear splat at pixel centres
    px = b[..., 0].reshape(-1) - 0.5
    py = b[..., 1].reshape(-1) - 0.5
    x0, y0 = np.floor(px), np.floor(py)
    fx, fy = px - x0, py - y0
    depth = np.zeros(hc * wc)
    col = np.zeros((3, hc * wc))
    for ox, oy, wt in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)),
                       (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        xi, yi = x0.astype(np.int64) + ox, y0.astype(np.int64) + oy
        ok = (xi >= 0) & (xi < wc) & (yi >= 0) & (yi < hc)
        idx = yi[ok] * wc + xi[ok]
        wgt = depth_w[ok] * wt[ok]
        depth += np.bincount(idx, wgt, hc * wc)
        for ch in range(3):
            col[ch] += np.bincount(idx, wgt * tint[ok, ch], hc * wc)
    alpha = 1.0 - np.exp(-depth)
    mean_col = col / np.maximum(depth, 1e-12)
    pre = torch.from_numpy((mean_col * alpha).astype(np.float32)).view(3, hc, wc)
    return pre, torch.from_numpy(alpha.astype(np.float32)).view(1, hc, wc)


def _cloth(rng: np.random.Generator, x: Tensor, y: Tensor, unit: float) -> Tensor:
    """Cloth colour field (3, h, w): a base colour, weave noise and maybe stripes or checks."""
    h, w = x.shape
    c1 = torch.from_numpy(random_color(rng)).view(3, 1, 1)
    n = value_noise(rng, h, w, cells=rng.uniform(3, 10), octaves=3)
    img = c1 * (0.8 + 0.4 * n)
    kind = rng.random()
    if kind < 0.5:
        c2 = torch.from_numpy(random_color(rng)).view(3, 1, 1)
        a = rng.uniform(0, math.pi)
        period = rng.uniform(6, 40) * unit
        s = torch.sin(2 * math.pi * (math.cos(a) * x + math.sin(a) * y) / period)
        if kind < 0.2:  # checks
            s = s * torch.sin(2 * math.pi * (-math.sin(a) * x + math.cos(a) * y) / period)
        s = (s * 4).clamp(-1, 1) * 0.5 + 0.5
        img = img + s * (c2 - img)
    return img


def render_subject(rng: np.random.Generator, size: Size, cfg: ProceduralConfig,
                   margin: float = 1.25) -> tuple[Tensor, tuple[float, float], tuple[float, float]]:
    """The subject on a canonical canvas ``margin`` times the frame.

    Returns (canvas (7, hc, wc) = premultiplied RGB, alpha, straight RGB; pivot in frame
    pixels; origin = frame pixel (0, 0) in canvas pixels). The straight colour fills the whole
    canvas so that pixels of tiny alpha still get a plausible foreground colour.
    """
    h, w = size
    hc, wc = int(math.ceil(h * margin)), int(math.ceil(w * margin))
    ox, oy = (wc - w) * 0.5, (hc - h) * 0.5
    x, y = _grid(hc, wc)
    unit = h / 288.0
    # --- geometry (frame pixels + canvas offset)
    ry = h * rng.uniform(0.12, 0.28)
    rx = ry * rng.uniform(0.72, 0.9)
    cx = ox + w * rng.uniform(0.3, 0.7)
    cy = oy + h * rng.uniform(0.22, 0.45)
    tilt = rng.normal(0, 0.1)
    d_head = sd_ellipse(x, y, cx, cy, rx, ry, tilt)
    neck_w = rx * rng.uniform(0.45, 0.6)
    neck_y = cy + ry * 0.95
    d_neck = sd_round_rect(x, y, cx, neck_y, neck_w, ry * 0.5, neck_w * 0.5)
    sh_y = cy + ry * rng.uniform(1.35, 1.6)  # shoulder line
    torso_hw = rx * rng.uniform(1.8, 2.8)
    torso_hh = hc  # runs off the bottom of the canvas
    d_torso = sd_round_rect(x, y, cx + rng.normal(0, 0.05) * rx, sh_y + torso_hh, torso_hw,
                            torso_hh, rx * rng.uniform(0.5, 1.1), rng.normal(0, 0.04))
    d_skin = smooth_min(d_head, d_neck, 0.3 * rx)
    d_body = smooth_min(d_skin, d_torso, 0.5 * rx)
    has_cap = rng.random() < cfg.hair_cap_probability
    if has_cap:  # hair volume: an ellipse a bit larger than the head, shifted up
        cap = (cx + rng.normal(0, 0.05) * rx, cy - ry * rng.uniform(0.05, 0.2),
               rx * rng.uniform(1.02, 1.2), ry * rng.uniform(0.95, 1.1))
        d_cap = sd_ellipse(x, y, *cap, tilt)
        d_body = torch.minimum(d_body, d_cap)
    # spatially varying softness: crisp in places, defocused or fuzzy elsewhere
    f_lo, f_hi = cfg.feather
    f0 = rng.uniform(f_lo, f_hi) * max(unit, 0.5)
    feather = f0 * (0.5 + value_noise(rng, hc, wc, cells=3, octaves=1)) + 0.5 * max(unit, 0.5)
    body_a = coverage(d_body, feather).unsqueeze(0)
    # --- colour
    k = rng.integers(0, len(_SKIN) - 1)
    skin = _SKIN[k] + rng.random() * (_SKIN[k + 1] - _SKIN[k])
    hair_col = _HAIR[rng.integers(0, len(_HAIR))] * rng.uniform(0.8, 1.2)
    skin_n = value_noise(rng, hc, wc, cells=rng.uniform(6, 16), octaves=3)
    skin_field = torch.from_numpy(skin).view(3, 1, 1) * (0.88 + 0.24 * skin_n)
    cloth = _cloth(rng, x, y, unit)
    torso_w = torch.sigmoid((d_skin - d_torso) / (2.0 * max(unit, 0.5)))  # 1 on clothes
    color = skin_field + torso_w * (cloth - skin_field)
    if has_cap:
        # hair = cap region minus a face ellipse placed lower on the head
        d_face = sd_ellipse(x, y, cx, cy + ry * rng.uniform(0.15, 0.3), rx * 0.88, ry * 0.85, tilt)
        hair_w = coverage(d_cap, 2.0) * (1.0 - coverage(d_face, 3.0 * max(unit, 0.5)))
        hair_w = hair_w * (1.0 - torso_w)
        hn = value_noise(rng, hc, wc, cells=rng.uniform(10, 30), octaves=2)
        hair_field = torch.from_numpy(np.clip(hair_col, 0, 1)).view(3, 1, 1) * (0.7 + 0.6 * hn)
        color = color + hair_w * (hair_field - color)
    # --- light: a directional gradient across the subject
    la = rng.uniform(0, 2 * math.pi)
    light = ((x - cx) * math.cos(la) + (y - cy) * math.sin(la)) / (2.5 * torso_hw)
    color = (color * (0.85 + rng.uniform(0.1, 0.4) * light.clamp(-1, 1))).clamp(0.0, 1.0)
    pre, alpha = color * body_a, body_a
    # --- loose strands around the head
    if cfg.hair_strands[1] > 0:
        s_pre, s_a = _strands(rng, hc, wc, (cx, cy - (ry * 0.1 if has_cap else 0.0), rx, ry),
                              cfg, unit, np.clip(hair_col, 0, 1))
        pre, alpha = _over(s_pre, s_a, pre, alpha)
    # --- a veil / glass patch: semi-transparent and partly outside the silhouette
    if rng.random() < cfg.veil_probability:
        vcx = cx + rng.uniform(-1.5, 1.5) * rx
        vcy = cy + rng.uniform(-0.5, 2.5) * ry
        if rng.random() < 0.5:
            d_v = sd_ellipse(x, y, vcx, vcy, rx * rng.uniform(0.6, 1.6), ry * rng.uniform(0.6, 1.6),
                             rng.uniform(0, math.pi))
        else:
            d_v = sd_round_rect(x, y, vcx, vcy, rx * rng.uniform(0.5, 1.4),
                                ry * rng.uniform(0.5, 1.4),
                                rng.uniform(0, 10) * unit, rng.uniform(0, math.pi))
        a_v = rng.uniform(*cfg.veil_alpha)
        vn = value_noise(rng, hc, wc, cells=rng.uniform(3, 8), octaves=2)
        # uneven density (folds, smudges) but kept inside the configured alpha range
        density = (a_v * (0.9 + 0.2 * vn)).clamp(*cfg.veil_alpha)
        v_a = (coverage(d_v, rng.uniform(1.0, 8.0) * max(unit, 0.5)) * density).unsqueeze(0)
        v_col = torch.from_numpy(random_color(rng, sat=(0.0, 0.5), val=(0.5, 1.0))).view(3, 1, 1)
        pre, alpha = _over(v_col * v_a, v_a, pre, alpha)
        color = color + v_a * (v_col - color)
    straight = torch.where(alpha > _ALPHA_EPS, pre / alpha.clamp_min(_ALPHA_EPS), color)
    canvas = torch.cat([pre, alpha, straight.clamp(0.0, 1.0)], dim=0)
    pivot = (cx - ox, neck_y - oy)
    return canvas, pivot, (ox, oy)


def render_clip(rng: np.random.Generator, T: int, size: Size,
                cfg: ProceduralConfig | None = None) -> dict[str, Tensor]:
    """One procedural clip: {"fgr", "pha", "bgr"} (without "com"), float32 in [0, 1]."""
    cfg = cfg or ProceduralConfig()
    h, w = size
    canvas, pivot, origin = render_subject(rng, size, cfg)
    m = cfg.motion
    fast = 2.5 if rng.random() < 0.15 else 1.0  # occasional fast move: strong motion blur
    move_x = Wander(rng, 0.1 * w * m * fast, offset=rng.normal(0, 0.04) * w)
    move_y = Wander(rng, 0.06 * h * m * fast, offset=rng.normal(0, 0.03) * h)
    turn = Wander(rng, math.radians(8) * m * fast, offset=rng.normal(0, 0.05))
    zoom = Wander(rng, 0.12 * m, offset=math.log(rng.uniform(0.85, 1.15)))
    reach = 0.5 * h  # track points this far from the pivot: head top, shoulders

    def track(t: np.ndarray) -> np.ndarray:
        ang, sc = turn(t)[:, None], np.exp(zoom(t))[:, None]
        dirs = np.array([0.0, 0.5 * math.pi, math.pi, 1.5 * math.pi])[None, :]
        px = sc * reach * np.cos(dirs + ang) + move_x(t)[:, None]
        py = sc * reach * np.sin(dirs + ang) + move_y(t)[:, None]
        return np.stack([px, py], -1)

    samples = _blur_samples(track, T, cfg.shutter, cfg.motion_blur_samples) if m > 0 else 1
    times = _sub_frame_times(T, samples, cfg.shutter)
    shift = np.stack([move_x(times), move_y(times)], 1)
    angle, scale = turn(times), np.exp(zoom(times))
    views = warp_affine(canvas[:4], size, shift, angle, scale, pivot, origin)  # (T*S, 4, h, w)
    views = views.view(T, samples, 4, h, w).mean(dim=1)
    mid = np.arange(T) * samples + samples // 2
    straight = warp_affine(canvas[4:], size, shift[mid], angle[mid], scale[mid], pivot, origin)
    pre, pha = views[:, :3], views[:, 3:4]
    fgr = torch.where(pha > _ALPHA_EPS, pre / pha.clamp_min(_ALPHA_EPS), straight)
    pha = torch.where(pha > 1.0 - _SNAP, torch.ones_like(pha), pha)
    pha = torch.where(pha < _SNAP, torch.zeros_like(pha), pha)
    # the backdrop is mostly smooth, so fewer sub-frames hide its strobing just as well
    bgr = render_background(rng, T, size, motion=m,
                            max_blur_samples=max(1, cfg.motion_blur_samples // 2),
                            shutter=cfg.shutter)
    return {"fgr": fgr.clamp(0.0, 1.0).contiguous(), "pha": pha.clamp(0.0, 1.0).contiguous(),
            "bgr": bgr}


class ProceduralClips(Dataset):
    """Synthetic portrait clips with exact ground truth; item i is a function of (seed, i).

    Args:
        T: frames per clip.
        size: (H, W) of the frames.
        seed: selects the family of clips; the same (seed, index) always gives the same tensors.
        count: dataset length (clips are generated on demand, so this can be large).
        config: what a clip may contain (see ``ProceduralConfig``).
        augment: also apply ``augment.augment`` (colour jitter, blur, noise, crop...); then the
            composite carries sensor noise and is no longer exactly fgr*pha + bgr*(1-pha).
        augment_config: its ranges; the default crops gently (80-100 % of the area) because
            the clip is already rendered at the output size and zooming in only softens hair.

    Each item is {"fgr": (T,3,H,W), "pha": (T,1,H,W), "bgr": (T,3,H,W), "com": (T,3,H,W)}.
    """

    def __init__(self, T: int = 4, size: Size = (288, 512), seed: int = 0, count: int = 10000,
                 config: ProceduralConfig | None = None, augment: bool = False,
                 augment_config: AugmentConfig | None = None) -> None:
        if T < 1 or count < 1 or min(size) < 8 or seed < 0:
            raise ValueError(f"need T >= 1, count >= 1, size >= 8x8 and seed >= 0, got T={T}, "
                             f"count={count}, size={size}, seed={seed}")
        self.T, self.size, self.seed, self.count = T, (int(size[0]), int(size[1])), seed, count
        self.config = config or ProceduralConfig()
        self.augment = augment
        self.augment_config = augment_config or AugmentConfig(crop_scale=(0.8, 1.0))

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> Sample:
        if not 0 <= index < self.count:
            raise IndexError(f"index {index} out of range for {self.count} clips")
        rng = np.random.default_rng([self.seed, index])
        clip = render_clip(rng, self.T, self.size, self.config)
        if self.augment:
            return augment(clip, rng, self.size, self.augment_config)
        clip["com"] = composite(clip["fgr"], clip["pha"], clip["bgr"])
        return clip
