"""Freed frame-sized blocks come back without fresh pages once the thresholds are set."""
from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import json, resource
import numpy as np
from memmatte.engine.allocator import keep_freed_memory

def faults_per_frame():
    # 48 MB: above glibc's largest dynamic mmap threshold (32 MB), below ours (64 MB).
    np.ones(12 << 20, np.float32)
    start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        np.ones(12 << 20, np.float32)
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start) / 10

before = faults_per_frame()
done = keep_freed_memory()
print(json.dumps({"set": done, "again": keep_freed_memory(), "before": before,
                  "after": faults_per_frame()}))
"""


def test_a_freed_block_is_reused_instead_of_faulted_in_again() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         check=True)
    got = json.loads(out.stdout)
    assert got["set"] and got["again"]
    # Each fresh block faults at least once per 2 MB huge page (once per 4 KB without them).
    assert got["before"] >= 20, got
    assert got["after"] <= 1, got


def test_making_either_backend_sets_the_thresholds() -> None:
    for make in ("from memmatte.engine.onnx_backend import OnnxBackend; OnnxBackend(device='cpu')",
                 "from memmatte.engine.torch_backend import TorchBackend; "
                 "from memmatte.model import MemMatte; TorchBackend(MemMatte(), 'cpu')"):
        code = f"from memmatte.engine import allocator; {make}; print(allocator._done)"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True)
        assert out.stdout.split()[-1] == "True", make
