"""What the node's source datablock means on disk: the worker's input pattern, the frame
numbers it holds, and the colour space Blender reads it in. No UI here."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

import bpy

_DIGITS = re.compile(r"(\d+)(?=\D*$)")  # the last run of digits in a file name


@dataclass(frozen=True)
class SourceInfo:
    input: str  # a path or a frame pattern (plate.####.exr) the worker reads
    frames: tuple[int, ...]  # frame numbers of the source, in order
    colorspace: str  # the datablock's colour space (Blender's OCIO config)
    kind: str  # SEQUENCE, MOVIE or FILE

    @property
    def first(self) -> int:
        return self.frames[0]


class SourceError(ValueError):
    """The node's source cannot be used (no datablock, no file, no frames)."""


def _abspath(block: Any) -> str:
    return os.path.normpath(bpy.path.abspath(block.filepath, library=block.library))


def sequence_pattern(path: str) -> tuple[str, re.Pattern[str]]:
    """``/a/plate.1001.exr`` -> (``/a/plate.####.exr``, a regex matching its frames)."""
    folder, name = os.path.split(path)
    m = _DIGITS.search(name)
    if m is None:
        raise SourceError(f"{path}: a sequence's file name needs a frame number")
    head, digits, tail = name[:m.start()], m.group(1), name[m.end():]
    pattern = os.path.join(folder, head + "#" * len(digits) + tail)
    digits_re = r"(\d{" + str(len(digits)) + r",})"  # at least as many digits (1001 .. 10001)
    regex = re.compile(re.escape(head) + digits_re + re.escape(tail) + "$")
    return pattern, regex


def scan_sequence(path: str) -> tuple[str, tuple[int, ...]]:
    pattern, regex = sequence_pattern(path)
    folder = os.path.dirname(path) or "."
    try:
        names = os.listdir(folder)
    except OSError as exc:
        raise SourceError(f"{folder}: cannot list the sequence's folder ({exc.strerror})") \
            from exc
    frames = sorted(int(m.group(1)) for m in map(regex.match, names) if m)
    if not frames:
        raise SourceError(f"{pattern}: no frames of this sequence on disk")
    return pattern, tuple(frames)


def describe(block: Any) -> SourceInfo:
    """The source of an Image or Movie Clip datablock."""
    if block is None:
        raise SourceError("choose a source: an Image or a Movie Clip")
    path = _abspath(block)
    colorspace = block.colorspace_settings.name
    kind = block.source
    if kind == "SEQUENCE":
        pattern, frames = scan_sequence(path)
        return SourceInfo(pattern, frames, colorspace, kind)
    if not os.path.isfile(path):
        raise SourceError(f"{path}: file not found")
    if kind == "MOVIE":
        # memmatte numbers a movie's frames from 1, as Blender's clips do.
        count = int(block.frame_duration)
        if count < 1:
            raise SourceError(f"{path}: Blender reads no frames in this movie")
        return SourceInfo(path, tuple(range(1, count + 1)), colorspace, kind)
    if kind == "FILE":
        return SourceInfo(path, (1,), colorspace, kind)
    raise SourceError(f"{block.name}: a source of type {kind} cannot be matted; use an "
                      "image file, an image sequence or a movie")
