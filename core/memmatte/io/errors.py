"""The one error type of the I/O layer.

A compositor or a farm log only ever sees the message, so every message names the file (and the
frame where there is one) and says what would have been valid.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any


class PlateError(ValueError):
    """A plate, frame range or movie that cannot be used; the message says which and why.

    ``path`` and ``frame`` are kept as attributes so that callers (the pipeline, a progress
    stream) can report them without parsing the text.

    >>> str(PlateError("cannot read", path="plate.1001.exr", frame=1001))
    'plate.1001.exr (frame 1001): cannot read'
    """

    def __init__(self, message: str, *, path: str | Path | None = None,
                 frame: int | None = None) -> None:
        self.path = None if path is None else str(path)
        self.frame = frame
        self.detail = message
        where = self.path or ""
        if frame is not None:
            where = f"{where} (frame {frame})" if where else f"frame {frame}"
        super().__init__(f"{where}: {message}" if where else message)

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep path/frame when the error crosses a process boundary (worker -> job runner):
        # the default pickling would call PlateError(full_text) and lose them.
        return (_rebuild, (self.detail, self.path, self.frame))


def _rebuild(message: str, path: str | None, frame: int | None) -> PlateError:
    return PlateError(message, path=path, frame=frame)
