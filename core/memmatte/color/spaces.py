"""Colour-space names: listing, checking (roles and aliases included), the network's space.

>>> cfg = resolve_config().config                         # doctest: +SKIP
>>> check_colorspace(cfg, "scene_linear")                 # doctest: +SKIP
'ACEScg'
>>> network_space(cfg, None)                              # doctest: +SKIP
'sRGB Encoded Rec.709 (sRGB)'
"""
from __future__ import annotations

import difflib

import PyOpenColorIO as OCIO

from .config import ConfigSource, as_config
from .errors import ColorError

COLOR_PICKING_ROLE = "color_picking"

#: Names (or aliases) of sRGB-encoded spaces in common configs, best first: the ACES cg/studio
#: configs, Blender, nuke-default, ACES 1.x, older Blender/Resolve-style display names.
SRGB_ENCODED_CANDIDATES: tuple[str, ...] = (
    "sRGB Encoded Rec.709 (sRGB)",
    "sRGB",
    "srgb_tx",
    "sRGB - Texture",
    "Utility - sRGB - Texture",
    "Input - Generic - sRGB - Texture",
    "srgb_texture",
    "sRGB - Display",
    "srgb_display",
    "Output - sRGB",
)


def colorspace_names(config: OCIO.Config | ConfigSource) -> list[str]:
    """The config's active colour-space names, in config order."""
    return [str(n) for n in as_config(config).getColorSpaceNames()]


def role_names(config: OCIO.Config | ConfigSource) -> dict[str, str]:
    """``{role: colour space}`` of the config, sorted by role."""
    return {str(r): str(cs) for r, cs in sorted(as_config(config).getRoles())}


def _unknown(config: OCIO.Config, name: object, what: str) -> ColorError:
    names = colorspace_names(config)
    roles = role_names(config)
    lines = [f"unknown colour space {name!r} for {what}"]
    if isinstance(name, str) and name:
        close = difflib.get_close_matches(name, names + list(roles), n=3, cutoff=0.6)
        if close:
            lines[0] += f" (did you mean {', '.join(repr(c) for c in close)}?)"
    lines[0] += f"; valid names: {', '.join(names)}"
    if roles:
        lines.append("roles: " + ", ".join(f"{r} ({cs})" for r, cs in roles.items()))
    return ColorError("; ".join(lines))


def check_colorspace(config: OCIO.Config | ConfigSource, name: str, what: str = "--colorspace") -> str:
    """The canonical colour-space name that ``name`` means in ``config``.

    ``name`` may be a colour-space name (case-insensitive, as OCIO matches), an alias
    (``"lin_ap1"``, ``"srgb_tx"``) or a role (``"scene_linear"``, ``"color_picking"``).

    Raises:
        ColorError: ``"unknown colour space 'X' for <what>; valid names: ...; roles: ..."``.
    """
    cfg = as_config(config)
    if not isinstance(name, str) or not name:
        raise _unknown(cfg, name, what)
    cs = cfg.getColorSpace(name)
    if cs is None:
        raise _unknown(cfg, name, what)
    return str(cs.getName())


def _is_srgb_encoded(cs: OCIO.ColorSpace) -> bool:
    if cs.isData():
        return False
    words = [str(cs.getName()), str(cs.getFamily() or "")] + [str(a) for a in cs.getAliases()]
    text = " ".join(words).lower()
    return "srgb" in text and "linear" not in text and "lin_" not in text


def network_space(
    config: OCIO.Config | ConfigSource, override: str | None, *, what: str = "the network colour space"
) -> str:
    """The colour space the network reads and writes (sRGB-encoded, display-referred).

    The ``override`` if given (checked like :func:`check_colorspace`), else the config's
    ``color_picking`` role (sRGB-encoded in Blender's, nuke-default and the ACES cg/studio
    configs) unless it points at a data space, else a well-known sRGB-encoded space
    (:data:`SRGB_ENCODED_CANDIDATES`), else any non-linear space whose name, family or aliases
    say sRGB.

    Raises:
        ColorError: no override, no usable role and nothing sRGB-like; says what to pass.
    """
    cfg = as_config(config)
    if override:
        return check_colorspace(cfg, override, what)

    if cfg.hasRole(COLOR_PICKING_ROLE):
        cs = cfg.getColorSpace(COLOR_PICKING_ROLE)
        if cs is not None and not cs.isData():
            return str(cs.getName())

    for candidate in SRGB_ENCODED_CANDIDATES:
        cs = cfg.getColorSpace(candidate)
        if cs is not None and not cs.isData():
            return str(cs.getName())

    for n in colorspace_names(cfg):
        cs = cfg.getColorSpace(n)
        if cs is not None and _is_srgb_encoded(cs):
            return str(cs.getName())

    names = colorspace_names(cfg)
    raise ColorError(
        f"cannot choose {what}: the OCIO config {cfg.getName()!r} has no '{COLOR_PICKING_ROLE}' role "
        f"and no sRGB-encoded colour space; pass the name of the config's sRGB-encoded (display-"
        f"referred, [0,1]) colour space explicitly (e.g. --network-colorspace NAME) or use another "
        f"config (--ocio ocio://default); valid names: {', '.join(names)}"
    )


__all__ = [
    "COLOR_PICKING_ROLE",
    "SRGB_ENCODED_CANDIDATES",
    "check_colorspace",
    "colorspace_names",
    "network_space",
    "role_names",
]
