"""Cache keys of output frames: what decides a frame's pixels, digested (DESIGN: a frame on
disk is reused only when its recorded key matches the request)."""
from __future__ import annotations

from typing import Any

from .. import __version__
from ..protocol.cache_key import cache_key
from .source import Source


def static_parts(settings: Any, identity: dict[str, str], weights_id: str, window: int,
                 plate_space: str, network_space: str, config_id: str) -> dict[str, Any]:
    """The parts every frame of a render shares."""
    s = settings
    return {
        "memmatte": __version__, "weights": weights_id, "memory": s.memory, "window": window,
        **identity, "ratio": s.downsample_ratio or "auto", "plate_space": plate_space,
        "network_space": network_space, "ocio": config_id, "layer": s.layer,
        "detect_cuts": s.detect_cuts, "half": s.half, "compression": s.compression,
    }


def window_frames(frame: int, shot_start: int, window: int, available: set[int]) -> list[int]:
    """Frames t, t-1, ... t-window that the output of ``frame`` can depend on."""
    return sorted({max(frame - lag, shot_start) for lag in range(window + 1)} & available
                  | {frame})


def frame_key(static: dict[str, Any], source: Source, frame: int, shot_start: int,
              window: int) -> str:
    frames = window_frames(frame, shot_start, window, set(source.frames))
    return cache_key({**static, "frame": frame, "shot_start": shot_start,
                      "sources": [source.stamp(f) for f in frames]})
