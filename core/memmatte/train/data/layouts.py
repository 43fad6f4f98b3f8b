"""Loaders for the public matting layouts users bring, and background sources.

Each dataset returns the same sample dict as ``ProceduralClips``: {"fgr", "pha", "bgr", "com"}
as float32 tensors in [0, 1], (T, C, H, W). Foregrounds come from the folder; backgrounds from
a *background source* (any object with ``clip(rng, T, size) -> (T, 3, H, W)``), so one set of
backgrounds can serve several foreground sets and the procedural backdrop is the fallback.

Items are deterministic per (seed, epoch, index): all randomness comes from
``numpy.random.default_rng([seed, epoch, index])``. ``set_epoch`` changes the augmentation
between epochs; leave it alone for step-indexed training.

Layouts (file names are compared by stem, so jpg and png may be mixed):

- VideoMatte240K: ``root/fgr/<clip>/<frame>.jpg|png`` and ``root/pha/<clip>/<frame>.jpg|png``.
- Image matting (Adobe / Distinctions-646 / AIM-500): ``root/fg/<name>.png|jpg`` and
  ``root/alpha/<name>.png|jpg``.
- Backgrounds: a folder of images (searched recursively), or a folder of frame folders and/or
  video files (decoded with PyAV).
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset

from .augment import AugmentConfig, augment, composite, cover_crop, resize
from .procedural import Size, Wander, render_background, warp_affine

Sample = dict[str, Tensor]

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg"})

_VIDEOMATTE = ("root/fgr/<clip>/<frame>.jpg|png and root/pha/<clip>/<frame>.jpg|png "
               "(VideoMatte240K layout, same frame names in fgr and pha)")
_IMAGE_MATTING = ("root/fg/<name>.png|jpg and root/alpha/<name>.png|jpg "
                  "(Adobe / Distinctions / AIM layout, same names in fg and alpha)")


# ----------------------------------------------------------------------------- file helpers

def _natural_key(path: Path) -> list[object]:
    """Sort key that orders frame2 before frame10 (numbers compared as numbers)."""
    return [int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", path.name)]


def _images_in(folder: Path) -> list[Path]:
    """Image files directly inside ``folder``, in natural order (hidden files skipped)."""
    return sorted((p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                   and p.suffix.lower() in IMAGE_SUFFIXES), key=_natural_key)


def _by_stem(files: list[Path], folder: Path) -> dict[str, Path]:
    """{stem: path}; two files with one stem (a.jpg and a.png) are ambiguous."""
    out: dict[str, Path] = {}
    for f in files:
        if f.stem in out:
            raise ValueError(f"{folder}: both {out[f.stem].name} and {f.name} exist; "
                             "keep one file per name")
        out[f.stem] = f
    return out


def _match(fg: dict[str, Path], alpha: dict[str, Path], fg_dir: Path, alpha_dir: Path,
           layout: str) -> list[str]:
    """Stems present in both folders; a name missing on either side is an error."""
    only_fg, only_alpha = sorted(set(fg) - set(alpha)), sorted(set(alpha) - set(fg))
    if only_fg or only_alpha:
        parts = []
        if only_fg:
            parts.append(f"{len(only_fg)} in {fg_dir} have no match in {alpha_dir} "
                         f"(e.g. {', '.join(only_fg[:3])})")
        if only_alpha:
            parts.append(f"{len(only_alpha)} in {alpha_dir} have no match in {fg_dir} "
                         f"(e.g. {', '.join(only_alpha[:3])})")
        raise ValueError(f"names do not match: {'; '.join(parts)}; expected {layout}")
    return sorted(fg, key=lambda s: _natural_key(Path(s)))


def _require_dir(folder: Path, layout: str) -> None:
    if not folder.is_dir():
        raise ValueError(f"{folder}: folder not found; expected {layout}")


def read_rgb(path: Path, cover: Size | None = None) -> np.ndarray:
    """An image as float32 (H, W, 3) in [0, 1] (8- or 16-bit; alpha channel dropped).

    ``cover`` (H, W): the image will only be used shrunk to cover this size, so a large JPEG
    may be decoded at a reduced scale (DCT scaling: several times faster for photos).
    """
    with Image.open(path) as im:
        if cover is not None and im.format == "JPEG":
            k = max(cover[0] / im.height, cover[1] / im.width)
            if k < 0.5:
                im.draft("RGB", (math.ceil(im.width * k), math.ceil(im.height * k)))
        if im.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit grey: keep the precision
            a = np.asarray(im, dtype=np.float32) / 65535.0
            return np.repeat(a[..., None], 3, axis=2)
        return np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0


def read_alpha(path: Path) -> np.ndarray:
    """A matte as float32 (H, W) in [0, 1]: grey images as is (16-bit kept), RGB as luma."""
    with Image.open(path) as im:
        if im.mode in ("I;16", "I;16B", "I;16L", "I"):
            return np.clip(np.asarray(im, dtype=np.float32) / 65535.0, 0.0, 1.0)
        if im.mode == "F":
            return np.clip(np.asarray(im, dtype=np.float32), 0.0, 1.0)
        return np.asarray(im.convert("L"), dtype=np.float32) / 255.0


def _chw(a: np.ndarray) -> Tensor:
    """(H, W, C) or (H, W) numpy -> (C, H, W) tensor."""
    t = torch.from_numpy(np.ascontiguousarray(a))
    return t.unsqueeze(0) if t.dim() == 2 else t.permute(2, 0, 1).contiguous()


def _bounce(n: int, T: int) -> np.ndarray:
    """Indices 0, 1, .., n-1, n-2, .., 1, 0, 1, .. (T of them): a short source played back and
    forth, which keeps motion continuous where looping would jump."""
    period = max(1, 2 * (n - 1))
    i = np.arange(T) % period
    return np.where(i < n, i, period - i)


def _frame_indices(rng: np.random.Generator, n: int, T: int) -> np.ndarray:
    """T consecutive indices of n from a random start (bouncing when n < T)."""
    if n >= T:
        start = int(rng.integers(0, n - T + 1))
        return np.arange(start, start + T)
    return _bounce(n, T)


# ----------------------------------------------------------------------------- backgrounds

@runtime_checkable
class BackgroundSource(Protocol):
    """Anything that can produce a background clip: (T, 3, H, W) float32 in [0, 1]."""

    def clip(self, rng: np.random.Generator, T: int, size: Size) -> Tensor: ...


def _pan(image: Tensor, rng: np.random.Generator, T: int, size: Size) -> Tensor:
    """A slow, straight pan across a still (3, h, w) -> (T, 3, H, W) at ``size``.

    The still is resized to cover 1.1-1.4x the frame so there is room to move; offsets are
    whole pixels (a sub-pixel bilinear shift would blur some frames more than others).
    """
    h, w = size
    hs, ws = image.shape[-2:]
    k = max(h / hs, w / ws) * rng.uniform(1.1, 1.4)
    nh, nw = max(h, int(round(hs * k))), max(w, int(round(ws * k)))
    big = resize(image.unsqueeze(0), (nh, nw))[0]
    y0, x0 = rng.uniform(0, nh - h), rng.uniform(0, nw - w)
    y1, x1 = rng.uniform(0, nh - h), rng.uniform(0, nw - w)
    # travel at most ~1.5 % of the frame per frame: a slow pan, whatever T is
    span = max(1.0, math.hypot(y1 - y0, x1 - x0))
    step = min(1.0, 0.015 * max(h, w) * max(T - 1, 1) / span)
    t = np.arange(T) / max(T - 1, 1) * step
    ys = np.round(y0 + (y1 - y0) * t).astype(int)
    xs = np.round(x0 + (x1 - x0) * t).astype(int)
    return torch.stack([big[:, y:y + h, x:x + w] for y, x in zip(ys, xs)]).contiguous()


class ProceduralBackgrounds:
    """Procedural backdrops (gradients, noise, stripes, boxes, blobs) with a pan and zoom."""

    def __init__(self, motion: float = 1.0) -> None:
        self.motion = motion

    def clip(self, rng: np.random.Generator, T: int, size: Size) -> Tensor:
        return render_background(rng, T, size, motion=self.motion)


class ImageBackgrounds:
    """Background stills from a folder (searched recursively); each clip pans across one."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        _require_dir(self.root, "a folder of background images")
        self.files = sorted((p for p in self.root.rglob("*") if p.is_file()
                             and not p.name.startswith(".")
                             and p.suffix.lower() in IMAGE_SUFFIXES), key=lambda p: str(p))
        if not self.files:
            raise ValueError(f"{self.root}: no background images found; expected a folder "
                             f"(searched recursively) of {'/'.join(sorted(IMAGE_SUFFIXES))} files")

    def __len__(self) -> int:
        return len(self.files)

    def clip(self, rng: np.random.Generator, T: int, size: Size) -> Tensor:
        path = self.files[int(rng.integers(len(self.files)))]
        cover = (math.ceil(size[0] * 1.4), math.ceil(size[1] * 1.4))  # _pan zooms up to 1.4x
        return _pan(_chw(read_rgb(path, cover)), rng, T, size)


class VideoBackgrounds:
    """Background clips from frame folders and/or video files under ``root`` (recursive).

    A folder that directly holds images is one clip (frames in natural name order); every video
    file is one clip. A clip is T consecutive frames from a random start, resized to cover the
    frame and cropped at one random place (the footage brings its own motion).
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        layout = ("a folder of frame folders (<clip>/<frame>.jpg|png) and/or video files "
                  f"({'/'.join(sorted(VIDEO_SUFFIXES))})")
        _require_dir(self.root, layout)
        self.sources: list[Path] = []
        for folder in sorted([self.root, *(p for p in self.root.rglob("*") if p.is_dir())]):
            if not folder.name.startswith(".") and _images_in(folder):
                self.sources.append(folder)
        self.sources += sorted(p for p in self.root.rglob("*") if p.is_file()
                               and p.suffix.lower() in VIDEO_SUFFIXES)
        if not self.sources:
            raise ValueError(f"{self.root}: no background videos found; expected {layout}")

    def __len__(self) -> int:
        return len(self.sources)

    def clip(self, rng: np.random.Generator, T: int, size: Size) -> Tensor:
        src = self.sources[int(rng.integers(len(self.sources)))]
        if src.is_dir():
            files = _images_in(src)
            cover = (math.ceil(size[0] * 1.25), math.ceil(size[1] * 1.25))
            frames = torch.stack([_chw(read_rgb(files[i], cover))
                                  for i in _frame_indices(rng, len(files), T)])
        else:
            frames = _decode(src, rng, T)
        return _random_cover_crop(frames, rng, size)


def _random_cover_crop(frames: Tensor, rng: np.random.Generator, size: Size) -> Tensor:
    """Resize (T, 3, h, w) to cover 1-1.25x ``size`` and crop one random window for all frames."""
    h, w = size
    hs, ws = frames.shape[-2:]
    k = max(h / hs, w / ws) * rng.uniform(1.0, 1.25)
    nh, nw = max(h, int(round(hs * k))), max(w, int(round(ws * k)))
    frames = resize(frames, (nh, nw))
    y, x = int(rng.integers(0, nh - h + 1)), int(rng.integers(0, nw - w + 1))
    return frames[:, :, y:y + h, x:x + w].contiguous()


def _decode(path: Path, rng: np.random.Generator, T: int) -> Tensor:
    """T consecutive frames of a video file (T, 3, h, w); short videos bounce back and forth.

    Seeks near a random start when the frame count is known, then decodes forwards and keeps
    frames by their timestamps, so the same start always yields the same frames.
    """
    import av  # optional at import time: only video backgrounds need it

    with av.open(str(path)) as container:
        if not container.streams.video:
            raise ValueError(f"{path}: no video stream")
        stream = container.streams.video[0]
        rate = float(stream.average_rate or stream.guessed_rate or 0) or None
        n = int(stream.frames or 0)
        if n <= 0 and rate and stream.duration and stream.time_base:
            n = int(float(stream.duration * stream.time_base) * rate)
        if n > T and rate and stream.time_base:
            start = int(rng.integers(0, n - T + 1))
        else:
            start = 0
        first_pts = int(stream.start_time or 0)
        if start > 0:
            container.seek(first_pts + int(start / rate / stream.time_base), stream=stream,
                           backward=True)
        frames: list[np.ndarray] = []
        for frame in container.decode(stream):
            if start > 0 and frame.pts is not None:
                index = int(round(float((frame.pts - first_pts) * stream.time_base) * rate))
                if index < start:
                    continue
            frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) == T:
                break
    if not frames:
        raise ValueError(f"{path}: no frames could be decoded")
    stack = np.stack(frames).astype(np.float32) / 255.0
    return torch.from_numpy(stack[_bounce(len(frames), T)]).permute(0, 3, 1, 2).contiguous()


# ----------------------------------------------------------------------------- datasets

class _LayoutDataset(Dataset):
    """Shared plumbing: per-item RNG, background source, augmentation or plain resize."""

    def __init__(self, backgrounds: BackgroundSource | None, T: int, size: Size, seed: int,
                 augment: bool, config: AugmentConfig | None) -> None:
        if T < 1 or min(size) < 8 or seed < 0:
            raise ValueError(f"need T >= 1, size >= 8x8 and seed >= 0, got T={T}, "
                             f"size={size}, seed={seed}")
        if backgrounds is not None and not isinstance(backgrounds, BackgroundSource):
            raise TypeError("backgrounds must have a clip(rng, T, size) method, got "
                            f"{type(backgrounds).__name__}")
        self.backgrounds = backgrounds if backgrounds is not None else ProceduralBackgrounds()
        self.T, self.size, self.seed = T, (int(size[0]), int(size[1])), seed
        self.augment, self.config = augment, config
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Draw different augmentations (and background clips) for the same index."""
        self.epoch = int(epoch)

    def _rng(self, index: int) -> np.random.Generator:
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} items")
        return np.random.default_rng([self.seed, self.epoch, index])

    def _finish(self, fgr: Tensor, pha: Tensor, rng: np.random.Generator) -> Sample:
        """Add a background clip and composite, augmented or plainly resized to ``size``."""
        bgr = self.backgrounds.clip(rng, self.T, self.size)
        sample = {"fgr": fgr, "pha": pha, "bgr": bgr}
        if self.augment:
            return augment(sample, rng, self.size, self.config)
        fgr, pha = cover_crop(fgr, self.size), cover_crop(pha, self.size).clamp(0.0, 1.0)
        bgr = cover_crop(bgr, self.size)
        return {"fgr": fgr, "pha": pha, "bgr": bgr, "com": composite(fgr, pha, bgr)}


class VideoMatteClips(_LayoutDataset):
    """VideoMatte240K-style foreground clips: item = T consecutive frames of one clip.

    Layout: ``root/fgr/<clip>/<frame>.jpg|png`` and ``root/pha/<clip>/<frame>.jpg|png``.
    Each clip is cut into windows of T frames starting every ``stride`` frames (default T);
    a clip shorter than T gives one window that bounces back and forth.

    Args:
        root: dataset folder holding ``fgr`` and ``pha``.
        backgrounds: a background source (default: procedural backdrops).
        T: frames per item.
        size: (H, W) of the items.
        seed: with the epoch and the index, fixes every random choice of an item.
        augment: random crop/flip/jitter/blur/noise (else resize-to-cover and centre crop).
        config: augmentation ranges.
        stride: frames between window starts.
    """

    def __init__(self, root: str | Path, backgrounds: BackgroundSource | None = None,
                 T: int = 4, size: Size = (288, 512), *, seed: int = 0, augment: bool = True,
                 config: AugmentConfig | None = None, stride: int | None = None) -> None:
        super().__init__(backgrounds, T, size, seed, augment, config)
        self.root = Path(root)
        fgr_dir, pha_dir = self.root / "fgr", self.root / "pha"
        _require_dir(fgr_dir, _VIDEOMATTE)
        _require_dir(pha_dir, _VIDEOMATTE)
        fgr_clips = {p.name for p in fgr_dir.iterdir() if p.is_dir() and not p.name.startswith(".")}
        pha_clips = {p.name for p in pha_dir.iterdir() if p.is_dir() and not p.name.startswith(".")}
        if not fgr_clips:
            raise ValueError(f"{fgr_dir}: no clip folders; expected {_VIDEOMATTE}")
        _match({c: fgr_dir / c for c in fgr_clips}, {c: pha_dir / c for c in pha_clips},
               fgr_dir, pha_dir, _VIDEOMATTE)
        self.clips: list[tuple[list[Path], list[Path]]] = []
        for name in sorted(fgr_clips, key=lambda s: _natural_key(Path(s))):
            f_dir, p_dir = fgr_dir / name, pha_dir / name
            fg, al = _by_stem(_images_in(f_dir), f_dir), _by_stem(_images_in(p_dir), p_dir)
            if not fg:
                raise ValueError(f"{f_dir}: no frames; expected {_VIDEOMATTE}")
            stems = _match(fg, al, f_dir, p_dir, _VIDEOMATTE)
            self.clips.append(([fg[s] for s in stems], [al[s] for s in stems]))
        self.stride = max(1, stride or T)
        self.windows: list[tuple[int, int]] = []  # (clip, first frame)
        for c, (frames, _) in enumerate(self.clips):
            last = max(len(frames) - T, 0)
            self.windows += [(c, s) for s in range(0, last + 1, self.stride)]

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> Sample:
        rng = self._rng(index)
        c, start = self.windows[index]
        fgr_files, pha_files = self.clips[c]
        n = len(fgr_files)
        picks = np.arange(start, start + self.T) if n >= self.T else _bounce(n, self.T)
        fgr, pha = [], []
        for i in picks:
            f, a = read_rgb(fgr_files[i]), read_alpha(pha_files[i])
            if f.shape[:2] != a.shape:
                raise ValueError(f"{fgr_files[i]} is {f.shape[1]}x{f.shape[0]} but "
                                 f"{pha_files[i]} is {a.shape[1]}x{a.shape[0]}")
            fgr.append(_chw(f))
            pha.append(_chw(a))
        return self._finish(torch.stack(fgr), torch.stack(pha), rng)


class ImageMattingSet(_LayoutDataset):
    """Image matting stills (Adobe / Distinctions / AIM style) as T-frame clips.

    Layout: ``root/fg/<name>.png|jpg`` and ``root/alpha/<name>.png|jpg`` (same stems). The
    still is moved with a smooth random affine motion (translation, rotation, scale) so that
    the temporal parts of the network see motion; T=1 gives plain image matting (stage 1).

    Args: as ``VideoMatteClips``, plus ``motion`` (0 = a still clip) scaling the motion.
    """

    def __init__(self, root: str | Path, backgrounds: BackgroundSource | None = None,
                 T: int = 4, size: Size = (288, 512), *, seed: int = 0, augment: bool = True,
                 config: AugmentConfig | None = None, motion: float = 1.0) -> None:
        super().__init__(backgrounds, T, size, seed, augment, config)
        self.root = Path(root)
        self.motion = motion
        fg_dir, alpha_dir = self.root / "fg", self.root / "alpha"
        _require_dir(fg_dir, _IMAGE_MATTING)
        _require_dir(alpha_dir, _IMAGE_MATTING)
        fg, al = _by_stem(_images_in(fg_dir), fg_dir), _by_stem(_images_in(alpha_dir), alpha_dir)
        if not fg:
            raise ValueError(f"{fg_dir}: no images; expected {_IMAGE_MATTING}")
        stems = _match(fg, al, fg_dir, alpha_dir, _IMAGE_MATTING)
        self.items: list[tuple[Path, Path]] = [(fg[s], al[s]) for s in stems]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Sample:
        rng = self._rng(index)
        fg_path, alpha_path = self.items[index]
        f, a = read_rgb(fg_path), read_alpha(alpha_path)
        if f.shape[:2] != a.shape:
            raise ValueError(f"{fg_path} is {f.shape[1]}x{f.shape[0]} but {alpha_path} is "
                             f"{a.shape[1]}x{a.shape[0]}")
        still = torch.cat([_chw(f), _chw(a)])  # (4, h, w): warped together, stays registered
        # work at about the output scale (large stills shrink once, with antialiasing)
        h, w = self.size
        zoom = rng.uniform(1.0, 1.5) if self.augment else 1.0
        k = max(h / still.shape[1], w / still.shape[2]) * zoom
        wh, ww = max(h, round(still.shape[1] * k)), max(w, round(still.shape[2] * k))
        still = resize(still.unsqueeze(0), (wh, ww))[0]
        clip = self._move(still, rng)
        return self._finish(clip[:, :3].contiguous(), clip[:, 3:4].clamp(0.0, 1.0), rng)

    def _move(self, still: Tensor, rng: np.random.Generator) -> Tensor:
        """T affine views of a (4, h, w) still; borders are extended (a cut-off torso goes on)."""
        _, h, w = still.shape
        m = self.motion
        if m <= 0:
            return still.unsqueeze(0).expand(self.T, -1, -1, -1).contiguous()
        t = np.arange(self.T, dtype=np.float64)
        shift = np.stack([Wander(rng, 0.05 * w * m)(t), Wander(rng, 0.03 * h * m)(t)], 1)
        angle = Wander(rng, math.radians(5) * m)(t)
        scale = np.exp(Wander(rng, 0.08 * m, offset=0.04 * m)(t))  # mostly >= 1: fewer borders
        return warp_affine(still, (h, w), shift, angle, scale, (w * 0.5, h * 0.5))
