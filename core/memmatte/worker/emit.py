"""The worker's voice: protocol messages on the real stdout, one JSON object per line.

Anything else printed (a library's notice, a C extension writing to fd 1) goes to stderr
instead, so it can never break a line of the protocol.
"""
from __future__ import annotations

import os
import sys
import threading
from typing import Any, TextIO

from ..protocol import events as ev


class Emitter:
    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._lock = threading.Lock()  # the writer thread reports frames too

    @classmethod
    def take_stdout(cls) -> Emitter:
        """Keep fd 1 for the protocol; point fd 1 and ``sys.stdout`` at stderr."""
        sys.stdout.flush()
        out = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
        os.dup2(2, 1)
        sys.stdout = sys.stderr
        return cls(out)

    def __call__(self, kind: str, request: str | None = None, **fields: Any) -> None:
        message = ev.event(kind, id=request, **fields)
        with self._lock:
            self._out.write(ev.encode(message))
            self._out.flush()
