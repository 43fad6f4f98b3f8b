#!/usr/bin/env python3
"""torch vs ONNX Runtime on the engine's playback path, alternating A/B per round so that
machine noise hits both alike (2-core machines swing a lot).

    python benchmarks/backend_ab.py [--threads 1] [--rounds 5]

Prints the median ms/frame per backend and size, and the onnx/torch ratio.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from memmatte.commands.bench import TIMED
from memmatte.engine import Engine
from memmatte.engine.onnx_backend import OnnxBackend
from memmatte.engine.torch_backend import TorchBackend
from memmatte.weights import load_weights


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    backends = {"torch": TorchBackend(load_weights()[0], "cpu"),
                "onnx": OnnxBackend(device="cpu", threads=args.threads)}
    rng = np.random.default_rng(0)
    for w, h, r in TIMED:
        clip = [rng.uniform(0, 1, (h, w, 3)).astype(np.float32) for _ in range(3)]
        engines = {k: Engine(b, downsample_ratio=r, first_frame=0) for k, b in backends.items()}
        times: dict[str, list[float]] = {k: [] for k in engines}
        frame = 0
        for _ in range(2):  # warm-up: both engines reach steady state
            for e in engines.values():
                e.matte(frame, lambda n: clip[n % 3])
            frame += 1
        for _ in range(args.rounds):
            for name, engine in engines.items():
                start = time.perf_counter()
                engine.matte(frame, lambda n: clip[n % 3])
                times[name].append((time.perf_counter() - start) * 1e3)
            frame += 1
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"{w}x{h}@{r:g} threads={args.threads}: torch {med['torch']:.1f} ms, "
              f"onnx {med['onnx']:.1f} ms, onnx/torch {med['onnx'] / med['torch']:.2f}")


if __name__ == "__main__":
    main()
