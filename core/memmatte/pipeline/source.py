"""Where plate frames come from: a frame sequence, a single image, or a video file."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..io import FramePattern, Plate, PlateError, VideoReader, Window, is_video, parse_frames
from ..io import read_image, require_frames
from ..protocol.cache_key import source_stamp

# Formats that hold scene-linear light by convention; others are display-encoded.
LINEAR_SUFFIXES = (".exr", ".hdr")


class Source:
    """Frames by number. ``frames`` lists what exists; ``first_frame`` starts the shot."""

    frames: list[int]
    path: str

    @property
    def first_frame(self) -> int:
        return self.frames[0]

    @property
    def linear(self) -> bool:
        return Path(self.path).suffix.lower() in LINEAR_SUFFIXES

    def read(self, frame: int) -> Plate:
        raise NotImplementedError

    def file_of(self, frame: int) -> str:
        return self.path

    def stamp(self, frame: int) -> dict[str, Any]:
        """What the cache key knows of this frame's file (path, size, mtime)."""
        return {**source_stamp(self.file_of(frame)), "frame": frame}

    def rescan(self) -> None:
        """See frames written since opening (a warm worker's source outlives one request)."""

    def close(self) -> None:
        pass


class SequenceSource(Source):
    def __init__(self, pattern: str, layer: str | None = None) -> None:
        self.pattern = FramePattern.parse(pattern)
        self.path = pattern
        self.layer = layer
        self.frames = self.pattern.scan()
        if not self.frames:
            raise PlateError("no frames of this pattern on disk", path=pattern)

    def read(self, frame: int) -> Plate:
        return read_image(self.pattern.path(frame), layer=self.layer)

    def file_of(self, frame: int) -> str:
        return str(self.pattern.path(frame))

    def rescan(self) -> None:
        self.frames = self.pattern.scan() or self.frames


class ImageSource(Source):
    """One image: frame 1."""

    def __init__(self, path: str, layer: str | None = None) -> None:
        if not Path(path).is_file():
            raise PlateError("file not found", path=path)
        self.path, self.layer, self.frames = path, layer, [1]

    def read(self, frame: int) -> Plate:
        return read_image(self.path, layer=self.layer)


class VideoSource(Source):
    """A movie file; frames are numbered from 1, as compositors' readers do."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.reader = VideoReader(path)
        self.frames = list(range(1, self.reader.frame_count + 1))
        self._lock = threading.Lock()  # one decoder, read from the reader thread and on demand

    def read(self, frame: int) -> Plate:
        with self._lock:
            rgb = self.reader.read(frame - 1)
        h, w = rgb.shape[:2]
        window = Window(0, 0, w, h)
        return Plate(np.ascontiguousarray(rgb, np.float32), ("R", "G", "B"), window, window, 1.0,
                     {"framesPerSecond": float(self.reader.fps)}, f"{self.path}@{frame}")

    def close(self) -> None:
        self.reader.close()


def open_source(path: str, layer: str | None = None) -> Source:
    if is_video(path):
        return VideoSource(path)
    try:
        pattern = FramePattern.parse(path)
    except PlateError:
        pattern = None
    if pattern is not None and not pattern.is_single:
        return SequenceSource(path, layer)
    return ImageSource(path, layer)


def select_frames(source: Source, frames: str | None) -> list[int]:
    """The frames to render, checked to exist before any work starts."""
    if frames is None:
        return list(source.frames)
    wanted = parse_frames(frames)
    if isinstance(source, SequenceSource):
        require_frames(source.pattern, wanted)
    else:
        outside = [f for f in wanted if f not in set(source.frames)]
        if outside:
            raise PlateError(f"{source.path}: --frames {frames} asks for frames "
                             f"{outside[:5]}{' ...' if len(outside) > 5 else ''} but it has "
                             f"frames {source.frames[0]}-{source.frames[-1]}")
    return wanted
