"""Pixels for ``nuke.execute``: the input graph of a Write evaluated frame by frame.

Images are float32 RGBA over a data window (overscan kept) with the display window beside.
Read converts from its colour space to the working space (unless raw), unpremultiplying
first when ``premultiplied`` is set; Write converts back unless raw.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import OpenImageIO as oiio
import PyOpenColorIO as ocio

from . import fake

_HASHES = re.compile(r"#+")
_PRINTF = re.compile(r"%0?(\d*)d")


@dataclass
class Image:
    rgba: np.ndarray  # HxWx4 float32
    x: int
    y: int
    full: tuple[int, int, int, int]  # display window x, y, width, height


def frame_file(pattern: str, frame: int) -> str:
    path = _HASHES.sub(lambda m: f"{frame:0{len(m.group(0))}d}", pattern, count=1)
    return _PRINTF.sub(lambda m: f"{frame:0{int(m.group(1) or 0)}d}", path, count=1)


def _convert(rgb: np.ndarray, src: str, dst: str) -> np.ndarray:
    if src == dst:
        return rgb
    cfg = ocio.Config.CreateFromFile(fake.config)
    proc = cfg.getProcessor(src, dst).getDefaultCPUProcessor()
    out = np.ascontiguousarray(rgb, np.float32).copy()
    proc.applyRGB(out)
    return out


def _working() -> str:
    return str(fake.root["workingSpaceLUT"].value())


def evaluate(node: Any, frame: int) -> Image:
    cls = node.Class()
    if cls == "Read":
        return _read(node, frame)
    if cls in ("Dot", "Output", "Write"):
        return evaluate(node.input(0), frame)
    if cls == "Input":
        parent = node.parent()
        up = parent.input(int(node["number"].value()))
        if up is None:
            raise RuntimeError(f"{parent.name()}: input {node['number'].value()} not connected")
        return evaluate(up, frame)
    if cls == "Grade":
        img = evaluate(node.input(0), frame)
        out = img.rgba.copy()
        out[..., :3] *= float(node["multiply"].value())
        return Image(out, img.x, img.y, img.full)
    if cls == "Group":
        out = node.node("Output1")
        return evaluate(out, frame)
    raise NotImplementedError(f"the fake cannot render a {cls} node")


def _read(node: Any, frame: int) -> Image:
    path = frame_file(str(node["file"].value()), frame)
    buf = oiio.ImageBuf(path)
    if buf.has_error:
        raise RuntimeError(f"{node.name()}: cannot read {path}: {buf.geterror()}")
    spec = buf.spec()
    names = list(spec.channelnames)
    px = buf.get_pixels(oiio.FLOAT)
    rgba = np.zeros((spec.height, spec.width, 4), np.float32)
    for i, c in enumerate("RGBA"):
        if c in names:
            rgba[..., i] = px[..., names.index(c)]
        elif c == "A":
            rgba[..., 3] = 1.0
    if not node["raw"].value():
        space = str(node["colorspace"].value())
        alpha = rgba[..., 3:4]
        premult = bool(node["premultiplied"].value())
        rgb = np.where(alpha > 0, rgba[..., :3] / np.maximum(alpha, 1e-30), 0) if premult \
            else rgba[..., :3]
        rgb = _convert(rgb.reshape(-1, 3), space, _working()).reshape(rgb.shape)
        rgba[..., :3] = rgb * alpha if premult else rgb
    return Image(rgba, spec.x, spec.y, (spec.full_x, spec.full_y, spec.full_width,
                                        spec.full_height))


def write(node: Any, frame: int) -> None:
    img = evaluate(node.input(0), frame)
    path = frame_file(str(node["file"].value()), frame)
    if node["create_directories"].value():
        os.makedirs(os.path.dirname(path), exist_ok=True)
    assert node["file_type"].value() == "exr", "the fake writes EXRs only"
    chans = {"rgb": "RGB", "rgba": "RGBA", "alpha": "A", "all": "RGBA"}[
        str(node["channels"].value())]
    rgba = img.rgba.copy()
    if not node["raw"].value():
        space = str(node["colorspace"].value())
        rgba[..., :3] = _convert(rgba[..., :3].reshape(-1, 3), _working(),
                                 space).reshape(rgba[..., :3].shape)
    pixels = np.stack([rgba[..., "RGBA".index(c)] for c in chans], -1)
    kind = "float" if node["datatype"].value() == "32 bit float" else "half"
    h, w = pixels.shape[:2]
    spec = oiio.ImageSpec(w, h, len(chans), kind)
    spec.channelnames = tuple(chans)
    spec.x, spec.y = img.x, img.y
    spec.full_x, spec.full_y, spec.full_width, spec.full_height = img.full
    spec.attribute("compression", "zip")
    if node["metadata"].value() == "no metadata":
        spec.attribute("DateTime", "")  # otherwise the writer stamps the time (capDate)
    out = oiio.ImageOutput.create(path)
    assert out is not None, oiio.geterror()
    out.open(path, spec)
    out.write_image(np.ascontiguousarray(pixels, np.float32))
    out.close()
