"""The script's colour settings, read from the Root node: the OCIO config, the working space
and the colour-space names a knob can offer (Nuke 13-16 knob names)."""
from __future__ import annotations

import os
import re

import nuke

DEFAULT_CHOICE = "default"  # the upstream Read's colour space, or the working space
_DEFAULT_RE = re.compile(r"^default \((.*)\)$")


def ocio_config(root: nuke.Node | None = None) -> str | None:
    """The config the script uses (a path or ``ocio://`` URI); None in Nuke's own (non-OCIO)
    colour management, where the worker falls back to ``$OCIO`` or its built-in config."""
    root = root or nuke.root()
    resolved = root.knob("OCIOConfigPath")  # the resolved path (hidden knob)
    if resolved is not None and str(resolved.value()):
        return str(resolved.value())
    mode = root.knob("colorManagement")
    if mode is not None and str(mode.value()) == "Nuke":
        return None
    config = root.knob("OCIO_config")
    custom = root.knob("customOCIOConfigPath")
    if config is not None and str(config.value()) == "custom" and custom is not None:
        path = str(custom.value())
        return path or None
    return os.environ.get("OCIO") or None


def working_space(root: nuke.Node | None = None) -> str:
    root = root or nuke.root()
    knob = root.knob("workingSpaceLUT")
    return plain_name(str(knob.value())) if knob is not None else "scene_linear"


def colour_spaces(root: nuke.Node | None = None) -> list[str]:
    """The names the working-space knob offers (families stripped), in the config's order."""
    root = root or nuke.root()
    knob = root.knob("workingSpaceLUT")
    if not isinstance(knob, nuke.Enumeration_Knob):
        return []
    names = [plain_name(str(v)) for v in knob.values()]
    return list(dict.fromkeys(n for n in names if n))


def plain_name(value: str) -> str:
    """``default (ACEScg)`` -> ``ACEScg``; ``Utility/Linear Rec.709`` -> ``Linear Rec.709``
    (menus show families as paths)."""
    value = value.strip()
    m = _DEFAULT_RE.match(value)
    if m:
        value = m.group(1)
    return value.rsplit("/", 1)[-1] if "/" in value else value
