"""Frame-ordered inference over one shot, with a per-frame cache of memory entries.

Frame t's result depends on frames t, t-1 and t-2 only (DESIGN invariant 1). The engine keeps
each encoded frame's memory entry, so playing a shot forward encodes every frame once, and
any frame can be asked for at any time: its predecessors are encoded on demand (a farm
chunk's two frames of pre-roll).
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .backend import SELF, Backend, auto_ratio
from .cuts import DEFAULT_THRESHOLD, is_cut, thumbnail

# Loads frame N as network-space RGB, HxWx3 float32 in [0, 1].
FrameLoader = Callable[[int], np.ndarray]


@dataclass
class FrameResult:
    frame: int
    fgr: np.ndarray  # straight foreground, network space, HxWx3
    pha: np.ndarray  # alpha, HxW
    window: tuple[int, ...]  # the frames it read from memory (after cuts and shot start)


class Engine:
    """Mattes frames of one shot with a backend (``TorchBackend``, ``OnnxBackend``).

    ``first_frame`` is the shot's first frame, and required: predecessors before it are
    replaced by it (without it there is no telling where the memory starts). ``detect_cuts``
    restarts the window where neighbouring frames differ like a cut.

    Example:
        >>> from memmatte.engine.factory import make_backend
        >>> engine = Engine(make_backend("torch", device="cpu"), first_frame=1)
        >>> frames = {n: np.random.rand(64, 96, 3).astype(np.float32) for n in (1, 2, 3)}
        >>> engine.matte(3, frames.__getitem__).window
        (2, 1)
    """

    def __init__(self, backend: Backend, *, first_frame: int,
                 downsample_ratio: float | None = None, detect_cuts: bool = False,
                 cut_threshold: float = DEFAULT_THRESHOLD, cache_frames: int = 8) -> None:
        self.backend = backend
        self.ratio = downsample_ratio
        self.first_frame = first_frame
        self.detect_cuts = detect_cuts
        self.cut_threshold = cut_threshold
        self.window = backend.window
        self._entries: OrderedDict[int, Any] = OrderedDict()
        self._thumbs: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_frames = max(cache_frames, self.window + 1)
        self._size: tuple[int, int] | None = None

    # -- cache ----------------------------------------------------------------------------
    def _remember(self, store: OrderedDict, frame: int, value: object) -> None:
        store[frame] = value
        store.move_to_end(frame)
        while len(store) > self._cache_frames:
            store.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()
        self._thumbs.clear()
        self._size = None

    def _checked(self, rgb: np.ndarray, frame: int) -> np.ndarray:
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"frame {frame}: expected an HxWx3 network-space frame, got "
                             f"shape {rgb.shape}")
        if self._size is None:
            self._size = rgb.shape[:2]
        elif rgb.shape[:2] != self._size:
            raise ValueError(f"frame {frame}: size {rgb.shape[1]}x{rgb.shape[0]} differs from "
                             f"the shot's {self._size[1]}x{self._size[0]}")
        return rgb

    def ratio_for(self, height: int, width: int) -> float:
        return self.ratio if self.ratio is not None else auto_ratio(height, width)

    # -- the window -----------------------------------------------------------------------
    def _thumb(self, frame: int, load: FrameLoader) -> np.ndarray:
        if frame not in self._thumbs:
            self._remember(self._thumbs, frame, thumbnail(load(frame)))
        return self._thumbs[frame]

    def window_of(self, frame: int, load: FrameLoader) -> tuple[int, ...]:
        """The frames ``frame`` reads: t-1, t-2, ... clamped at the shot start and at cuts."""
        start = min(self.first_frame, frame)
        earliest = start
        if self.detect_cuts:
            # Walk back to the nearest cut inside the window; frames before it do not count.
            for f in range(frame, max(start, frame - self.window), -1):
                if is_cut(self._thumb(f - 1, load), self._thumb(f, load), self.cut_threshold):
                    earliest = f
                    break
        return tuple(max(frame - lag, earliest) for lag in range(1, self.window + 1))

    def _entry(self, frame: int, load: FrameLoader) -> Any:
        if frame not in self._entries:
            rgb = self._checked(load(frame), frame)
            self._remember(self._entries, frame, self.backend.entry(rgb, self.ratio_for(
                *rgb.shape[:2])))
        return self._entries[frame]

    # -- the result -----------------------------------------------------------------------
    def matte(self, frame: int, load: FrameLoader) -> FrameResult:
        """Matte ``frame``; ``load(n)`` gives network-space RGB of frame n (called as needed)."""
        rgb = self._checked(load(frame), frame)
        window = self.window_of(frame, load) if self.window else ()
        memory = [SELF if f == frame else self._entry(f, load) for f in window]
        fgr, pha, own = self.backend.matte(rgb, self.ratio_for(*rgb.shape[:2]), memory)
        if own is not None:
            self._remember(self._entries, frame, own)
        return FrameResult(frame, fgr, pha, window)
