"""The one error type of the I/O layer.

A compositor or a farm log only ever sees the message, so every message names the file (and the
frame where there is one) and says what would have been valid.
"""
from __future__ import annotations

from ..protocol.errors import PLATE, MemmatteError


class PlateError(MemmatteError):
    """A plate, frame range or movie that cannot be used; the message says which and why.

    ``path`` and ``frame`` are kept as attributes (and survive pickling) so that callers (the
    pipeline, a host's error event) can report them without parsing the text.

    >>> str(PlateError("cannot read", path="plate.1001.exr", frame=1001))
    'plate.1001.exr (frame 1001): cannot read'
    """

    code = PLATE
