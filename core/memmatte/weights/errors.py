"""Errors of the weights layer (importable without torch)."""
from __future__ import annotations

from ..protocol.errors import WEIGHTS, MemmatteError


class WeightsError(MemmatteError):
    """A weights file that cannot be used; the message names the file and the problem."""

    code = WEIGHTS


class ConversionError(MemmatteError):
    """Source weights that do not fit; the message says which layer and why."""

    code = WEIGHTS
