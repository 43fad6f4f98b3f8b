"""memmatte.io: plates, frame sequences and movies in and out.

- :func:`read_image` / :func:`write_image`: EXR (scanline, tiled, multi-resolution, multi-part,
  layers), DPX, TIFF, PNG, JPEG through OpenImageIO, as float32 :class:`Plate` values that keep
  data/display windows, pixel aspect and metadata; writes are atomic.
- :class:`FramePattern`, :func:`parse_frames`, :func:`require_frames`: ``plate.####.exr``-style
  sequences and ``1001-1100x2``-style ranges, checked before work starts.
- :class:`VideoReader`: mp4/mov/mkv/avi frames by index (PyAV).

Every failure is a :class:`PlateError` whose message names the file (and frame).
"""
from __future__ import annotations

from .errors import PlateError
from .frames import FramePattern, format_frames, parse_frames, require_frames
from .header import read_attribute, read_parts
from .image import EXR_COMPRESSIONS, READ_SUFFIXES, WRITE_SUFFIXES, read_image, write_image
from .metadata import (
    FRAME_RATE,
    TIMECODE,
    fps_to_rational,
    timecode_from_string,
    timecode_to_string,
)
from .plate import Plate
from .video import VIDEO_SUFFIXES, VideoReader, is_video
from .window import Window

__all__ = [
    "EXR_COMPRESSIONS",
    "FRAME_RATE",
    "FramePattern",
    "Plate",
    "PlateError",
    "READ_SUFFIXES",
    "TIMECODE",
    "VIDEO_SUFFIXES",
    "VideoReader",
    "WRITE_SUFFIXES",
    "Window",
    "format_frames",
    "fps_to_rational",
    "is_video",
    "parse_frames",
    "read_attribute",
    "read_parts",
    "read_image",
    "require_frames",
    "timecode_from_string",
    "timecode_to_string",
    "write_image",
]
