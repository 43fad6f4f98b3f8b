"""Never lose a plate: before any work, refuse a render that would write over its input.

Every file a render would write (``-o/--output`` and ``--alpha-out`` per frame, ``--preview``)
is compared with every frame file of the input and with the other outputs' files, as the file
system sees them, not as they are spelled:

- an existing file is the same file when the OS says so (device and inode, after symlinks):
  ``plate.%04d.exr`` vs ``plate.####.exr``, ``./plate`` vs ``/shots/plate``, a symlinked
  folder, a hard link, ``Plate.1001.exr`` on a case-insensitive file system;
- a file not written yet is the same as another when their resolved real paths are (folded
  to one case where the folder's file system ignores case), so ``-o m.####.exr
  --alpha-out m.%04d.exr`` is refused too.
"""
from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..io import FramePattern
from ..protocol.errors import SettingsError
from ..protocol.settings import OPTIONS, flag_of


@dataclass(frozen=True)
class Written:
    """One file a render writes: the option it comes from, and its frame (None: one file)."""

    option: str  # a RenderSettings key: output, alpha_out, preview
    path: Path
    frame: int | None = None

    @property
    def flag(self) -> str:
        flag = flag_of(self.option) if self.option in OPTIONS else \
            "--" + self.option.replace("_", "-")
        return f"{self.option} ({flag})"

    def describe(self) -> str:
        frame = "" if self.frame is None else f", frame {self.frame}"
        return f"{self.path} ({self.flag}{frame})"


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)  # follows symlinks: a link to the plate is the plate
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _existing_ancestor(path: Path) -> Path:
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


@functools.lru_cache(maxsize=256)
def folds_case(folder: str) -> bool:
    """True if names in ``folder`` (or its nearest existing ancestor) ignore case: the same
    entry answers to its name with the case of its letters swapped."""
    real = Path(os.path.realpath(_existing_ancestor(Path(folder))))
    try:
        entries = [e for e in os.scandir(real) if e.name != e.name.swapcase()][:1]
    except OSError:
        entries = []
    probes = [Path(e.path) for e in entries] + [p for p in (real, *real.parents)
                                                if p.name != p.name.swapcase()][:1]
    for probe in probes:
        try:
            return os.path.samefile(probe, probe.with_name(probe.name.swapcase()))
        except OSError:
            return False
    return False


def real_key(path: Path) -> str:
    """The resolved real path, in one case where the file system ignores case."""
    real = os.path.normcase(os.path.realpath(path))
    return real.casefold() if folds_case(os.path.dirname(real)) else real


def planned_writes(frames: Iterable[int], outputs: Iterable[tuple[str, FramePattern]],
                   preview: str | None) -> list[Written]:
    frames = list(frames)
    written = [Written(option, pattern.path(f), None if pattern.is_single else f)
               for option, pattern in outputs for f in frames]
    if preview:
        written.append(Written("preview", Path(preview)))
    return written


def refuse_overwrites(inputs: Iterable[str | Path], input_text: str,
                      written: Iterable[Written]) -> None:
    """Raise ``SettingsError`` (naming both files) if any file of ``written`` is an input
    file, or is another file of ``written``; the input's files are never touched."""
    by_identity: dict[tuple[int, int], Path] = {}
    by_key: dict[str, Path] = {}
    for p in map(Path, inputs):
        ident = _identity(p)
        if ident is not None:
            by_identity[ident] = p
        by_key[real_key(p)] = p
    seen: dict[str, Written] = {}
    seen_identity: dict[tuple[int, int], Written] = {}
    for w in written:
        ident = _identity(w.path)
        key = real_key(w.path)
        plate = by_identity.get(ident) if ident is not None else None
        plate = plate or by_key.get(key)
        if plate is not None:
            raise SettingsError(
                f"{w.flag} would write over the input file {plate} (input {input_text}) and "
                "the plate would be lost; nothing was written. Write the matte elsewhere, e.g. "
                "matte.####.exr", option=w.option, path=str(w.path), frame=w.frame)
        other = seen.get(key) or (seen_identity.get(ident) if ident is not None else None)
        if other is not None and other != w:
            raise SettingsError(
                f"{w.flag} is the same file as {other.describe()}: one would write over "
                "the other; nothing was written. Give each output its own name",
                option=w.option,
                path=str(w.path), frame=w.frame)
        seen[key] = w
        if ident is not None:
            seen_identity[ident] = w
