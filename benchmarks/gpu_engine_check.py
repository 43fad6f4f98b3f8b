#!/usr/bin/env python3
"""Engine on a CUDA GPU: fp16 vs fp32 agreement on a real frame, and ms per frame.

    PYTHONPATH=core python benchmarks/gpu_engine_check.py [--out results.json]

Needs only torch, numpy, safetensors and Pillow (runs where OpenImageIO is absent).
Times the engine's playback path (numpy in, numpy out: transfers included) after warm-up.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from memmatte.engine import Engine
from memmatte.engine.torch_backend import TorchBackend
from real_frames import clip
from memmatte.weights import load_weights

SIZES = ((512, 288, 1.0), (1920, 1080, 0.25), (3840, 2160, 0.125))


def timed(engine: Engine, frames: dict[int, np.ndarray], repeats: int) -> float:
    times = []
    for r in range(repeats):
        engine.clear()
        for f in frames:
            torch.cuda.synchronize()
            start = time.perf_counter()
            engine.matte(f, frames.__getitem__)
            torch.cuda.synchronize()
            if r or f >= 2:  # skip warm-up
                times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    results: dict[str, object] = {"device": torch.cuda.get_device_name(0),
                                  "torch": torch.__version__}
    real = clip(960, 540)
    outs = {}
    for name, device, half in (("cpu fp32", "cpu", False), ("cuda fp32", "cuda", False),
                               ("cuda fp16", "cuda", True)):
        engine = Engine(TorchBackend(load_weights()[0], device, half), first_frame=0)
        outs[name] = [engine.matte(f, real.__getitem__).pha for f in real]
    for name in ("cuda fp32", "cuda fp16"):
        diff = np.abs(np.stack(outs[name]) - np.stack(outs["cpu fp32"]))
        results[f"alpha vs cpu fp32, {name}"] = {"max": float(diff.max()),
                                                 "mean": float(diff.mean())}
    for w, h, r in SIZES:
        frames = clip(w, h)
        for half in (False, True):
            engine = Engine(TorchBackend(load_weights()[0], "cuda", half), downsample_ratio=r,
                            first_frame=0)
            ms = timed(engine, frames, repeats=3)
            results[f"ms/frame {w}x{h}@{r:g} cuda {'fp16' if half else 'fp32'}"] = round(ms, 2)
    text = json.dumps(results, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
