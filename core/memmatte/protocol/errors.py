"""One error family for everything a user or a host can fix, and its codes.

A host shows the message and may act on the code and on ``path``/``frame``/``option`` (select
the bad knob, jump to the bad frame) without parsing text. Every layer's errors derive from
``MemmatteError`` so the worker can turn any of them into a structured ``error`` event.
"""
from __future__ import annotations

import errno
import os
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
SYSTEM = "system"  # the OS refused a file operation: disk full, permission, read-only, I/O
INTERNAL = "internal"  # a bug: the message and the worker's stderr tell more

CODES = (BAD_SETTINGS, BAD_JOB, PLATE, COLOR, WEIGHTS, RUNTIME, BUSY, WORKER, SYSTEM, INTERNAL)

# Codes where the job itself is at fault: running it again unchanged cannot help (exit 2).
# Every other code means the run failed (exit 1): the machine, the disk or a bug; a retry
# (after freeing space, fixing permissions) may succeed.
BAD_INPUT_CODES = (BAD_SETTINGS, BAD_JOB, PLATE, COLOR, WEIGHTS, RUNTIME)


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


class SystemFailure(MemmatteError):
    """The OS refused a file operation; the message says what happened (no space left,
    permission denied, read-only file system, ...), to which file, and what helps.

    ``errno`` is the OS error number (``errno.ENOSPC`` ...), or None when unknown.
    """

    code = SYSTEM
    errno: int | None = None

    def __init__(self, message: str, *, path: str | Path | None = None,
                 frame: int | None = None, option: str | None = None,
                 code: str | None = None, errno: int | None = None) -> None:
        self.errno = errno
        super().__init__(message, path=path, frame=frame, option=option, code=code)


# What each OS error means for a render, and what helps, in words a compositor acts on.
_OS_WORDS = {
    errno.ENOSPC: ("no space left on the device",
                   "free space there (or write elsewhere) and rerun with --resume"),
    errno.EDQUOT: ("disk quota exceeded",
                   "free space within the quota (or write elsewhere) and rerun with --resume"),
    errno.EACCES: ("permission denied", "this user may not do that there"),
    errno.EPERM: ("operation not permitted", "this user may not do that there"),
    errno.EROFS: ("read-only file system", "write somewhere writable"),
    errno.EIO: ("input/output error", "the disk or network share failed; check it and rerun"),
    errno.ENOENT: ("no such file or folder", ""),
    errno.ENOTDIR: ("a part of the path is a file, not a folder", ""),
    errno.EISDIR: ("is a folder, not a file", ""),
    errno.ENAMETOOLONG: ("file name too long", ""),
    errno.EMFILE: ("too many open files in this process", ""),
    errno.ENFILE: ("too many open files on this machine", ""),
    errno.EFBIG: ("file too large for this file system", ""),
}


def describe_os_error(number: int | None) -> str:
    """What an OS error number means for a render, its name, and what helps
    (``os.strerror`` for the rare ones).

    >>> describe_os_error(errno.ENOSPC)
    'no space left on the device (ENOSPC); free space there (or write elsewhere) and rerun \
with --resume'
    """
    if number is None:
        return "the operating system refused it"
    name = errno.errorcode.get(number, str(number))
    words, advice = _OS_WORDS.get(number) or (os.strerror(number).lower(), "")
    return f"{words} ({name})" + (f"; {advice}" if advice else "")


def from_os_error(exc: OSError, doing: str, path: str | Path | None = None,
                  frame: int | None = None) -> SystemFailure:
    """A ``SystemFailure`` for ``exc``: ``doing`` ("cannot write", "cannot read") and what
    the OS said, naming ``path`` (default: the file the OS named).

    >>> err = from_os_error(OSError(errno.EROFS, "Read-only file system"), "cannot write",
    ...                     "/mnt/m.1001.exr")
    >>> str(err).split(":")[:2], err.code
    (['/mnt/m.1001.exr', ' cannot write'], 'system')
    """
    where = path if path is not None else (exc.filename or None)
    # An error without a number (a library's own OSError) is said in its own words.
    said = describe_os_error(exc.errno) if exc.errno is not None or not str(exc) else str(exc)
    detail = f"{doing}: {said}"
    # The OS may name another file than the one the user knows (the folder it could not
    # make, say): keep both.
    named = exc.filename
    if named is not None and where is not None and str(named) != str(where):
        detail += f" (at {named})"
    return SystemFailure(detail, path=where, frame=frame, errno=exc.errno)


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
