"""One error family for everything a user or a host can fix, and its codes.

A host shows the message and may act on the code and on ``path``/``frame``/``option`` (select
the bad knob, jump to the bad frame) without parsing text. Every layer's errors derive from
``MemmatteError`` so the worker can turn any of them into a structured ``error`` event.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

# Codes a host can switch on; they travel in ``error`` events and never change meaning.
BAD_SETTINGS = "bad_settings"  # an option's value cannot work
BAD_JOB = "bad_job"  # a job document or a request that does not parse
PLATE = "plate"  # a plate, frame range or movie that cannot be read or written
COLOR = "color"  # OCIO config or colour-space name
WEIGHTS = "weights"  # weights or exported graph that cannot be used
RUNTIME = "runtime"  # backend or device not available in the worker's Python
BUSY = "busy"  # an output folder another render holds
WORKER = "worker"  # the worker process died, hung or broke the protocol
INTERNAL = "internal"  # a bug: the message and the worker's stderr tell more

CODES = (BAD_SETTINGS, BAD_JOB, PLATE, COLOR, WEIGHTS, RUNTIME, BUSY, WORKER, INTERNAL)


class MemmatteError(ValueError):
    """A problem with a clear fix; ``str()`` names where (file, frame, option) and what.

    It is a ``ValueError`` so front ends that report bad arguments catch it.

    ``option`` is the setting to fix (a key of ``RenderSettings``); the message names it
    itself, so it is not repeated in front.

    >>> str(MemmatteError("cannot read", path="plate.1001.exr", frame=1001))
    'plate.1001.exr (frame 1001): cannot read'
    """

    code = INTERNAL

    def __init__(self, message: str, *, path: str | Path | None = None,
                 frame: int | None = None, option: str | None = None,
                 code: str | None = None) -> None:
        self.path = None if path is None else str(path)
        self.frame = frame
        self.option = option
        self.detail = message
        if code is not None:
            self.code = code
        super().__init__(self._text())

    def _text(self) -> str:
        where = self.path or ""
        if self.frame is not None:
            where = f"{where} (frame {self.frame})" if where else f"frame {self.frame}"
        return f"{where}: {self.detail}" if where else self.detail

    def to_dict(self) -> dict[str, Any]:
        """The fields of an ``error`` event."""
        out: dict[str, Any] = {"code": self.code, "message": str(self)}
        for key in ("path", "frame", "option"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep the fields when the error crosses a process boundary (pickling would call
        # cls(full_text) and lose them).
        return (_rebuild, (type(self), self.detail, self.path, self.frame, self.option,
                           self.code))


def _rebuild(cls: type[MemmatteError], message: str, path: str | None, frame: int | None,
             option: str | None, code: str) -> MemmatteError:
    err = cls.__new__(cls)
    MemmatteError.__init__(err, message, path=path, frame=frame, option=option, code=code)
    return err


class SettingsError(MemmatteError):
    """A render setting that cannot work; names the option and what is valid."""

    code = BAD_SETTINGS


class JobError(MemmatteError):
    """A job document or request that cannot be run; names the file and the key."""

    code = BAD_JOB


class WorkerError(MemmatteError):
    """The worker process crashed, hung, or spoke something other than the protocol."""

    code = WORKER


class WorkerTimeout(WorkerError):
    """No event from the worker within the time the host allowed."""


def from_event(event: dict[str, Any]) -> MemmatteError:
    """The error an ``error`` event (or a failed ``result``) describes, on the host side."""
    err = MemmatteError.__new__(MemmatteError)
    message = str(event.get("message") or event.get("error") or "worker failed")
    err.path, err.frame, err.option = event.get("path"), event.get("frame"), event.get("option")
    err.detail, err.code = message, str(event.get("code") or INTERNAL)
    ValueError.__init__(err, message)
    return err
