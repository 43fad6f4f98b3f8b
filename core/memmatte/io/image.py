"""Still images in and out through OpenImageIO: EXR (all kinds a compositor meets), DPX, TIFF,
PNG and JPEG.

Reading returns a :class:`Plate` of float32 pixels covering the data window, with channels
looked up by name. Writing keeps the source plate's geometry and metadata (design invariant 3)
and always goes through a temporary file and a rename (invariant 4). Every failure is a
:class:`PlateError` naming the file.
"""
from __future__ import annotations

import errno
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import OpenImageIO as oiio

from ..atomic import atomic_path
from ..protocol.errors import from_os_error
from ..protocol.settings import EXR_COMPRESSIONS
from .errors import PlateError
from .metadata import apply_metadata, carried_metadata, metadata_from_spec
from .plate import Plate
from .window import Window

# Compressions taking a level, written "zip:4" / "dwaa:45" (OpenImageIO's notation).
_LEVELLED = ("zip", "zips", "dwaa", "dwab")

# Extension -> (OpenImageIO pixel type, bits per sample or 0 for the type's own).
# Integer formats are previews: 16 bits where the format has them, DPX at its usual 10 bits.
_WRITE_FORMATS: dict[str, tuple[str, int]] = {
    ".exr": ("half", 0),
    ".png": ("uint16", 0),
    ".tif": ("uint16", 0),
    ".tiff": ("uint16", 0),
    ".jpg": ("uint8", 0),
    ".jpeg": ("uint8", 0),
    ".dpx": ("uint16", 10),
}
WRITE_SUFFIXES = tuple(_WRITE_FORMATS)
# What OpenImageIO reads that a plate might come in (the first seven are the usual ones).
READ_SUFFIXES = (".exr", ".dpx", ".tif", ".tiff", ".png", ".jpg", ".jpeg", ".cin", ".sxr", ".mxr",
                 ".tga", ".hdr", ".bmp", ".webp", ".jp2", ".psd", ".sgi", ".rgb")
_RGBA_ALIASES = ("", "rgba", "rgb")


def _oiio_error(source: Any = None) -> str:
    """OpenImageIO's pending error text, always retrieved (an unretrieved one is printed at exit).

    Damaged headers can put non-UTF-8 bytes into the message; the binding then raises while
    converting it (the error is still cleared), so fall back to a plain description.
    """
    try:
        text = source.geterror() if source is not None else oiio.geterror()
    except UnicodeDecodeError:
        return "the file's header is damaged (OpenImageIO's message holds undecodable bytes)"
    return " ".join(text.split()) or "no details from OpenImageIO"


# --- reading -----------------------------------------------------------------------------------

def _split_channel(name: str) -> tuple[str, str]:
    """``"diffuse.R"`` -> ``("diffuse", "R")``; ``"R"`` -> ``("", "R")``."""
    layer, _, short = name.rpartition(".")
    return layer, short


def _layers(channels: Sequence[str]) -> dict[str, list[int]]:
    """Layer name ("" = base) -> indices of its channels, in file order."""
    out: dict[str, list[int]] = {}
    for i, name in enumerate(channels):
        out.setdefault(_split_channel(name)[0], []).append(i)
    return out


def _has_rgb(channels: Sequence[str], indices: Sequence[int]) -> bool:
    shorts = {_split_channel(channels[i])[1] for i in indices}
    return {"R", "G", "B"} <= shorts


def _describe(parts: Sequence[tuple[str, tuple[str, ...]]]) -> str:
    """What a file holds, for error messages: parts with their layers."""
    items = []
    for i, (name, channels) in enumerate(parts):
        layers = ", ".join(f"{layer!r}" if layer else "base (" + " ".join(
            channels[j] for j in idx) + ")" for layer, idx in _layers(channels).items())
        items.append(f"part {i}{f' {name!r}' if name else ''}: layers {layers}")
    return "; ".join(items)


def _pick(parts: Sequence[tuple[str, tuple[str, ...]]], layer: str | None, part: int | None,
          path: str) -> tuple[int, str, list[int]]:
    """Choose ``(part index, layer name, channel indices)`` as read_image documents."""
    if part is not None and not 0 <= part < len(parts):
        raise PlateError(f"part {part} does not exist; valid parts are 0-{len(parts) - 1} "
                         f"({_describe(parts)})", path=path)
    candidates = [part] if part is not None else list(range(len(parts)))

    if layer is None:
        if part is None:
            # Multi-part: the first part that holds colour (the beauty), else the first part.
            part = next((p for p in candidates
                         if any(_has_rgb(parts[p][1], idx)
                                for idx in _layers(parts[p][1]).values())), 0)
        channels = parts[part][1]
        layers = _layers(channels)
        if "" in layers:
            return part, "", layers[""]
        for name, idx in layers.items():  # no base layer: the first layer holding colour
            if _has_rgb(channels, idx):
                return part, name, idx
        return part, "", list(range(len(channels)))

    # A part named like the layer (multi-part files often name parts after their layer).
    for p in candidates:
        if parts[p][0] == layer:
            layers = _layers(parts[p][1])
            if layer in layers:
                return p, layer, layers[layer]
            if "" in layers:
                return p, layer, layers[""]
            return p, layer, list(range(len(parts[p][1])))
    for p in candidates:
        layers = _layers(parts[p][1])
        if layer in layers and layer != "":
            return p, layer, layers[layer]
    if layer.lower() in _RGBA_ALIASES:  # Nuke's name for the base layer
        for p in candidates:
            layers = _layers(parts[p][1])
            if "" in layers:
                return p, "", layers[""]
    raise PlateError(f"no layer or part named {layer!r}; this file has {_describe(parts)}",
                     path=path)


def _read_parts(inp: Any, path: str) -> list[tuple[str, tuple[str, ...]]]:
    parts = []
    count = inp.spec().get_int_attribute("oiio:subimages", 0)
    index = 0
    while count <= 0 or index < count:
        if not inp.seek_subimage(index, 0):
            if index == 0:
                raise PlateError(f"cannot read: {_oiio_error(inp)}", path=path)
            break
        spec = inp.spec()
        name = spec.get_string_attribute("oiio:subimagename", "")
        parts.append((name, tuple(spec.channelnames)))
        index += 1
    _oiio_error(inp)  # seeking past the last part may leave an error pending; drop it
    return parts


def _read_pixels(inp: Any, spec: Any, part: int, indices: list[int], path: str) -> np.ndarray:
    lo, hi = min(indices), max(indices) + 1
    pixels = inp.read_image(part, 0, lo, hi, "float")
    if pixels is None:
        raise PlateError(f"damaged or incomplete pixel data: {_oiio_error(inp)}", path=path)
    pixels = np.asarray(pixels, dtype=np.float32).reshape(spec.height, spec.width, hi - lo)
    if indices != list(range(lo, hi)):
        pixels = pixels[:, :, [i - lo for i in indices]]
    # OpenEXR UINT channels hold integers (object IDs), not fractions: OpenImageIO would
    # normalise them by 2^32-1, so read those natively and keep the integer values.
    formats = list(spec.channelformats) or [spec.format] * spec.nchannels
    if inp.format_name() == "openexr":
        for k, c in enumerate(indices):
            # Compare enum values: the binding's aliases (UINT, UINT32) compare unequal.
            if formats[c].basetype.value == oiio.BASETYPE.UINT.value:
                raw = inp.read_image(part, 0, c, c + 1, "uint")
                if raw is None:
                    raise PlateError(f"damaged pixel data: {_oiio_error(inp)}", path=path)
                pixels[:, :, k] = np.asarray(raw).reshape(spec.height, spec.width)
    return np.ascontiguousarray(pixels)


def read_image(path: str | Path, layer: str | None = None, part: int | None = None) -> Plate:
    """Read one image as a float32 :class:`Plate` (the data window's pixels, level 0).

    Choosing channels, for EXR layers and multi-part files:

    - ``part``: the part (subimage) by index.
    - ``layer``: the part whose name is ``layer``, else the channels ``layer.*`` (returned with
      the prefix stripped: ``layer="diffuse"`` gives ``R, G, B, A`` from ``diffuse.R`` ...).
      ``"rgba"`` names the base layer when nothing else has that name.
    - neither: the first part holding R, G, B, and its base-layer channels (those without a
      prefix); without a base layer, its first layer holding R, G, B.

    Integer formats (8/16-bit PNG, TIFF, DPX, JPEG) are normalised to [0, 1]; half and float are
    kept as stored -- values above 1, negatives, NaN and Inf included. OpenEXR UINT channels
    keep their integer values. Tiled and multi-resolution files give their full-resolution level.
    Colour comes back associated with alpha (premultiplied), as in EXR: OpenImageIO multiplies
    the straight colour of a PNG's alpha in on read (and divides it out again on write).

    Raises PlateError (naming the file) for a missing, unreadable or damaged file, a deep image,
    or a layer/part that does not exist (the message lists what does).

    >>> plate = read_image("plate.1001.exr")                      # doctest: +SKIP
    >>> plate.rgb().shape, plate.data_window, plate.display_window  # doctest: +SKIP
    """
    path_str = os.fspath(path)
    p = Path(path_str)
    if not p.exists():
        raise PlateError("file does not exist; give an existing image file "
                         f"({', '.join(s[1:] for s in READ_SUFFIXES[:7])}, ...)", path=path_str)
    if p.is_dir():
        raise PlateError("is a folder; give an image file, or a frame pattern such as "
                         "plate.####.exr", path=path_str)
    try:  # what the OS refuses (permission, I/O error) is said as the OS says it
        with open(path_str, "rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise from_os_error(exc, "cannot read", path_str) from exc
    inp = oiio.ImageInput.open(path_str)
    if inp is None:
        raise PlateError(f"not a readable image: {_oiio_error()}", path=path_str)
    try:
        return _read(inp, path_str, layer, part)
    except PlateError:
        raise
    except MemoryError as exc:
        raise PlateError("not enough memory to read this image", path=path_str) from exc
    except (RuntimeError, ValueError, TypeError, OSError) as exc:  # UnicodeDecodeError too
        raise PlateError(f"damaged or unreadable image: {exc}", path=path_str) from exc
    finally:
        inp.close()
        _oiio_error(inp)


def _read(inp: Any, path: str, layer: str | None, part: int | None) -> Plate:
    parts = _read_parts(inp, path)
    index, layer_name, indices = _pick(parts, layer, part, path)
    if not inp.seek_subimage(index, 0):
        raise PlateError(f"cannot read part {index}: {_oiio_error(inp)}", path=path)
    spec = inp.spec()
    if spec.deep:
        raise PlateError("deep images are not supported; flatten it first "
                         "(e.g. oiiotool in.exr --flatten -o flat.exr) or give a flat image",
                         path=path)
    if spec.depth > 1:
        raise PlateError(f"volume images (depth {spec.depth}) are not supported; give a 2-D "
                         "image", path=path)
    pixels = _read_pixels(inp, spec, index, indices, path)
    channels = tuple(spec.channelnames[i] for i in indices)
    if layer_name:
        channels = tuple(_split_channel(c)[1] if _split_channel(c)[0] == layer_name else c
                         for c in channels)
    aspect = spec.get_float_attribute("PixelAspectRatio", 1.0)
    if not (math.isfinite(aspect) and aspect > 0):
        aspect = 1.0
    return Plate(pixels=pixels, channels=channels,
                 data_window=Window(spec.x, spec.y, spec.width, spec.height),
                 display_window=Window(spec.full_x, spec.full_y, spec.full_width,
                                       spec.full_height),
                 pixel_aspect=float(aspect), metadata=metadata_from_spec(spec), path=path,
                 layer=layer_name)


# --- writing -----------------------------------------------------------------------------------

def _compression(name: str, path: str) -> str:
    base, _, level = name.strip().lower().partition(":")
    if base not in EXR_COMPRESSIONS or (level and (base not in _LEVELLED or not level.isdigit())):
        raise PlateError(f"unknown compression {name!r}; valid: {', '.join(EXR_COMPRESSIONS)} "
                         f"(a level may follow {', '.join(_LEVELLED)}, e.g. 'dwaa:45')",
                         path=path)
    return f"{base}:{level}" if level else base


def write_image(path: str | Path, pixels: np.ndarray, channels: Sequence[str],
                like: Plate | None = None, *, half: bool = True, compression: str = "zip",
                metadata: Mapping[str, Any] | None = None) -> None:
    """Write ``H x W x C`` pixels atomically; the format follows the extension.

    EXR is half by default (``half=False``: float) with ``compression`` one of
    :data:`EXR_COMPRESSIONS`. PNG and TIFF are written 16-bit, JPEG 8-bit, DPX 10-bit
    (integer formats clamp to [0, 1]; they are for previews).

    ``like`` (usually the source plate) gives the data window origin, display window, pixel
    aspect and metadata (timecode, frame rate, other string/number attributes; not attributes
    describing the source file's encoding); its data window must be the size of ``pixels``.
    ``metadata`` adds or overrides attributes, e.g. ``{"memmatte:version": "0.1.0"}``.

    >>> write_image("matte.1001.exr", rgba, ("R", "G", "B", "A"), like=plate)  # doctest: +SKIP
    """
    path_str = os.fspath(path)
    suffix = Path(path_str).suffix.lower()
    if suffix not in _WRITE_FORMATS:
        raise PlateError(f"cannot write {suffix or 'a file without an extension'}; valid "
                         f"extensions: {', '.join(WRITE_SUFFIXES)}", path=path_str)
    comp = _compression(compression, path_str)
    px = np.asarray(pixels)
    if px.ndim == 2:
        px = px[:, :, None]
    channels = tuple(str(c) for c in channels)
    if px.ndim != 3 or px.shape[2] != len(channels) or 0 in px.shape:
        raise PlateError(f"pixels of shape {px.shape} do not match the {len(channels)} channel "
                         f"names {channels}; give H x W x C pixels and C names", path=path_str)
    px = np.ascontiguousarray(px, dtype=np.float32)
    height, width, nchannels = px.shape

    pixel_type, bits = _WRITE_FORMATS[suffix]
    if suffix == ".exr" and not half:
        pixel_type = "float"
    spec = oiio.ImageSpec(width, height, nchannels, pixel_type)
    spec.channelnames = channels
    # ImageSpec guesses alpha/depth from the channel count; say what the names say.
    spec.alpha_channel = channels.index("A") if "A" in channels else -1
    spec.z_channel = channels.index("Z") if "Z" in channels else -1
    if like is not None:
        if like.data_window.shape != (height, width):
            raise PlateError(f"pixels are {width}x{height} but the data window of {like.path} "
                             f"is {like.data_window}; write pixels of the same size, or "
                             "leave out like=", path=path_str)
        spec.x, spec.y = like.data_window.x, like.data_window.y
        disp = like.display_window
        spec.full_x, spec.full_y = disp.x, disp.y
        spec.full_width, spec.full_height = disp.width, disp.height
        spec.attribute("PixelAspectRatio", float(like.pixel_aspect))
        apply_metadata(spec, carried_metadata(like.metadata), path_str)
    if metadata:
        apply_metadata(spec, metadata, path_str)
    if suffix == ".exr":
        spec.attribute("compression", comp)
    if bits:
        spec.attribute("oiio:BitsPerSample", bits)

    with atomic_path(path_str) as tmp:
        _write(str(tmp), spec, px, path_str)


def _write(tmp: str, spec: Any, pixels: np.ndarray, path: str) -> None:
    out = oiio.ImageOutput.create(tmp)
    if out is None:
        raise PlateError(f"no writer for this format: {_oiio_error()}", path=path)
    error = ""
    try:
        ok = bool(out.open(tmp, spec)) and bool(out.write_image(pixels))
        if not ok:
            error = _oiio_error(out)
    finally:
        closed = bool(out.close())
    if not (ok and closed):
        # OpenImageIO names the temporary file; the user knows the real one.
        error = (error or _oiio_error(out)).replace(tmp, path)
        cause = _os_cause(tmp)
        if cause is not None:
            raise from_os_error(cause, "cannot write", path) from None
        raise PlateError(f"cannot write: {error}", path=path)


# Bytes written to probe why a write failed (more than any writer's buffer).
_PROBE_BYTES = 1 << 20


def _os_cause(tmp: str) -> OSError | None:
    """Why the OS refused a write that OpenImageIO only calls failed ("File output failed":
    it drops the OS error number), or None when the OS has no complaint.

    A read-only file system shows in the folder's flags; anything else (no space left, quota,
    permission, I/O error) the OS says again to a probe write into the same temporary file,
    which ``atomic_path`` removes either way.
    """
    statvfs = getattr(os, "statvfs", None)
    if statvfs is not None:
        try:
            if statvfs(os.path.dirname(tmp) or ".").f_flag & os.ST_RDONLY:
                return OSError(errno.EROFS, os.strerror(errno.EROFS))
        except OSError:
            pass
    try:
        with open(tmp, "ab") as fh:
            fh.write(bytes(_PROBE_BYTES))
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        exc.filename = None  # the temporary's name; the caller names the final file
        return exc
    return None
