"""Frame sequences: file-name patterns (``plate.####.exr`` and friends) and frame ranges.

Farm jobs fail late and expensively when frame 1087 of 100 is missing, so
:func:`require_frames` checks the whole range on disk before any work starts and lists the gaps
as ranges a person can read.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..protocol.frame_range import parse_frames as _parse_frames
from .errors import PlateError

# One frame token in a file name: #### (Nuke/Shake), %04d (printf), @@@@ (Houdini/Katana
# style, one digit per @), $F4 / $F (Houdini). Padding counts digits; 0 means unpadded.
_TOKEN_RE = re.compile(r"#+|%0?(\d*)d|@+|\$F(\d*)")
_PATTERN_FORMS = "plate.####.exr, plate.%04d.exr, plate.@@@@.exr or plate.$F4.exr"
_LISTED_RUNS = 20


@dataclass(frozen=True)
class FramePattern:
    """A file-name pattern with at most one frame token, or a single file.

    >>> p = FramePattern.parse("/shots/plate.####.exr")
    >>> str(p.path(1001)), p.padding
    ('/shots/plate.1001.exr', 4)
    >>> FramePattern.parse("/shots/plate.$F.exr").path(7).name
    'plate.7.exr'
    """

    text: str
    folder: Path
    head: str
    tail: str
    padding: int
    token: str

    @classmethod
    def parse(cls, text: str | Path) -> FramePattern:
        """Parse ``text``; a name without a token is a single image (:attr:`is_single`)."""
        text = str(text)
        if not text.strip():
            raise PlateError(f"empty file pattern; valid forms: {_PATTERN_FORMS}")
        path = Path(text)
        name = path.name
        tokens = list(_TOKEN_RE.finditer(name))
        if len(tokens) > 1:
            found = ", ".join(m.group(0) for m in tokens)
            raise PlateError(f"more than one frame token ({found}); use exactly one, as in "
                             f"{_PATTERN_FORMS}", path=text)
        if any(_TOKEN_RE.search(part) for part in path.parent.parts):
            raise PlateError("frame tokens belong in the file name, not in a folder name; "
                             f"valid forms: {_PATTERN_FORMS}", path=text)
        if not tokens:
            return cls(text, path.parent, name, "", 0, "")
        m = tokens[0]
        token = m.group(0)
        if token.startswith("%"):
            padding = int(m.group(1) or 0)
        elif token.startswith("$F"):
            padding = int(m.group(2) or 0)
        else:  # one digit per # or @
            padding = len(token)
        return cls(text, path.parent, name[:m.start()], name[m.end():], padding, token)

    @property
    def is_single(self) -> bool:
        """True when the pattern names one file (no frame token)."""
        return not self.token

    def format_frame(self, frame: int) -> str:
        """The frame number as it appears in file names (printf rules: -5 with #### is -005)."""
        return f"{frame:0{self.padding}d}" if self.padding else str(frame)

    def path(self, frame: int) -> Path:
        """The file of ``frame`` (for a single image, always that image)."""
        if self.is_single:
            return self.folder / self.head
        return self.folder / f"{self.head}{self.format_frame(frame)}{self.tail}"

    def frame_of(self, name: str) -> int | None:
        """The frame a file name stands for under this pattern, or None if it does not match.

        Only the exact spelling counts (``plate.01001.exr`` is not frame 1001 of ``####``), so
        a scan never picks up a file that :meth:`path` would not have written.
        """
        if self.is_single or not (name.startswith(self.head) and name.endswith(self.tail)):
            return None
        number = name[len(self.head):len(name) - len(self.tail)]
        if not re.fullmatch(r"-?\d+", number):
            return None
        frame = int(number)
        return frame if self.format_frame(frame) == number else None

    def scan(self) -> list[int]:
        """Frames whose files exist on disk, sorted (empty for a single image or no folder)."""
        if self.is_single or not self.folder.is_dir():
            return []
        frames = {f for f in (self.frame_of(e.name) for e in self._entries()) if f is not None}
        return sorted(frames)

    def _entries(self) -> Iterable[Path]:
        return (e for e in self.folder.iterdir() if e.is_file())

    def __str__(self) -> str:
        return self.text


def _ranges(frames: Iterable[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for f in sorted(set(frames)):
        if runs and f == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], f)
        else:
            runs.append((f, f))
    return runs


def format_frames(frames: Iterable[int], limit: int | None = None) -> str:
    """Frames as compact ranges: ``[1003, 1004, 1005, 1010]`` -> ``"1003-1005, 1010"``.

    ``limit`` caps the number of ranges shown (the rest are counted).

    >>> format_frames([1010, 1003, 1004, 1005])
    '1003-1005, 1010'
    """
    runs = _ranges(frames)
    text = [f"{a}-{b}" if a != b else f"{a}" for a, b in runs[:limit]]
    if limit is not None and len(runs) > limit:
        text.append(f"... ({len(runs) - limit} more ranges)")
    return ", ".join(text)


def parse_frames(text: str) -> list[int]:
    """Frame numbers from a range text (the grammar lives in ``memmatte.protocol``).

    >>> parse_frames("1001-1005x2, 1010")
    [1001, 1003, 1005, 1010]
    """
    return _parse_frames(text, PlateError)


def require_frames(pattern: FramePattern | str | Path, frames: Iterable[int]) -> None:
    """Fail before any work starts unless every frame's file exists.

    The message lists the missing frames as ranges and the frames that are on disk.
    A single-image pattern needs just its file.
    """
    pat = pattern if isinstance(pattern, FramePattern) else FramePattern.parse(pattern)
    wanted = sorted(set(frames))
    if pat.is_single:
        if not pat.path(0).is_file():
            raise PlateError("file does not exist; give an existing image, or a sequence "
                             f"pattern such as {_PATTERN_FORMS}", path=pat.text)
        return
    if not pat.folder.is_dir():
        raise PlateError(f"folder {pat.folder} does not exist, so none of frames "
                         f"{format_frames(wanted, _LISTED_RUNS)} can be read", path=pat.text)
    present = set(pat.scan())
    missing = [f for f in wanted if f not in present]
    if not missing:
        return
    on_disk = (f"frames on disk: {format_frames(present, _LISTED_RUNS)}" if present
               else f"no file in {pat.folder} matches the pattern")
    raise PlateError(f"{len(missing)} of {len(wanted)} frames are missing: "
                     f"{format_frames(missing, _LISTED_RUNS)} ({on_disk})", path=pat.text)
