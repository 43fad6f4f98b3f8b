"""A shot's contact sheet from the frames its chunks wrote (the farm job's last step).

No chunk sees the whole shot, so the sheet is made afterwards from the files: the plate and
the written RGBA, both shown in the network's colour space, which every output records in
its ``memmatte:settings`` metadata (so this step needs no model and no runtime).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..color import ColorTransform, resolve_config
from ..pipeline.contact_sheet import sheet_indices, write_contact_sheet
from ..io import FramePattern, read_image
from ..pipeline.source import open_source, select_frames
from .chunks import FarmError


def _recorded_spaces(path: Path, metadata: dict) -> tuple[str, str]:
    try:
        recorded = json.loads(metadata["memmatte:settings"])
        return recorded["colorspace"], recorded["network_space"]
    except (KeyError, TypeError, ValueError) as exc:
        raise FarmError(f"{path}: no memmatte:settings with colour spaces in its metadata; "
                        "is it a memmatte render's output?") from exc


def write_shot_sheet(plate: str, output: str, sheet: Path, frames: str | None = None,
                     ocio: str | None = None, layer: str | None = None, rows: int = 8) -> Path:
    """Plate | alpha | foreground rows for ``rows`` evenly spaced frames of the shot."""
    source = open_source(plate, layer)
    try:
        chosen = select_frames(source, frames)
        pattern = FramePattern.parse(output)
        picked = [chosen[i] for i in sorted(sheet_indices(len(chosen), rows))]
        missing = [f for f in picked if not pattern.path(f).is_file()]
        if missing:
            raise FarmError(f"{output}: frames {missing} are not written yet; the contact "
                            "sheet runs after every chunk of the shot has finished")
        cfg = resolve_config(ocio)
        transform: ColorTransform | None = None
        panels = []
        for f in picked:
            matte = read_image(pattern.path(f))
            if transform is None:
                transform = ColorTransform(cfg, *_recorded_spaces(pattern.path(f),
                                                                  matte.metadata))
            pha = matte.channel("A")
            # Written RGB is premultiplied in the plate's space: divide where alpha is not 0.
            straight = np.where(pha[..., None] > 0, matte.rgb() / np.maximum(pha, 1e-6)[..., None],
                                0.0)
            plate_rgb = transform.to_network(source.read(f).rgb())
            fgr = transform.to_network(straight.astype(np.float32))
            panels.append((np.clip(plate_rgb, 0, 1), np.clip(fgr, 0, 1), np.clip(pha, 0, 1)))
    finally:
        source.close()
    return write_contact_sheet(sheet, panels, title=Path(plate).name)
