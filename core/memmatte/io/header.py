"""One attribute of an image file's header, without reading its pixels (cache-key checks)."""
from __future__ import annotations

from pathlib import Path

import OpenImageIO as oiio


def read_attribute(path: str | Path, name: str) -> str | None:
    """The string attribute ``name`` of ``path``'s first part; None if the file is missing,
    unreadable, or has no such attribute (a frame that cannot prove what made it)."""
    if not Path(path).is_file():
        return None
    inp = oiio.ImageInput.open(str(path))
    if inp is None:
        oiio.geterror()  # clear it: an unreadable file is simply not reusable
        return None
    try:
        value = inp.spec().get_string_attribute(name, "")
    finally:
        inp.close()
    return value or None


def read_parts(path: str | Path) -> list[tuple[str, tuple[str, ...]]]:
    """(part name, channel names) of every part of an image file, pixels unread."""
    from .errors import PlateError
    from .image import _oiio_error, _read_parts

    inp = oiio.ImageInput.open(str(path))
    if inp is None:
        raise PlateError(f"cannot read: {_oiio_error()}", path=path)
    try:
        return _read_parts(inp, str(path))
    finally:
        inp.close()
