"""``memmatte bench --pipeline``: frames per second end to end on a generated EXR sequence,
and the same for I/O alone and compute alone, so the overlap shows.

I/O alone = the render with the network replaced by a stand-in matte (reading + colour in
the reader thread, foreground + writing in the writer thread, as in a real render); compute
alone = the engine on frames already in memory; end to end = ``memmatte render``.
"""
from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..engine import FrameResult
from ..pipeline import Renderer, RenderSettings


@dataclass
class PipelineTiming:
    width: int
    height: int
    frames: int
    io_fps: float
    compute_fps: float
    end_to_end_fps: float

    @property
    def overlap(self) -> float:
        """End to end over the slower stage: 1.0 is perfect overlap."""
        return self.end_to_end_fps / min(self.io_fps, self.compute_fps)

    def lines(self) -> list[str]:
        size = f"{self.width}x{self.height}"
        return [f"pipeline fps {size} I/O only: {self.io_fps:.2f}",
                f"pipeline fps {size} compute only: {self.compute_fps:.2f}",
                f"pipeline fps {size} end to end: {self.end_to_end_fps:.2f}",
                f"pipeline overlap {size} (end to end / min of the two): {self.overlap:.2f}"]


def make_plate(folder: Path, width: int, height: int, frames: int) -> str:
    """A moving soft disc over a gradient, scene-linear with highlights above 1."""
    from ..io import write_image

    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    for i in range(frames):
        cx, cy = width * (0.3 + 0.02 * i), height * 0.5
        disc = np.clip(1.5 - np.hypot(xx - cx, yy - cy) / (0.2 * height), 0, 1)
        bg = np.stack([xx / width, yy / height, np.full_like(xx, 0.3)], 2) * 0.5
        rgb = bg * (1 - disc[..., None]) + disc[..., None] * np.array([2.5, 0.8, 0.4])
        write_image(folder / f"plate.{1001 + i:04d}.exr", rgb.astype(np.float32),
                    ("R", "G", "B"))
    return str(folder / "plate.####.exr")


def bench_pipeline(width: int = 3840, height: int = 2160, frames: int = 6,
                   ratio: float = 0.125, threads: int | None = None, backend: str = "torch"
                   ) -> PipelineTiming:
    """``threads``: compute threads (default: the renderer's choice, all cores but two)."""
    with tempfile.TemporaryDirectory(prefix="memmatte-bench-") as tmp:
        folder = Path(tmp)
        pattern = make_plate(folder, width, height, frames)
        settings = RenderSettings(input=pattern, output=str(folder / "out" / "m.####.exr"),
                                  device="cpu", downsample_ratio=ratio, threads=threads,
                                  backend=backend)
        renderer = Renderer(settings)
        try:
            order = renderer.frames
            real_matte = renderer.engine.matte
            renderer.engine.matte = stand_in_matte  # type: ignore[method-assign]
            start = time.perf_counter()
            renderer.run()
            io_fps = len(order) / (time.perf_counter() - start)
            renderer.engine.matte = real_matte  # type: ignore[method-assign]
            loaded = {f: renderer._load(f).network for f in order}
            renderer.backend.set_threads(renderer.compute_threads())
            start = time.perf_counter()
            for f in order:
                renderer.engine.matte(f, loaded.__getitem__)
            compute_fps = len(order) / (time.perf_counter() - start)
            del loaded
            renderer.engine.clear()
            start = time.perf_counter()
            renderer.run()
            e2e_fps = len(order) / (time.perf_counter() - start)
        finally:
            renderer.close()
    return PipelineTiming(width, height, frames, io_fps, compute_fps, e2e_fps)


def stand_in_matte(frame: int, load: Callable[[int], np.ndarray]) -> FrameResult:
    """A matte with a realistic soft edge (a few per cent of pixels between 0 and 1): the
    bright disc of ``make_plate`` is solid, its rim soft, the rest clear."""
    rgb = load(frame)
    pha = np.clip((rgb.max(axis=2) - 0.9) * 25.0, 0.0, 1.0).astype(np.float32)
    return FrameResult(frame, rgb, pha, ())
