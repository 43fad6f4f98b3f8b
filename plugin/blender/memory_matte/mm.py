"""memmatte's host seam (``memmatte.protocol``), vendored into this extension at build time
(``installers/blender/build_extension.py``): the only part of memmatte Blender imports."""
from __future__ import annotations

try:
    from .vendor.memmatte import __version__, protocol
    from .vendor.memmatte.protocol import errors, events
except ImportError as exc:  # a source checkout, not a built extension
    raise ImportError("memory_matte needs its vendored memmatte.protocol: build the extension "
                      "with installers/blender/build_extension.py") from exc

__all__ = ["__version__", "errors", "events", "protocol"]
