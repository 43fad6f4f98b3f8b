"""The warm worker this Blender session talks to, and computations running on it.

One worker process (``python -m memmatte.worker --serve`` in the runtime's Python) is kept
while Blender runs, so a second compute, or a render asking frame after frame, does not load
the model again. A ``Computation`` reads its request's events in a thread of its own and keeps
a snapshot the UI polls from a timer: Blender's main thread never waits on the worker.
Nothing here touches ``bpy`` data (threads must not); the operators and handlers do. The
worker and the event folding are memmatte.protocol's (``service``), shared with every host.
"""
from __future__ import annotations

import os
from typing import Any

from .mm import protocol

service = protocol.service
ENV_PYTHON = service.ENV_PYTHON
Progress = service.Progress

SERVICE = service.WarmWorker(
    "no runtime Python is set: open Preferences > Add-ons > Memory Matte (or set "
    f"${ENV_PYTHON}); installers/blender/setup_runtime.py makes one")


def runtime_python(preferences: Any) -> str:
    path = getattr(preferences, "python", "") if preferences is not None else ""
    return os.path.expanduser(path) if path else os.environ.get(ENV_PYTHON, "")


class Computation(service.RenderRequest):
    """A render request on this session's worker, read by a thread; the UI polls
    ``progress``."""

    def __init__(self, python: str, settings: dict[str, Any],
                 worker: service.WarmWorker = SERVICE) -> None:
        super().__init__(worker, python, settings, name="memory-matte-compute")


RUNNING: dict[str, Computation] = {}  # node key ("tree/node") -> its latest computation
