"""Frame-range text (``1001-1100x2, 1200``): one grammar for the CLI, jobs, hosts and farms."""
from __future__ import annotations

import re

from .errors import MemmatteError

_ITEM_RE = re.compile(r"^(-?\d+)(?:-(-?\d+)(?:[xX](\d+))?)?$")
RANGE_FORMS = ("1001, 1001-1100, 1001-1100x2 (every 2nd frame), -5--1 (negative frames), "
               "or a comma-separated list of these such as '1001-1010, 1020, 1030-1050x5'")
MAX_FRAMES = 1_000_000


def parse_frames(text: str, error: type[MemmatteError] = MemmatteError) -> list[int]:
    """Frame numbers from a range text, sorted and without duplicates; ``error`` is the class
    raised (the I/O layer raises its ``PlateError``, settings their ``SettingsError``).

    >>> parse_frames("1001-1005x2, 1010")
    [1001, 1003, 1005, 1010]
    >>> parse_frames("-3--1")
    [-3, -2, -1]
    """
    items = [s for s in re.split(r"[,\s]+", str(text).strip()) if s]
    if not items:
        raise error(f"empty frame range {text!r}; valid forms: {RANGE_FORMS}")
    frames: set[int] = set()
    for item in items:
        m = _ITEM_RE.match(item)
        if m is None:
            raise error(f"bad frame range {text!r}: cannot read {item!r}; valid forms: "
                        f"{RANGE_FORMS}")
        start = int(m.group(1))
        end = int(m.group(2)) if m.group(2) is not None else start
        step = int(m.group(3)) if m.group(3) is not None else 1
        if end < start:
            raise error(f"bad frame range {text!r}: {item!r} ends before it starts; "
                        f"write {end}-{start}; valid forms: {RANGE_FORMS}")
        if step < 1:
            raise error(f"bad frame range {text!r}: step in {item!r} must be 1 or more; "
                        f"valid forms: {RANGE_FORMS}")
        if (end - start) // step + 1 + len(frames) > MAX_FRAMES:
            raise error(f"frame range {text!r} has more than {MAX_FRAMES} frames; "
                        "check the numbers")
        frames.update(range(start, end + 1, step))
    return sorted(frames)
