"""From a Memory Matte node to the worker's render settings and the folder of its results.

Results live in the extension's user folder (kept across upgrades), one folder per set of
settings: ``<user>/mattes/<cache key>/matte.####.exr``. Inside, the worker reuses a frame only
while the key written in the file (weights, runtime, colour, the source frames t, t-1, t-2)
matches the request, so a changed plate or weights file is recomputed. No UI here.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import bpy

from . import compat
from .mm import __version__, protocol
from .source import SourceInfo, describe

OUTPUT_NAME = "matte.####.exr"
PACKAGE = __package__ or "memory_matte"


@dataclass(frozen=True)
class Plan:
    settings: dict[str, Any]  # render settings, checked by memmatte.protocol
    source: SourceInfo
    folder: str  # where this node's results are

    def output_file(self, frame: int) -> str:
        return os.path.join(self.folder, OUTPUT_NAME.replace("####", f"{frame:04d}"))


def node_settings(node: Any) -> dict[str, Any]:
    """The settings the node's knobs decide (the source aside)."""
    weights = bpy.path.abspath(node.weights) if node.weights else None
    return {
        "backend": node.backend,
        "device": node.device,
        "weights": os.path.normpath(weights) if weights else None,
        "downsample_ratio": node.downsample_ratio if node.downsample_ratio > 0 else None,
        "shot_start": node.shot_start if node.use_shot_start else None,
    }


def plan(node: Any) -> Plan:
    """The node's render: raises ``SourceError`` or memmatte's ``SettingsError`` with a
    message for the node's status line."""
    info = describe(node.source_block())
    base = {"input": info.input, "colorspace": info.colorspace,
            "ocio": compat.ocio_config_path(), **node_settings(node)}
    key = protocol.cache_key({**base, "memmatte": __version__})
    folder = os.path.join(compat.user_folder(PACKAGE), "mattes", key)
    settings = {**base, "output": os.path.join(folder, OUTPUT_NAME), "resume": True}
    protocol.RenderSettings.from_dict(settings, f"node {node.name!r}")
    return Plan(settings, info, folder)


def source_frame(node: Any, info: SourceInfo, scene_frame: int) -> int | None:
    """The source frame a scene frame shows (``node.frame_start`` shows the first one), or
    None outside the clip."""
    frame = info.first + scene_frame - node.frame_start
    return frame if frame in info.frames else None
