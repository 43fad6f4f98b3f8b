"""A chunk's command line: ``python -m memmatte render`` with the shot's settings.

One place turns settings back into ``memmatte render`` options, for OpenJD tasks and OpenCue
layers alike; tests parse the result with the render command's own parser and compare.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..pipeline.settings import RenderSettings


@dataclass
class ChunkValues:
    """What a farm fills in per job or per task: OpenJD format strings or concrete values."""

    python: str
    input: str
    output: str
    frames: str
    log: str
    backend: str
    device: str
    alpha_out: str | None = None
    weights: str | None = None
    ocio: str | None = None


def render_command(s: RenderSettings, v: ChunkValues) -> list[str]:
    """The whole command, interpreter first. ``--resume`` always: a retried chunk keeps the
    frames it finished (each a complete file, written under a temporary name and renamed) and
    renders the rest, which gives the same bytes (DESIGN invariants 4, 5)."""
    args = [v.python, "-m", "memmatte", "render", v.input, "-o", v.output,
            "--frames", v.frames, "--resume", "--quiet", "--log", v.log,
            "--backend", v.backend, "--device", v.device]
    if v.alpha_out:
        args += ["--alpha-out", v.alpha_out]
    if v.weights:
        args += ["--weights", v.weights]
    if v.ocio:
        args += ["--ocio", v.ocio]
    literal = (("--colorspace", s.colorspace), ("--network-space", s.network_space),
               ("--downsample-ratio", s.downsample_ratio), ("--memory", s.memory),
               ("--layer", s.layer), ("--threads", s.threads))
    for flag, value in literal:
        if value is not None:
            args += [flag, str(value)]
    if s.compression != "zip":
        args += ["--compression", s.compression]
    if not s.half:
        args.append("--float")
    if s.detect_cuts:
        args.append("--detect-cuts")
    return args


def sheet_command(s: RenderSettings, v: ChunkValues, sheet: str) -> list[str]:
    """The contact-sheet step: reads the shot's written frames once every chunk is done."""
    args = [v.python, "-m", "memmatte", "farm", "sheet", v.input, v.output, sheet]
    if s.frames:
        args += ["--frames", s.frames]
    if v.ocio:
        args += ["--ocio", v.ocio]
    if s.layer:
        args += ["--layer", s.layer]
    return args
