#!/usr/bin/env python3
"""A warm worker's on-demand frame (``--serve``, request ``frame``) beside the engine's own
per-frame time, on the bundled 480x270 plate.

    python benchmarks/serve_frame.py [--backend torch|onnx] [--threads 1] [--frames 6]

The serve figure is the host's round trip for the next frame of a shot (request written,
plate read, colour, engine, foreground, EXR written, event read back) once the worker is
warm; the engine figure is ``Engine.matte`` alone on frames already in memory. Issue 9's
target: serve <= 1.5x engine. Both run with the same compute threads, alternating frame by
frame so machine noise hits both alike.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

from memmatte.protocol import WorkerClient

PLATE = Path(str(resources.files("memmatte").joinpath("data", "plate")))


def engine_for(backend_kind: str, threads: int, last: int):  # -> (Engine, frames)
    from memmatte.color import ColorTransform, network_space, resolve_config
    from memmatte.engine import Engine
    from memmatte.engine.factory import make_backend
    from memmatte.io import read_image

    cfg = resolve_config("ocio://default")
    to_net = ColorTransform(cfg, "ACEScg", network_space(cfg.config, None), fast=True)
    frames = {f: to_net.to_network(read_image(PLATE / f"bedroom.{f}.exr").rgb())
              for f in range(1001, last + 1)}
    backend = make_backend(backend_kind, None, "cpu")
    backend.set_threads(threads)
    return Engine(backend, first_frame=1001), frames


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", default="torch", choices=("torch", "onnx"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--frames", type=int, default=6, help="timed frames (1003 on)")
    args = parser.parse_args()
    first, last = 1003, 1003 + args.frames - 1
    engine, frames = engine_for(args.backend, args.threads, last)
    with tempfile.TemporaryDirectory() as out, WorkerClient.serve(sys.executable) as worker:
        settings = {"input": str(PLATE / "bedroom.####.exr"), "output": f"{out}/m.####.exr",
                    "colorspace": "ACEScg", "ocio": "ocio://default", "device": "cpu",
                    "backend": args.backend, "threads": args.threads}
        # cold: process start, weights, setup
        cold = timed(lambda: worker.render_frame(settings, 1001, timeout=300))
        worker.render_frame(settings, 1002, timeout=300)
        for f in (1001, 1002):
            engine.matte(f, frames.__getitem__)
        serve, own = [], []
        for f in range(first, last + 1):  # alternating, as a host plays the shot
            serve.append(timed(lambda: worker.render_frame(settings, f, timeout=300)))
            own.append(timed(lambda: engine.matte(f, frames.__getitem__)))
    s, e = statistics.median(serve), statistics.median(own)
    print(f"backend {args.backend}, {args.threads} compute thread(s), 480x270 plate, ratio 1")
    print(f"first request (cold worker): {cold:.0f} ms")
    print(f"serve, next single-frame request: {s:.1f} ms (median of {len(serve)})")
    print(f"engine per frame:                  {e:.1f} ms (median of {len(own)})")
    print(f"ratio serve/engine: {s / e:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
