"""The shots a farm job is made of: the ``[[shot]]`` tables of a queue file, or one shot
given as ``memmatte render`` arguments. Both go through the queue's and the render command's
own parsing, so a shot means on the farm exactly what it means to ``memmatte queue``."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..pipeline.settings import RenderSettings
from .chunks import FarmError


@dataclass
class Shot:
    name: str
    settings: RenderSettings


def _job_name(text: str) -> str:
    """Farm job and layer names: letters, digits, ``_``, ``-`` and ``.`` only (OpenCue
    refuses others in layer names; OpenJD shows them in file names of its logs)."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._-")
    return name or "shot"


def shots_from_queue(path: Path) -> list[Shot]:
    """Every ``[[shot]]`` of a ``memmatte queue`` file, paths made absolute from its folder."""
    from ..commands.queue import load_queue

    path = path.resolve()  # the queue takes relative paths from the file's folder as given
    return [Shot(_job_name(job.name), RenderSettings.from_dict(job.settings, f"{path} "
                                                                 f"({job.name})"))
            for job in load_queue(path)]


def shot_from_render_args(argv: list[str], name: str | None = None) -> Shot:
    """One shot from the arguments ``memmatte render`` would take (paths made absolute from
    the current folder: the farm runs elsewhere)."""
    from ..cli import build_parser, render_settings
    from ..commands.queue import PATH_KEYS

    if not argv:
        raise FarmError("no shot: give a queue file (SHOTS.toml), or the render's arguments "
                        "after --, as in: -- plate.####.exr -o matte.####.exr --frames 1-100")
    try:
        args = build_parser().parse_args(["render", *argv])
    except SystemExit as exc:  # argparse has printed what it could not read
        raise FarmError(f"the render arguments after -- do not parse: {' '.join(argv)}") from exc
    settings = render_settings(args)
    for key in PATH_KEYS:
        value = getattr(settings, key)
        if isinstance(value, str) and not value.startswith("ocio://"):
            setattr(settings, key, os.path.abspath(value))
    stem = Path(settings.output).name.split("#")[0].split("%")[0].split("@")[0].split("$F")[0]
    return Shot(_job_name(name or stem), settings)
