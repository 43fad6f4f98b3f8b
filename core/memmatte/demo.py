"""``memmatte demo``: matte the bundled sample frames and write PNGs and a contact sheet."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image

from .atomic import atomic_path
from .contact_sheet import write_contact_sheet
from .imageio8 import list_frames, read_rgb, to_uint8, write_png
from .infer import ClipMatter


def sample_frames() -> list[Path]:
    return list_frames(Path(str(resources.files(__package__).joinpath("data", "sample"))))


def write_rgba(path: Path, fgr: np.ndarray, pha: np.ndarray) -> None:
    """PNG stores straight (unassociated) alpha, so the foreground goes in unpremultiplied."""
    rgba = np.concatenate([to_uint8(fgr), to_uint8(pha)[..., None]], axis=2)
    with atomic_path(path) as tmp:
        Image.fromarray(rgba, "RGBA").save(tmp, format="PNG")


def run_demo(matter: ClipMatter, out: Path, frames: list[Path] | None = None) -> Path:
    frames = frames if frames is not None else sample_frames()
    rows = []
    for frame in frames:
        plate = read_rgb(frame)
        fgr, pha = matter(plate)
        write_png(out / "pha" / f"{frame.stem}.png", pha)
        write_png(out / "fgr" / f"{frame.stem}.png", fgr)
        write_rgba(out / "rgba" / f"{frame.stem}.png", fgr, pha)
        rows.append((plate, fgr, pha))
    return write_contact_sheet(out / "contact_sheet.png", rows)
