"""8-bit PNG/JPEG frames as the public matting benchmarks store them (Pillow).

Plates (EXR, DPX, ...) go through OpenImageIO elsewhere; the benchmark layout is 8-bit.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..atomic import atomic_path
from ..protocol.errors import PLATE, MemmatteError

FRAME_SUFFIXES = (".png", ".jpg", ".jpeg")


class FrameError(MemmatteError):
    """A frame that cannot be read; the message names the file."""

    code = PLATE


def list_frames(folder: Path) -> list[Path]:
    """PNG/JPEG files of a folder, sorted by name (the benchmark's frame order)."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in FRAME_SUFFIXES)


def _open(path: Path, mode: str) -> np.ndarray:
    try:
        with Image.open(path) as img:
            return np.asarray(img.convert(mode))
    except (UnidentifiedImageError, OSError) as exc:
        raise FrameError(f"{path}: cannot read image ({exc})") from exc


def read_rgb(path: Path) -> np.ndarray:
    """HxWx3 float32 in [0, 1]."""
    return _open(path, "RGB").astype(np.float32) / 255.0


def read_gray(path: Path) -> np.ndarray:
    """HxW float32 in [0, 1]."""
    return _open(path, "L").astype(np.float32) / 255.0


def to_uint8(x: np.ndarray) -> np.ndarray:
    return (np.clip(x, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def write_png(path: Path, x: np.ndarray) -> None:
    """Write HxW or HxWx3 float [0, 1] as an 8-bit PNG, atomically."""
    with atomic_path(path) as tmp:
        # Light compression: 3x faster to write than Pillow's default, files ~20% larger.
        Image.fromarray(to_uint8(x)).save(tmp, format="PNG", compress_level=1)
