"""An exception as the host sees it: an ``error`` event's fields and the exit code."""
from __future__ import annotations

import traceback
from typing import Any

from ..protocol import errors
from ..protocol.errors import MemmatteError, from_os_error
from ..protocol.events import EXIT_BAD_JOB, EXIT_FAILED


def error_fields(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, MemmatteError):
        return exc.to_dict()
    if isinstance(exc, OSError):  # what the OS refused: said as the OS says it
        return from_os_error(exc, "failed").to_dict()
    # Errors from code that is not ours (OnnxModelError, a reader's ValueError): the
    # message is still the best a host can show; the traceback goes to stderr.
    traceback.print_exc()
    fields: dict[str, Any] = {"code": errors.INTERNAL,
                              "message": f"{type(exc).__name__}: {exc}"}
    path = getattr(exc, "filename", None) or getattr(exc, "path", None)
    if path:
        fields["path"] = str(path)
    return fields


def exit_code(fields: dict[str, Any]) -> int:
    """2 for what the job itself got wrong (the host should fix the settings), else 1."""
    return EXIT_BAD_JOB if fields["code"] in (errors.BAD_JOB, errors.BAD_SETTINGS) \
        else EXIT_FAILED
