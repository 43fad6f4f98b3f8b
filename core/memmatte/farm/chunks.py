"""A shot's frames cut into farm chunks, and each chunk written as a ``--frames`` value.

Chunks are exact by the finite memory window (DESIGN invariant 1): a chunk reads its two
frames of pre-roll itself, so any cut gives the files of one sequential render. The cut is
still fixed when the bundle is written, so every farm, retry and log names the same chunks.
"""
from __future__ import annotations

from ..io import FramePattern, format_frames, is_video, parse_frames
from ..protocol.errors import BAD_JOB, MemmatteError


class FarmError(MemmatteError):
    """A shot that cannot become a farm job; the message names the shot and the option."""

    code = BAD_JOB


def split_frames(frames: list[int], size: int) -> list[list[int]]:
    """Consecutive runs of ``size`` frames (the last may be shorter), in render order.

    >>> split_frames([1, 2, 3, 4, 5], 2)
    [[1, 2], [3, 4], [5]]
    """
    if size < 1:
        raise FarmError(f"--chunk-size must be at least 1, got {size}")
    ordered = sorted(set(frames))
    return [ordered[i:i + size] for i in range(0, len(ordered), size)]


def frames_text(frames: list[int]) -> str:
    """``frames`` as one ``--frames`` value that ``parse_frames`` reads back exactly, without
    spaces (it also names the chunk's log file).

    >>> frames_text([1001, 1002, 1003]), frames_text([1, 3, 5]), frames_text([1, 2, 7])
    ('1001-1003', '1-5x2', '1-2,7')
    """
    if not frames:
        raise FarmError("a chunk needs at least one frame")
    steps = {b - a for a, b in zip(frames, frames[1:])}
    if len(frames) == 1:
        text = str(frames[0])
    elif len(steps) == 1:
        step = steps.pop()
        text = f"{frames[0]}-{frames[-1]}" + (f"x{step}" if step > 1 else "")
    else:
        text = format_frames(frames).replace(" ", "")
    assert parse_frames(text) == frames, (text, frames)  # the render must read what we meant
    return text


def shot_frames(settings: dict, where: str) -> list[int]:
    """The frames a shot renders: its ``frames`` setting, else the sequence on disk."""
    if settings.get("frames"):
        return parse_frames(str(settings["frames"]))
    source = str(settings["input"])
    if is_video(source):
        raise FarmError(f"{where}: input {source} is a movie; give the shot's frames "
                        "(frames = \"1-240\") so its chunks can be cut without decoding it")
    pattern = FramePattern.parse(source)
    if pattern.is_single:
        return [1]  # a single image is frame 1, as memmatte render numbers it
    frames = pattern.scan()
    if not frames:
        raise FarmError(f"{where}: no files of {source} on disk; give the shot's frames "
                        "(frames = \"1001-1100\") or check the input pattern")
    return frames
