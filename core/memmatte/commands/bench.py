"""``memmatte bench``: parameters, compute (GMACs) and CPU time per frame at standard sizes.

Timings run the engine's playback path (frame after frame, numpy in and out, memory carried,
each frame encoded once) and report the median of several frames after warm-up. Each size runs in a fresh process so
its peak memory (max RSS) is its own.
"""
from __future__ import annotations

import multiprocessing as mp
import resource
import statistics
import time
from dataclasses import dataclass

import torch
from torch.utils.flop_counter import FlopCounterMode

from ..model import MemMatte

MAC_SIZE = (512, 512)
# (width, height, downsample ratio): the sizes of Robust Video Matting's speed table.
TIMED = ((512, 288, 1.0), (1920, 1080, 0.25), (3840, 2160, 0.125))
# Robust Video Matting (MobileNetV3, torch, 2 threads) measured on this kind of 2-core machine,
# ms per frame at the TIMED sizes: the figures to beat.
RVM_REFERENCE_MS = {(512, 288): 125.0, (1920, 1080): 155.0, (3840, 2160): 431.0}


@dataclass
class Timing:
    width: int
    height: int
    ratio: float
    threads: int
    ms_median: float
    ms_min: float
    peak_rss_mb: float
    base_rss_mb: float
    backend: str = "torch"


def count_params(model: MemMatte) -> int:
    return sum(p.numel() for p in model.parameters())


def gmacs(model: MemMatte, width: int, height: int, ratio: float = 1.0) -> float:
    """Multiply-accumulates of one frame (convolutions, matmuls, attention) / 1e9."""
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        model(torch.rand(1, 3, height, width), ratio)
    return counter.get_total_flops() / 2e9


def _status_mb(field: str) -> float | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def _reset_peak() -> None:
    """Linux: make VmHWM (peak RSS) start again from the current RSS."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def _rss_mb() -> float:
    current = _status_mb("VmRSS")
    return current if current is not None else _peak_mb()


def _peak_mb() -> float:
    # ru_maxrss survives exec on Linux (it would report the parent's peak): VmHWM first.
    peak = _status_mb("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _time_in_process(state: dict, config: dict, width: int, height: int, ratio: float,
                     threads: int, frames: int, warmup: int, onnx: str | None) -> Timing:
    import numpy as np

    from ..engine import Engine
    from ..model import ModelConfig

    torch.set_num_threads(threads)
    if onnx is not None:
        from ..engine.onnx_backend import OnnxBackend

        backend: object = OnnxBackend(onnx or None, "cpu", threads)
    else:
        from ..engine.torch_backend import TorchBackend

        model = MemMatte(ModelConfig.from_dict(config))
        model.load_state_dict(state)
        backend = TorchBackend(model, "cpu")
    engine = Engine(backend, downsample_ratio=ratio, first_frame=0)
    rng = np.random.default_rng(0)
    clip = [rng.uniform(0, 1, (height, width, 3)).astype(np.float32) for _ in range(3)]
    base = _rss_mb()
    _reset_peak()
    times = []
    for i in range(warmup + frames):
        start = time.perf_counter()
        engine.matte(i, lambda n: clip[n % 3])
        if i >= warmup:
            times.append((time.perf_counter() - start) * 1e3)
    return Timing(width, height, ratio, threads, statistics.median(times), min(times),
                  _peak_mb(), base, "onnx" if onnx is not None else "torch")


def time_sizes(model: MemMatte, threads: int, frames: int = 5, warmup: int = 2,
               sizes: tuple[tuple[int, int, float], ...] | None = None,
               onnx: str | None = None) -> list[Timing]:
    """Engine playback (numpy in, numpy out) per size; ``onnx``: time the ONNX Runtime backend
    on that exported file ("" = the shipped one) instead of torch."""
    sizes = TIMED if sizes is None else sizes
    ctx = mp.get_context("spawn")
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    results = []
    with ctx.Pool(1, maxtasksperchild=1) as pool:
        for w, h, r in sizes:
            results.append(pool.apply(_time_in_process, (state, model.config.to_dict(), w, h,
                                                         r, threads, frames, warmup, onnx)))
    return results


def mac_report(model: MemMatte) -> dict[str, float]:
    w, h = MAC_SIZE
    report = {"params": float(count_params(model)),
              f"GMACs {w}x{h}": gmacs(model, w, h)}
    for tw, th, r in TIMED:
        report[f"GMACs {tw}x{th}@{r:g}"] = gmacs(model, tw, th, r)
    return report


def format_report(macs: dict[str, float], timings: list[Timing]) -> list[str]:
    lines = [f"params: {int(macs['params'])}"]
    lines += [f"{k}: {v:.2f}" for k, v in macs.items() if k != "params"]
    torch_ms = {(t.width, t.height, t.threads): t.ms_median for t in timings
                if t.backend == "torch"}
    for t in timings:
        size = f"{t.width}x{t.height}@{t.ratio:g}"
        label = "" if t.backend == "torch" else f"{t.backend} "
        lines.append(f"ms/frame {label}{size} threads={t.threads}: {t.ms_median:.1f} "
                     f"(min {t.ms_min:.1f})")
        base = torch_ms.get((t.width, t.height, t.threads))
        if t.backend != "torch" and base:
            lines.append(f"ratio {t.backend}/torch {size} threads={t.threads}: "
                         f"{t.ms_median / base:.2f}")
        ref = RVM_REFERENCE_MS.get((t.width, t.height))
        if ref and t.threads == 2 and t.backend == "torch":
            lines.append(f"ratio to RVM reference {size}: {t.ms_median / ref:.2f} "
                         f"({ref:.0f} ms)")
        lines.append(f"peak RSS MB {label}{size} threads={t.threads}: {t.peak_rss_mb:.0f} "
                     f"(model loaded, before frames: {t.base_rss_mb:.0f})")
    return lines
