"""Errors of the weights layer (importable without torch)."""
from __future__ import annotations


class WeightsError(ValueError):
    """A weights file that cannot be used; the message names the file and the problem."""


class ConversionError(ValueError):
    """Source weights that do not fit; the message says which layer and why."""
