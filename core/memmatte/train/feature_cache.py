"""Frozen-encoder features on disk, so that a CPU training step costs only what learns.

The converted encoder and LR-ASPP are Robust Video Matting's, exact; a fine-tune of the
memory block and the decoder leaves them frozen, so their per-frame features never change
and are computed once per labelled frame. Per clip folder:

    <cache>/<clip>/f1.npy f2.npy f3.npy f4.npy   float16 (N, C, h, w): 1/2, 1/4, 1/8 skips
                                                 and the LR-ASPP output at 1/16
    <cache>/<clip>/com.npy fgr.npy pha.npy       uint8 (N, H, W, 3|1): frames and teacher truth
    <cache>/<clip>/meta.json                     frames, size, the encoder's weights id

A clip is written into a temporary folder and renamed when complete: a killed build leaves
no half clip, and a rerun skips the clips already there (for the same encoder).
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from ..io.eight_bit import list_frames, read_gray, read_rgb
from ..protocol.errors import BAD_SETTINGS, MemmatteError
from ..model import MemMatte

LEVELS = ("f1", "f2", "f3", "f4")
IMAGES = {"com": 3, "fgr": 3, "pha": 1}


class CacheError(MemmatteError):
    """A feature cache that cannot be built or read; the message names the folder."""

    code = BAD_SETTINGS


def _uint8(x: np.ndarray) -> np.ndarray:
    return np.round(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)


def encoder_id(model: MemMatte) -> str:
    """A digest of the frozen part (backbone + LR-ASPP): features are valid for it only."""
    import hashlib

    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        if name.startswith(("backbone.", "aspp.")):
            digest.update(name.encode())
            digest.update(tensor.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()[:12]


@torch.inference_mode()
def cache_clip(model: MemMatte, labels: Path, out: Path, max_frames: int | None = None
               ) -> int:
    """Cache one label folder (``com``, ``fgr``, ``pha``); returns its frame count."""
    files = list_frames(labels / "com")[:max_frames]
    if not files:
        raise CacheError(f"{labels}: no frames in com/ (a `memmatte label` folder expected)")
    for kind in ("fgr", "pha"):
        missing = [f.name for f in files if not (labels / kind / f.name).is_file()]
        if missing:
            raise CacheError(f"{labels / kind}: no teacher {kind} for frame {missing[0]}")
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    arrays: dict[str, np.ndarray] = {}
    for i, path in enumerate(files):
        com = read_rgb(path)
        feats = model.encode(torch.from_numpy(com).permute(2, 0, 1)[None])
        levels = dict(zip(LEVELS, (feats.f1, feats.f2, feats.f3, feats.f4)))
        images = {"com": com, "fgr": read_rgb(labels / "fgr" / path.name),
                  "pha": read_gray(labels / "pha" / path.name)[..., None]}
        if i == 0:
            for name, t in levels.items():
                arrays[name] = np.lib.format.open_memmap(
                    tmp / f"{name}.npy", "w+", np.float16, (len(files), *t.shape[1:]))
            for name, img in images.items():
                arrays[name] = np.lib.format.open_memmap(
                    tmp / f"{name}.npy", "w+", np.uint8, (len(files), *img.shape))
        elif images["com"].shape != arrays["com"].shape[1:]:
            raise CacheError(f"{path}: size {images['com'].shape} differs from the clip's "
                             f"{arrays['com'].shape[1:]}")
        for name, t in levels.items():
            arrays[name][i] = t[0].numpy().astype(np.float16)
        for name, img in images.items():
            arrays[name][i] = _uint8(img)
    for a in arrays.values():
        a.flush()
    h, w = arrays["com"].shape[1:3]
    meta = {"frames": len(files), "size": [int(h), int(w)], "encoder_id": encoder_id(model),
            "labels": labels.name}
    (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return len(files)


def build_cache(model: MemMatte, label_root: Path, cache_root: Path,
                clips: Sequence[str] | None = None, max_frames: int | None = None,
                progress: Callable[[str], None] | None = None) -> list[str]:
    """Cache every label folder under ``label_root`` (or those named); returns the names.
    Clips already cached for this encoder are kept."""
    names = list(clips) if clips is not None else sorted(
        p.name for p in label_root.iterdir() if (p / "com").is_dir())
    if not names:
        raise CacheError(f"{label_root}: no label folders (<clip>/com, fgr, pha)")
    model.eval()
    wanted = encoder_id(model)
    for name in names:
        out = cache_root / name
        meta = out / "meta.json"
        if meta.is_file() and json.loads(meta.read_text()).get("encoder_id") == wanted:
            continue
        count = cache_clip(model, label_root / name, out, max_frames)
        if progress:
            progress(f"{name}: {count} frames cached")
    return names


class CachedClip:
    """One cached clip, memory-mapped: slices read only the frames asked for."""

    def __init__(self, folder: Path) -> None:
        meta_path = folder / "meta.json"
        if not meta_path.is_file():
            raise CacheError(f"{folder}: not a feature cache clip (no meta.json)")
        self.name = folder.name
        self.meta = json.loads(meta_path.read_text())
        self.frames = int(self.meta["frames"])
        self.arrays = {k: np.load(folder / f"{k}.npy", mmap_mode="r")
                       for k in (*LEVELS, *IMAGES)}

    def read(self, kind: str, indices: Sequence[int], box: tuple[int, int, int, int]
             ) -> torch.Tensor:
        """Frames ``indices`` of one array, cropped to ``box`` = (top, left, height, width)
        in plate pixels (multiples of 16), as float32 (T, C, h, w); images in [0, 1]."""
        top, left, height, width = box
        a = self.arrays[kind]
        if kind in IMAGES:
            x = np.stack([a[i, top:top + height, left:left + width] for i in indices])
            return torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255.0
        s = {"f1": 2, "f2": 4, "f3": 8, "f4": 16}[kind]
        # Encoder sizes round up: a crop reaching the plate's edge takes the last cell too.
        t, l_ = top // s, left // s
        b, r = -(-(top + height) // s), -(-(left + width) // s)
        x = np.stack([a[i, :, t:b, l_:r] for i in indices])
        return torch.from_numpy(x.astype(np.float32))


def open_cache(cache_root: Path, names: Sequence[str] | None = None) -> list[CachedClip]:
    folders = ([cache_root / n for n in names] if names is not None
               else sorted(p for p in cache_root.iterdir() if (p / "meta.json").is_file()))
    if not folders:
        raise CacheError(f"{cache_root}: no cached clips")
    return [CachedClip(f) for f in folders]
