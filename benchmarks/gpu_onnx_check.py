#!/usr/bin/env python3
"""The ONNX backend on a GPU machine: which execution providers onnxruntime has there, and,
with CUDA, agreement with the CPU provider on a real frame and ms per frame.

    PYTHONPATH=core python benchmarks/gpu_onnx_check.py [--out results.json]

Needs numpy, onnxruntime and Pillow only (no torch, no OpenImageIO).
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from memmatte.engine import Engine
from real_frames import clip
from memmatte.engine.onnx_backend import OnnxBackend

SIZES = ((512, 288, 1.0), (1920, 1080, 0.25), (3840, 2160, 0.125))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    results: dict[str, object] = {"onnxruntime": ort.__version__,
                                  "providers": ort.get_available_providers()}
    devices = ["cpu"] + (["cuda"] if "CUDAExecutionProvider" in ort.get_available_providers()
                         else [])
    real = clip(960, 540)
    alphas = {}
    for device in devices:
        engine = Engine(OnnxBackend(device=device), first_frame=0)
        alphas[device] = np.stack([engine.matte(f, real.__getitem__).pha for f in real])
        for w, h, r in SIZES:
            frames = clip(w, h)
            engine = Engine(OnnxBackend(device=device), downsample_ratio=r, first_frame=0)
            times = []
            for f in range(8):
                start = time.perf_counter()
                engine.matte(f, lambda n: frames[n % 4])
                if f >= 2:
                    times.append((time.perf_counter() - start) * 1e3)
            results[f"ms/frame {w}x{h}@{r:g} onnx {device}"] = round(statistics.median(times), 2)
    if "cuda" in alphas:
        diff = np.abs(alphas["cuda"] - alphas["cpu"])
        results["alpha cuda vs cpu provider"] = {"max": float(diff.max()),
                                                 "mean": float(diff.mean())}
    text = json.dumps(results, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
