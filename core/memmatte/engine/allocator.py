"""Freed memory kept in the process for the next frame (glibc's malloc, Linux).

A frame's temporaries are the same sizes every frame, and many are a few MB (decoder feature
maps at network resolution, the plate at network size). glibc gives blocks above its mmap
threshold (dynamic, at most 32 MB) straight back to the kernel when they are freed and trims
the heap's free top, so the next frame's blocks are fresh pages: a fault and the kernel's
zeroing for each 4 KB. Measured, torch backend, 2 threads: 512x288 16102 faults a frame and
109 ms, 1920x1080 at 0.25 23215 and 146 ms; with the settings below 126 and 93 ms, 5719 (the
benchmark's own new plates) and 127 ms. Blocks above 64 MB (plates of 4K and more) are still
mapped on their own, so they go back to the system when freed, and up to 256 MB of free heap
top stays with the process. Elsewhere (macOS, Windows, musl) nothing changes.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import sys

# glibc's malloc.h
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 64 << 20
TRIM_THRESHOLD = 256 << 20

_done: bool | None = None


def keep_freed_memory() -> bool:
    """Set glibc's thresholds once per process; True where they are set."""
    global _done
    if _done is None:
        _done = _set_thresholds()
    return _done


def _set_thresholds() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version  # glibc only: musl's mallopt ignores these  # noqa: B018
    except (OSError, AttributeError):
        return False
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
