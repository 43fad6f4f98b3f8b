"""Contact sheet: one row per frame, plate | alpha | foreground over a checkerboard."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..atomic import atomic_path
from ..io.eight_bit import to_uint8

LABELS = ("plate", "alpha", "foreground over checker")


def sheet_indices(count: int, rows: int) -> set[int]:
    """Evenly spaced frames, first and last included."""
    if rows <= 0:
        return set()
    if count <= rows:
        return set(range(count))
    return {round(i * (count - 1) / (rows - 1)) for i in range(rows)} if rows > 1 else {0}


def checker(height: int, width: int, cell: int = 16) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width]
    tile = ((yy // cell + xx // cell) % 2).astype(np.float32)
    return np.repeat((0.4 + 0.2 * tile)[..., None], 3, axis=2)


def over_checker(fgr: np.ndarray, pha: np.ndarray) -> np.ndarray:
    a = pha[..., None]
    return fgr * a + checker(*pha.shape) * (1.0 - a)


def row(plate: np.ndarray, fgr: np.ndarray, pha: np.ndarray, width: int) -> np.ndarray:
    """One sheet row, each panel scaled to ``width`` pixels."""
    panels = [plate, np.repeat(pha[..., None], 3, axis=2), over_checker(fgr, pha)]
    h = max(1, round(plate.shape[0] * width / plate.shape[1]))
    resized = [np.asarray(Image.fromarray(to_uint8(p)).resize((width, h), Image.BILINEAR))
               for p in panels]
    return np.concatenate(resized, axis=1)


def write_contact_sheet(path: Path, frames: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
                        panel_width: int = 320, title: str = "") -> Path:
    """frames: (plate RGB, straight foreground RGB, alpha) float arrays in [0, 1]."""
    if not frames:
        raise ValueError("a contact sheet needs at least one frame")
    rows = [row(p, f, a, panel_width) for p, f, a in frames]
    header = 18
    sheet = Image.new("RGB", (rows[0].shape[1], header + sum(r.shape[0] for r in rows)),
                      (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    for i, label in enumerate(LABELS):
        draw.text((i * panel_width + 4, 3), label if i or not title else f"{label}  {title}",
                  fill=(230, 230, 230))
    y = header
    for r in rows:
        sheet.paste(Image.fromarray(r), (0, y))
        y += r.shape[0]
    with atomic_path(path) as tmp:
        sheet.save(tmp, format="PNG")
    return path
