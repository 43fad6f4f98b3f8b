"""What one render does: the settings a CLI call, a queue entry or a job file carry."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


class SettingsError(ValueError):
    """A render setting that cannot work; the message names the option and what is valid."""


@dataclass
class RenderSettings:
    input: str  # a frame pattern, a single image file, or a video file
    output: str  # an output frame pattern (EXR for compositing; PNG/TIFF for previews)
    frames: str | None = None  # "1001-1100", "1001-1100x2", "1,5,9"; default: all
    colorspace: str | None = None  # plate colour space; default by file type (see source.py)
    ocio: str | None = None  # config path or ocio:// URI; default: $OCIO, then built-in
    network_space: str | None = None  # default: the config's color_picking role
    weights: str | None = None  # default: the weights shipped in the package
    device: str = "auto"
    downsample_ratio: float | None = None  # default: long side near 512 px
    memory: str | None = None  # override the weights' memory variant (ablations)
    resume: bool = False  # keep frames already written
    alpha_out: str | None = None  # also write alpha alone to this pattern
    preview: str | None = None  # contact sheet PNG path
    half: bool = True  # EXR pixel type: half (default) or float
    compression: str = "zip"
    layer: str | None = None  # EXR layer / part name holding the plate
    detect_cuts: bool = False
    backend: str = "torch"
    threads: int | None = None  # compute threads; default: all cores but the two I/O threads

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "settings",
                  extra_keys: tuple[str, ...] = ()) -> "RenderSettings":
        """Settings from a plain mapping (a job, a queue entry); ``extra_keys`` are keys the
        caller handles itself, listed as valid in the error message."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SettingsError(f"{where}: unknown keys {unknown}; valid keys: "
                                f"{sorted(known | set(extra_keys))}")
        missing = [k for k in ("input", "output") if not data.get(k)]
        if missing:
            raise SettingsError(f"{where}: missing required keys {missing}")
        return cls(**data)
