"""The one error type of :mod:`memmatte.color`."""
from __future__ import annotations

from ..protocol.errors import COLOR, MemmatteError


class ColorError(MemmatteError):
    """A colour-management problem the user can fix: a config that is missing or does not parse,
    an unknown colour-space name, a config with no usable network colour space.

    It is a :class:`ValueError`, so command-line front ends that report bad arguments catch it
    without knowing about OCIO. The message always names the thing to fix (the path, the name,
    the option) and, for names, lists the valid ones.
    """

    code = COLOR
