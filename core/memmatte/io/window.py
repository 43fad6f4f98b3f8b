"""Pixel windows: the data window (pixels that exist) and the display window (the frame).

OpenEXR keeps both, and compositors rely on it: overscan is a data window larger than the
display window, a crop is a smaller one. Outputs must keep both (design invariant 3), so they
travel as one small value type instead of loose integers.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    """A rectangle of pixels: origin ``(x, y)`` (may be negative) and size; y grows downwards.

    The right and bottom edges are exclusive, as in OpenImageIO's ROI.

    >>> w = Window(-10, -10, 120, 120)
    >>> w.contains(Window(0, 0, 100, 100)), w.x_end, str(w)
    (True, 110, '120x120-10-10')
    """

    x: int
    y: int
    width: int
    height: int

    def __post_init__(self) -> None:
        if self.width < 0 or self.height < 0:
            raise ValueError(f"window size must not be negative, got {self.width}x{self.height}")

    @property
    def x_end(self) -> int:
        """One past the last column."""
        return self.x + self.width

    @property
    def y_end(self) -> int:
        """One past the last row."""
        return self.y + self.height

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)``, the leading shape of a numpy array covering the window."""
        return (self.height, self.width)

    @property
    def is_empty(self) -> bool:
        return self.width == 0 or self.height == 0

    def contains(self, other: Window) -> bool:
        """True when ``other`` lies entirely inside this window."""
        return (self.x <= other.x and self.y <= other.y
                and other.x_end <= self.x_end and other.y_end <= self.y_end)

    def intersection(self, other: Window) -> Window:
        """The overlap of two windows (empty, at this window's origin, when they do not meet)."""
        x0, y0 = max(self.x, other.x), max(self.y, other.y)
        x1, y1 = min(self.x_end, other.x_end), min(self.y_end, other.y_end)
        if x1 <= x0 or y1 <= y0:
            return Window(self.x, self.y, 0, 0)
        return Window(x0, y0, x1 - x0, y1 - y0)

    def union(self, other: Window) -> Window:
        """The smallest window holding both."""
        x0, y0 = min(self.x, other.x), min(self.y, other.y)
        x1, y1 = max(self.x_end, other.x_end), max(self.y_end, other.y_end)
        return Window(x0, y0, x1 - x0, y1 - y0)

    def __str__(self) -> str:
        # OpenImageIO / oiiotool notation: WxH+X+Y (signs always written).
        return f"{self.width}x{self.height}{self.x:+d}{self.y:+d}"
