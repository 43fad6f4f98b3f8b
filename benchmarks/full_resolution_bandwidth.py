#!/usr/bin/env python3
"""The full-resolution pass (both backends' pass, in C, from the guided filter's coefficients
to fgr and alpha at plate size) against a plain numpy copy of the same bytes: the machine's
own bound. Alternating, median of the rounds.

    python benchmarks/full_resolution_bandwidth.py [--threads 1 2] [--rounds 9]

Bytes moved per frame: the plate read (H x W x 3 float32) and fgr + alpha written
(H x W x 4); the copy reads and writes half of that each, so both move the same bytes.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from memmatte.engine.full_resolution import FullResolutionPass
from memmatte.engine.resample import scaled_size

SIZES = ((1920, 1080, 0.25), (3840, 2160, 0.125))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print("| size | threads | pass ms | pass GB/s | numpy copy ms | copy GB/s | pass / copy |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for w, h, r in SIZES:
        rgb = rng.random((h, w, 3), np.float32)
        low = (4, scaled_size(h, r), scaled_size(w, r))
        a = rng.standard_normal(low).astype(np.float32) * 0.3
        b = rng.standard_normal(low).astype(np.float32) * 0.3
        moved = rgb.nbytes + h * w * 4 * 4
        src = np.ones(moved // 8, np.float32)
        dst = np.zeros_like(src)
        for threads in args.threads:
            full = FullResolutionPass(threads)
            full(rgb, a, b)
            times: dict[str, list[float]] = {"pass": [], "copy": []}
            for _ in range(args.rounds):
                start = time.perf_counter()
                full(rgb, a, b)
                times["pass"].append(time.perf_counter() - start)
                start = time.perf_counter()
                np.copyto(dst, src)
                times["copy"].append(time.perf_counter() - start)
            p, c = (statistics.median(times[k]) for k in ("pass", "copy"))
            print(f"| {w}x{h} @{r:g} | {threads} | {p * 1e3:.1f} | {moved / p / 1e9:.2f} | "
                  f"{c * 1e3:.1f} | {moved / c / 1e9:.2f} | {c / p:.2f} |", flush=True)
            full.set_threads(1)
    print(f"load average {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    main()
