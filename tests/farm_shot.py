"""The shot the farm tests render: the bundled real plate (10 frames, 480x270, PROVENANCE.md
beside it), one thread so every process computes the same bits, and its sequential render."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .plates import DEMO_PLATE

PLATE = str(DEMO_PLATE / "bedroom.####.exr")
FRAMES = list(range(1001, 1011))
CHUNK_SIZE = 4  # 1001-1004, 1005-1008, 1009-1010: a short last chunk too
CHUNKS = ["1001-1004", "1005-1008", "1009-1010"]


def write_queue(path: Path, output: str, **extra: object) -> Path:
    """A memmatte queue file with the one shot ``bedroom``."""
    lines = ["[defaults]", "threads = 1", "[[shot]]", 'name = "bedroom"',
             f'input = "{PLATE}"', f'output = "{output}"']
    lines += [f"{k} = {v!r}".replace("'", '"') for k, v in extra.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def render_sequentially(folder: Path) -> Path:
    """One plain ``memmatte render`` of the whole shot: what every farm run must reproduce."""
    subprocess.run([sys.executable, "-m", "memmatte", "render", PLATE, "-o",
                    str(folder / "m.####.exr"), "--threads", "1", "--quiet"],
                   check=True, timeout=300)
    return folder


def exr_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("m.*.exr"))}


def file_states(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file's (inode, mtime in ns): whether a run created, replaced or touched it."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in sorted(folder.iterdir()) if p.is_file()}
