"""``memmatte demo``: the bundled sample plate through the whole pipeline.

The plate is real footage stored as a scene-linear ACEScg EXR sequence (data/plate/), read,
colour-managed to the network, matted, and written as premultiplied RGBA EXRs in ACEScg with a
contact sheet.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

from ..pipeline import Renderer, RenderResult, RenderSettings

PLATE_SPACE = "ACEScg"


def sample_plate() -> str:
    folder = Path(str(resources.files("memmatte").joinpath("data", "plate")))
    return str(folder / "bedroom.####.exr")


def demo_settings(out: Path, weights: str | None = None, device: str = "auto",
                  downsample_ratio: float | None = None, memory: str | None = None
                  ) -> RenderSettings:
    return RenderSettings(input=sample_plate(), output=str(out / "bedroom_matte.####.exr"),
                          colorspace=PLATE_SPACE, ocio="ocio://default", weights=weights,
                          device=device, downsample_ratio=downsample_ratio, memory=memory,
                          alpha_out=str(out / "bedroom_alpha.####.exr"),
                          preview=str(out / "contact_sheet.png"))


def run_demo(settings: RenderSettings) -> RenderResult:
    renderer = Renderer(settings)
    try:
        return renderer.run()
    finally:
        renderer.close()
