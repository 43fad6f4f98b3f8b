"""Image attributes <-> plain Python values, including the two that need special types.

OpenEXR drops a timecode or frame rate stored as a plain string or float: the timecode must be
``smpte:TimeCode`` with ``TypeTimeCode`` (SMPTE 12M packed BCD) and the frame rate
``framesPerSecond`` with ``TypeRational``. Plates carry them as ``"HH:MM:SS:FF"`` and a float,
which is what compositors read and type; the conversion lives here.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import OpenImageIO as oiio

from .errors import PlateError

TIMECODE = "smpte:TimeCode"
FRAME_RATE = "framesPerSecond"
KEYCODE = "smpte:KeyCode"

_TIMECODE_RE = re.compile(r"^(\d{2}):(\d{2}):(\d{2})([:;.])(\d{2})$")
_DROP_FRAME_BIT = 1 << 6

# Tuples lose OpenImageIO's type; these names need the exact type back or the EXR writer
# skips them (chromaticities and the camera matrices matter for colour and 3D work).
_KNOWN_TUPLE_TYPES: dict[str, oiio.TypeDesc] = {
    "chromaticities": oiio.TypeDesc("float[8]"),
    "screenWindowCenter": oiio.TypeFloat2,
    "adoptedNeutral": oiio.TypeFloat2,
    "worldToCamera": oiio.TypeMatrix44,
    "worldToNDC": oiio.TypeMatrix44,
    KEYCODE: oiio.TypeKeyCode,
}
# Attributes that describe how the source file was encoded, not the image: a new file gets its
# own. The pixel aspect travels in Plate.pixel_aspect.
_NOT_CARRIED_PREFIXES = ("oiio:", "openexr:", "exr:", "tiff:", "png:", "jpeg:", "dpx:",
                         "thumbnail_")
# Texture-map settings (a mip-mapped source) do not describe a plain output image either.
_NOT_CARRIED = frozenset({"compression", "PixelAspectRatio", "DateTime", "planarconfig",
                          "textureformat", "wrapmodes", "fovcot"})
# Bigger arrays are binary blobs (ICC profiles, EXIF/XMP payloads): not worth carrying.
_MAX_TUPLE = 16
_INT32_RANGE = (-(2**31), 2**31 - 1)
# Base types compared by value: the binding's enum aliases (UINT8/UCHAR, INT/INT32) are
# distinct members that compare unequal.
_UINT8 = oiio.BASETYPE.UINT8.value
_INT32 = oiio.BASETYPE.INT.value
_UINT32 = oiio.BASETYPE.UINT.value


def _bcd(value: int) -> int:
    return ((value // 10) << 4) | (value % 10)


def _unbcd(bits: int) -> int:
    return (bits >> 4) * 10 + (bits & 0xF)


def timecode_to_string(packed: int) -> str:
    """SMPTE packed ``timeAndFlags`` -> ``"HH:MM:SS:FF"`` (``;`` before FF when drop-frame).

    >>> timecode_to_string(0x01020304)
    '01:02:03:04'
    """
    frames = _unbcd(packed & 0x3F)
    seconds = _unbcd((packed >> 8) & 0x7F)
    minutes = _unbcd((packed >> 16) & 0x7F)
    hours = _unbcd((packed >> 24) & 0x3F)
    sep = ";" if packed & _DROP_FRAME_BIT else ":"
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{sep}{frames:02d}"


def timecode_from_string(text: str) -> int:
    """``"HH:MM:SS:FF"`` (or ``HH:MM:SS;FF`` for drop-frame) -> SMPTE packed ``timeAndFlags``.

    Raises ValueError naming the valid form.

    >>> hex(timecode_from_string("01:02:03:04"))
    '0x1020304'
    """
    m = _TIMECODE_RE.match(text.strip())
    if m is None:
        raise ValueError(f"timecode {text!r} is not HH:MM:SS:FF (e.g. '01:00:00:00')")
    hours, minutes, seconds, frames = (int(m.group(i)) for i in (1, 2, 3, 5))
    if hours > 23 or minutes > 59 or seconds > 59 or frames > 39:
        raise ValueError(f"timecode {text!r} is out of range: hours 00-23, minutes and seconds "
                         "00-59, frames 00-39")
    packed = _bcd(frames) | (_bcd(seconds) << 8) | (_bcd(minutes) << 16) | (_bcd(hours) << 24)
    return packed | (_DROP_FRAME_BIT if m.group(4) == ";" else 0)


def fps_to_rational(fps: float) -> tuple[int, int]:
    """A frame rate as the exact fraction a compositor means (23.976 -> 24000/1001).

    >>> fps_to_rational(24.0), fps_to_rational(29.97), fps_to_rational(24000 / 1001)
    ((24, 1), (30000, 1001), (24000, 1001))
    """
    if not math.isfinite(fps) or fps <= 0:
        raise ValueError(f"frame rate {fps!r} must be a positive number, e.g. 24 or 23.976")
    if abs(fps - round(fps)) < 1e-9:
        return (int(round(fps)), 1)
    # NTSC-style rates are written rounded (23.976, 29.97, 59.94): snap them to n*1000/1001.
    ntsc = round(fps * 1.001)
    if abs(fps - ntsc * 1000 / 1001) < 5e-3:
        return (ntsc * 1000, 1001)
    frac = Fraction(fps).limit_denominator(10000)
    return (frac.numerator, frac.denominator)


def _value_of(attrib: Any) -> tuple[str, Any] | None:
    """One attribute as ``(name, python value)``, or None when it is not worth keeping."""
    name: str = attrib.name
    typ = attrib.type
    if typ == oiio.TypeTimeCode:
        value = attrib.value
        return name, timecode_to_string(int(value[0]))
    if typ == oiio.TypeRational or typ == oiio.TypeURational:
        num, den = attrib.value
        return (name, num / den) if den else None
    value = attrib.value
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return name, value
    if isinstance(value, np.ndarray):
        value = tuple(value.ravel().tolist())
    if (isinstance(value, tuple) and 0 < len(value) <= _MAX_TUPLE
            and typ.basetype.value != _UINT8
            and all(isinstance(v, (int, float)) for v in value)):
        return name, value
    return None


def metadata_from_spec(spec: oiio.ImageSpec) -> dict[str, Any]:
    """The attributes of an image as ``{name: str | int | float | tuple}``.

    Undecodable attributes (damaged files can hold garbage names or text) are skipped rather
    than failing the read: the pixels are what matters.
    """
    out: dict[str, Any] = {}
    for attrib in spec.extra_attribs:
        try:
            item = _value_of(attrib)
        except (UnicodeDecodeError, ValueError, TypeError, RuntimeError):
            continue
        if item is not None and item[0] != "PixelAspectRatio":
            out[item[0]] = item[1]
    return out


def carried_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a source plate's metadata that belongs in a derived output file."""
    return {k: v for k, v in metadata.items()
            if k not in _NOT_CARRIED and not k.startswith(_NOT_CARRIED_PREFIXES)}


def _tuple_type(name: str, value: tuple[Any, ...]) -> oiio.TypeDesc:
    if name in _KNOWN_TUPLE_TYPES:
        return _KNOWN_TUPLE_TYPES[name]
    # OpenEXR has typed vectors and matrices but no general int arrays; pick what it stores.
    n = len(value)
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
        return {2: oiio.TypeVector2i, 3: oiio.TypeVector3i}.get(n, oiio.TypeDesc(f"int[{n}]"))
    by_length = {2: oiio.TypeFloat2, 3: oiio.TypeVector, 9: oiio.TypeMatrix33,
                 16: oiio.TypeMatrix44}
    return by_length.get(n, oiio.TypeDesc(f"float[{n}]"))


def set_attribute(spec: oiio.ImageSpec, name: str, value: Any, path: str | Path) -> None:
    """Store one metadata value on ``spec`` with the type the file format expects."""
    bad = (f"metadata {name!r} = {value!r} cannot be stored; valid values are str, int, float "
           "or a tuple of up to 16 numbers")
    try:
        if name == TIMECODE:
            spec.attribute(name, oiio.TypeTimeCode, (timecode_from_string(str(value)), 0))
        elif name == FRAME_RATE:
            spec.attribute(name, oiio.TypeRational, fps_to_rational(float(value)))
        elif isinstance(value, str):
            spec.attribute(name, value)
        elif isinstance(value, (bool, int, np.integer)):
            value = int(value)
            if _INT32_RANGE[0] <= value <= _INT32_RANGE[1]:
                spec.attribute(name, value)
            else:  # image attributes are 32-bit: keep big numbers exactly, as text
                spec.attribute(name, str(value))
        elif isinstance(value, (float, np.floating)):
            spec.attribute(name, float(value))
        elif (isinstance(value, (tuple, list, np.ndarray)) and 0 < len(value) <= _MAX_TUPLE
              and all(isinstance(v, (int, float, np.integer, np.floating)) for v in value)):
            typ = _tuple_type(name, tuple(value))
            integral = typ.basetype.value in (_INT32, _UINT32)
            cast = int if integral else float
            spec.attribute(name, typ, tuple(cast(v) for v in value))
        else:
            raise PlateError(bad, path=path)
    except ValueError as exc:  # a malformed timecode or frame rate
        if isinstance(exc, PlateError):
            raise
        raise PlateError(f"metadata {name!r}: {exc}", path=path) from exc


def apply_metadata(spec: oiio.ImageSpec, metadata: Mapping[str, Any], path: str | Path) -> None:
    """Store every entry of ``metadata`` on ``spec`` (see :func:`set_attribute`)."""
    for name, value in metadata.items():
        set_attribute(spec, str(name), value, path)
