"""Movie files (mp4, mov, mkv, avi, ...) decoded with PyAV; OpenImageIO's wheel has no movie
reader.

Frames come back as the decoder gives them converted to 8-bit RGB: sRGB-encoded (display)
values in [0, 1], not scene-linear. Access is by frame index. Sequential reads keep one decoder
running; only a jump backwards, or forwards past a keyframe, seeks (to the keyframe before the
frame, then decodes forward), so playing a shot decodes each frame once.
"""
from __future__ import annotations

import bisect
import os
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from .errors import PlateError

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".m4v", ".webm", ".mxf")
# If a seek lands after the wanted frame, retry this much further back, then from the start.
_SEEK_BACKOFF = (0, 16, 64)


def is_video(path: str | Path) -> bool:
    """True when ``path`` has a movie extension (mp4, mov, mkv, avi, m4v, webm, mxf)."""
    return Path(os.fspath(path)).suffix.lower() in VIDEO_SUFFIXES


class VideoReader:
    """Frames of a movie's first video stream by index, as ``H x W x 3`` float32 in [0, 1].

    >>> with VideoReader("shot.mp4") as video:                  # doctest: +SKIP
    ...     first = video.read(0)
    ...     for frame in video:                                  # sequential, decoded once
    ...         pass
    """

    def __init__(self, path: str | Path) -> None:
        self.path = os.fspath(path)
        if not Path(self.path).is_file():
            raise PlateError("movie file does not exist; give an existing "
                             f"{'/'.join(s[1:] for s in VIDEO_SUFFIXES)} file", path=self.path)
        # PyAV loads FFmpeg (tens of MB): only when a movie is opened, never for sequences.
        import av

        self._av = av
        try:
            self._container: Any = av.open(self.path)
        except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
            raise PlateError(f"not a readable movie: {exc}", path=self.path) from exc
        try:
            if not self._container.streams.video:
                raise PlateError("has no video stream; give a movie with video", path=self.path)
            self._stream = self._container.streams.video[0]
            # Threads make decoding several times faster and do not change the pixels.
            self._stream.thread_type = "AUTO"
            self._pts, self._keys = self._index_timestamps()
            self._fps = self._frame_rate()
            ctx = self._stream.codec_context
            self._size = (int(ctx.width), int(ctx.height))
        except PlateError:
            self._container.close()
            raise
        except (av.FFmpegError, OSError, ValueError) as exc:
            self._container.close()
            raise PlateError(f"damaged movie: {exc}", path=self.path) from exc
        self._decoder: Iterator[Any] | None = None
        self._next = 0  # index of the frame the running decoder yields next
        self._closed = False

    # --- what the movie holds ---

    @property
    def frame_count(self) -> int:
        """Number of frames (from the packet index, exact for the file's timestamps)."""
        return len(self._pts)

    @property
    def fps(self) -> float:
        """Frames per second (e.g. 29.97002997 for 30000/1001)."""
        return self._fps

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels."""
        return self._size

    def __len__(self) -> int:
        return self.frame_count

    # --- reading ---

    def read(self, index: int) -> np.ndarray:
        """Frame ``index`` (0-based) as ``H x W x 3`` float32 in [0, 1]."""
        if self._closed:
            raise PlateError("reader is closed; open a new VideoReader", path=self.path)
        index = int(index)
        if not 0 <= index < self.frame_count:
            raise PlateError(f"frame index out of range; valid: 0-{self.frame_count - 1}",
                             path=self.path, frame=index)
        if self._decoder is None or index < self._next or self._keyframe_between(index):
            return self._seek_and_read(index)
        frame = self._decode_until(index)
        if frame is None:  # the running decoder passed it (odd timestamps): start over
            return self._seek_and_read(index)
        return frame

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in range(self.frame_count):
            yield self.read(i)

    def close(self) -> None:
        """Release the file; safe to call twice."""
        if not self._closed:
            self._closed = True
            self._decoder = None
            self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: nothing useful to do
            pass

    # --- internals ---

    def _index_timestamps(self) -> tuple[list[int], list[int]]:
        """Presentation timestamps of every frame, sorted (frame i has timestamp pts[i]), and
        the indices of the keyframes.

        Demuxing reads packets without decoding them and gives the true frame count, where
        the container's own count may be missing (mkv) or include frames an edit list drops.
        """
        pts = []
        key_pts = []
        for packet in self._container.demux(self._stream):
            if packet.size == 0 or getattr(packet, "is_discard", False):
                continue  # the flush packet; frames an edit list hides
            stamp = packet.pts if packet.pts is not None else packet.dts
            if stamp is None:
                raise PlateError("the video stream has packets without timestamps; "
                                 "re-wrap it (e.g. ffmpeg -i in -c copy out.mp4)",
                                 path=self.path)
            pts.append(int(stamp))
            if packet.is_keyframe:
                key_pts.append(int(stamp))
        if not pts:
            raise PlateError("the video stream has no frames", path=self.path)
        self._container.seek(0)  # rewind the demuxer; the first read starts from here
        pts.sort()
        return pts, sorted(bisect.bisect_left(pts, k) for k in key_pts)

    def _keyframe_between(self, index: int) -> bool:
        """True when a keyframe lies after the decoder's position and at or before ``index``:
        seeking there skips decoding the frames in between."""
        k = bisect.bisect_right(self._keys, index) - 1
        return k >= 0 and self._keys[k] > self._next

    def _frame_rate(self) -> float:
        for rate in (self._stream.average_rate, self._stream.guessed_rate,
                     self._stream.base_rate):
            if rate:
                return float(rate)
        tb = self._stream.time_base
        if len(self._pts) > 1 and tb:
            return float((len(self._pts) - 1) / ((self._pts[-1] - self._pts[0]) * tb))
        return 0.0

    def _index_of(self, pts: int | None) -> int:
        if pts is None:
            return self._next  # no timestamp: trust decode order
        i = bisect.bisect_left(self._pts, pts)
        return min(i, len(self._pts) - 1)

    def _decode_until(self, index: int) -> np.ndarray | None:
        """Decode forward to ``index``; None if the decoder is already past it."""
        assert self._decoder is not None
        while True:
            try:
                frame = next(self._decoder)
            except StopIteration:
                self._decoder = None
                raise PlateError(f"movie ended after {self._next} frames although its index "
                                 f"lists {self.frame_count}", path=self.path,
                                 frame=index) from None
            except self._av.FFmpegError as exc:
                self._decoder = None
                raise PlateError(f"cannot decode: {exc}", path=self.path, frame=index) from exc
            got = self._index_of(frame.pts)
            self._next = got + 1
            if got == index:
                return frame.to_ndarray(format="rgb24").astype(np.float32) / 255.0
            if got > index:
                return None

    def _seek_and_read(self, index: int) -> np.ndarray:
        for back in _SEEK_BACKOFF:
            target = max(index - back, 0)
            self._container.seek(self._pts[target], stream=self._stream, backward=True,
                                 any_frame=False)
            self._decoder = iter(self._container.decode(self._stream))
            self._next = 0
            frame = self._decode_until(index)
            if frame is not None:
                return frame
        # Timestamps too odd to seek by: decode from the very start.
        self._container.seek(0)
        self._decoder = iter(self._container.decode(self._stream))
        self._next = 0
        frame = self._decode_until(index)
        if frame is None:
            raise PlateError("cannot find this frame by its timestamp", path=self.path,
                             frame=index)
        return frame
