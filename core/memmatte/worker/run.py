"""Running one render for the host: settings in, events out, a result at the end.

Shared by job mode and serve mode; the caller owns the cancel flag and the warm state.
"""
from __future__ import annotations

import threading
from typing import Any

from ..protocol import events as ev
from ..protocol.settings import RenderSettings
from .emit import Emitter
from .failure import error_fields, exit_code
from .warm import Warm


def render(settings: RenderSettings, warm: Warm, emit: Emitter, cancel: threading.Event,
           request: str | None = None, name: str = "") -> int:
    """Emit the render's events and its ``result``; returns the exit code it means."""

    def setup(stage: str, message: str) -> None:
        emit(ev.SETUP, request, stage=stage, message=message)

    try:
        renderer = warm.renderer(settings, setup)
        setup("ready", "rendering")
        result = renderer.run(lambda p: emit(p.event, request, **_fields(p)), cancel)
    except Exception as exc:
        fields = error_fields(exc)
        emit(ev.ERROR, request, **fields)
        emit(ev.RESULT, request, ok=False, job=name or None, code=fields["code"],
             error=fields["message"])
        return exit_code(fields)
    emit(ev.RESULT, request, ok=not result.cancelled, job=name or None,
         cancelled=result.cancelled, written=result.written, skipped=result.skipped,
         seconds=round(result.seconds, 3))
    return ev.EXIT_CANCELLED if result.cancelled else ev.EXIT_OK


def _fields(progress: Any) -> dict[str, Any]:
    fields = progress.to_dict()
    fields.pop("event")
    return fields
