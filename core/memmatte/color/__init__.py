"""memmatte.color: OCIO colour management for the network's input and the foreground output.

DESIGN.md invariant 2: the network sees sRGB-encoded, display-referred values in [0, 1] made by
OCIO from the plate's colour space (default: the config's ``color_picking`` role); the
foreground comes back premultiplied in the plate's own space, equal to the plate where alpha
is 1.

Typical use, once per shot/job (never per frame)::

    from memmatte.color import resolve_config, ColorTransform, premultiplied_foreground

    src = resolve_config(args.ocio, host_config=None)          # explicit > host > $OCIO > built-in
    tr = ColorTransform.for_plate(src, args.colorspace)        # plate -> color_picking
    ...
    net_in = tr.to_network(plate_rgb)                          # per frame
    fg = premultiplied_foreground(plate_rgb, fgr, pha, tr.from_network)

Configs and processors are cached process-wide (:mod:`memmatte.color._cache`);
:func:`clear_caches` forgets them.
"""
from __future__ import annotations

from ._cache import clear_caches
from .config import BUILTIN_CONFIG, ConfigSource, resolve_config
from .errors import ColorError
from .foreground import premultiplied_foreground
from .spaces import check_colorspace, colorspace_names, network_space, role_names
from .transform import ColorTransform

__all__ = [
    "BUILTIN_CONFIG",
    "ColorError",
    "ColorTransform",
    "ConfigSource",
    "check_colorspace",
    "clear_caches",
    "colorspace_names",
    "network_space",
    "premultiplied_foreground",
    "resolve_config",
    "role_names",
]
