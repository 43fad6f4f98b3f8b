"""Test plates written with OpenImageIO directly (independent of memmatte.io)."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import OpenImageIO as oiio

DEMO_PLATE = Path(str(resources.files("memmatte").joinpath("data", "plate")))


def demo_frame(frame: int) -> np.ndarray:
    """The bundled ACEScg demo plate (a real person), float32 HxWx3."""
    buf = oiio.ImageBuf(str(DEMO_PLATE / f"bedroom.{frame}.exr"))
    return buf.get_pixels(oiio.FLOAT)[..., :3].copy()


def write_exr(path: Path, pixels: np.ndarray, channels: tuple[str, ...] = ("R", "G", "B"),
              pixel_type: str = "half", origin: tuple[int, int] = (0, 0),
              display: tuple[int, int, int, int] | None = None, fps: int = 24,
              extra: dict[str, str] | None = None) -> Path:
    """display: (x, y, width, height) of the display window; default = data window."""
    h, w = pixels.shape[:2]
    spec = oiio.ImageSpec(w, h, len(channels), pixel_type)
    spec.channelnames = channels
    spec.x, spec.y = origin
    if display is not None:
        spec.full_x, spec.full_y, spec.full_width, spec.full_height = display
    spec.attribute("compression", "zip")
    spec.attribute("framesPerSecond", oiio.TypeDesc("rational"), (fps, 1))
    spec.attribute("smpte:TimeCode", oiio.TypeDesc("timecode"), (0x01000000, 0))
    for key, value in (extra or {}).items():
        spec.attribute(key, value)
    out = oiio.ImageOutput.create(str(path))
    assert out is not None, oiio.geterror()
    out.open(str(path), spec)
    out.write_image(np.ascontiguousarray(pixels, np.float32))
    out.close()
    return path


def read_exr(path: Path) -> tuple[np.ndarray, oiio.ImageSpec]:
    """Pixels in the file's own type (half stays half: bit comparisons) and the spec."""
    buf = oiio.ImageBuf(str(path))
    spec = buf.spec()
    return buf.get_pixels(spec.format), spec
