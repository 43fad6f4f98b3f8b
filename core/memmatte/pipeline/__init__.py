"""From plate to matte: sources, prefetching, rendering, writing.

Names load on first use (PEP 562): ``memmatte.protocol`` reads ``RenderSettings`` from here in a
host's Python, which must not need OpenImageIO, OCIO or a runtime just to validate a job.
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

from .settings import RenderSettings, SettingsError

_LAZY = {name: ".renderer" for name in ("Progress", "RenderResult", "Renderer", "preroll_plan",
                                      "render")}

__all__ = ["RenderSettings", "SettingsError", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
