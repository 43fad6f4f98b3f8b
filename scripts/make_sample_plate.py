#!/usr/bin/env python3
"""Build the bundled demo plate: sam2-bedroom frames as a scene-linear ACEScg EXR sequence.

    python scripts/make_sample_plate.py /path/to/sam2-bedroom core/memmatte/data/plate

Every second frame of the first 20, scaled to 480x270, decoded from sRGB and converted to
ACEScg with OCIO's built-in config, written as half-float EXRs (zip) numbered from 1001 with
a timecode and frame rate, as a camera plate would arrive.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import PyOpenColorIO as OCIO
from PIL import Image

SIZE = (480, 270)
FPS = 24


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("frames", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    config = OCIO.Config.CreateFromFile("ocio://default")
    cpu = config.getProcessor("sRGB Encoded Rec.709 (sRGB)", "ACEScg").getDefaultCPUProcessor()
    args.out.mkdir(parents=True, exist_ok=True)
    for i, n in enumerate(range(0, 20, 2)):
        img = Image.open(args.frames / f"{n:05d}.jpg").convert("RGB").resize(SIZE, Image.LANCZOS)
        rgb = np.ascontiguousarray(np.asarray(img, np.float32) / 255.0)
        cpu.applyRGB(rgb)
        frame = 1001 + i
        spec = oiio.ImageSpec(SIZE[0], SIZE[1], 3, "half")
        spec.channelnames = ("R", "G", "B")
        spec.attribute("compression", "zip")
        spec.attribute("oiio:ColorSpace", "ACEScg")
        spec.attribute("framesPerSecond", oiio.TypeDesc("rational"), (FPS, 1))
        spec.attribute("smpte:TimeCode", oiio.TypeDesc("timecode"),
                       (_bcd_timecode(0, 0, i // FPS, i % FPS), 0))
        out = oiio.ImageOutput.create(str(args.out / f"bedroom.{frame}.exr"))
        out.open(str(args.out / f"bedroom.{frame}.exr"), spec)
        out.write_image(rgb)
        out.close()
    print(f"wrote 10 frames to {args.out}")


def _bcd_timecode(h: int, m: int, s: int, f: int) -> int:
    """SMPTE 12M packs each field as binary-coded decimal, hours in the top byte."""
    bcd = lambda v: (v // 10) << 4 | (v % 10)  # noqa: E731
    return bcd(h) << 24 | bcd(m) << 16 | bcd(s) << 8 | bcd(f)


if __name__ == "__main__":
    main()
