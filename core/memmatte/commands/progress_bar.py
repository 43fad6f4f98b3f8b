"""A one-line terminal progress bar: frames, frames per second, time left."""
from __future__ import annotations

import sys
from typing import TextIO


def clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def bar_line(done: int, total: int, fps: float, eta_s: float | None, label: str = "",
             width: int = 24, unit: str = "fps") -> str:
    filled = int(width * done / total) if total else width
    rate = f"{fps:.2f} {unit}" if fps else f"-- {unit}"
    return (f"{label}[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {rate} "
            f"ETA {clock(eta_s)}")


class ProgressBar:
    """Redraws in place on a terminal; prints a line per 10% elsewhere (logs stay short)."""

    def __init__(self, stream: TextIO | None = None, label: str = "", unit: str = "fps") -> None:
        self.stream = stream or sys.stderr
        self.label = label
        self.unit = unit
        self.tty = self.stream.isatty()
        self._last_decile = -1

    def update(self, done: int, total: int, fps: float, eta_s: float | None) -> None:
        line = bar_line(done, total, fps, eta_s, self.label, unit=self.unit)
        if self.tty:
            self.stream.write("\r" + line)
            if done >= total:
                self.stream.write("\n")
        else:
            decile = 10 * done // total if total else 10
            if decile == self._last_decile and done < total:
                return
            self._last_decile = decile
            self.stream.write(line + "\n")
        self.stream.flush()
