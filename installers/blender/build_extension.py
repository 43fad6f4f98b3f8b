#!/usr/bin/env python3
"""Build the Memory Matte Blender extension zip with Blender's own tool, and validate it.

    python installers/blender/build_extension.py [-o dist] [--blender-ext PATH | --blender BIN]

Stages ``plugin/blender/memory_matte`` with memmatte's host seam vendored into it
(``vendor/memmatte``: the package's ``__init__``, ``atomic`` and ``protocol``, all standard
library), then runs ``blender_ext.py build`` and ``validate`` on it. The tool is found in a
bpy install (this repository's ``.venv-bpy-*``, ``make bpy``) or is Blender's own
``blender --command extension``. Prints the zip's path.
"""
from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "plugin" / "blender" / "memory_matte"
CORE = REPO / "core" / "memmatte"
# What memmatte.protocol imports from its package (a test checks nothing else is needed).
VENDORED = ("__init__.py", "atomic.py", "protocol")
VENDOR_NOTE = '"""memmatte\'s host seam, copied from core/memmatte at build time."""\n'


def find_blender_ext() -> str | None:
    pattern = str(REPO / ".venv-bpy-*" / "lib" / "python*" / "site-packages" / "bpy" / "*"
                  / "scripts" / "addons_core" / "bl_pkg" / "cli" / "blender_ext.py")
    found = sorted(glob.glob(pattern))
    return found[-1] if found else None


def stage(into: Path) -> Path:
    """The extension's files with memmatte.protocol vendored, in ``into/memory_matte``."""
    target = into / SOURCE.name
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "vendor")
    shutil.copytree(SOURCE, target, ignore=ignore)
    vendor = target / "vendor"
    (vendor / "memmatte").mkdir(parents=True)
    (vendor / "__init__.py").write_text(VENDOR_NOTE, encoding="utf-8")
    for name in VENDORED:
        src = CORE / name
        if src.is_dir():
            shutil.copytree(src, vendor / "memmatte" / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(src, vendor / "memmatte" / name)
    return target


def tool_command(args: argparse.Namespace) -> list[str]:
    if args.blender:
        return [args.blender, "--factory-startup", "--command", "extension"]
    tool = args.blender_ext or os.environ.get("BLENDER_EXT") or find_blender_ext()
    if not tool:
        sys.exit("build_extension: Blender's blender_ext.py not found; pass --blender-ext "
                 "PATH or --blender BIN, or run 'make bpy' (bpy from PyPI carries it)")
    return [sys.executable, tool]


def run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"build_extension: {' '.join(cmd[-3:])} failed:\n{done.stdout}{done.stderr}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--output-dir", default=str(REPO / "dist"))
    ap.add_argument("--blender-ext", help="path of Blender's blender_ext.py")
    ap.add_argument("--blender", help="a Blender binary (uses 'blender --command extension')")
    args = ap.parse_args(argv)
    tool = tool_command(args)
    out = Path(args.output_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="memory-matte-") as tmp:
        staged = stage(Path(tmp))
        run([*tool, "validate", str(staged)])
        run([*tool, "build", "--source-dir", str(staged), "--output-dir", str(out)])
    zips = sorted(out.glob(f"{SOURCE.name}-*.zip"), key=os.path.getmtime)
    if not zips:
        sys.exit(f"build_extension: no zip written in {out}")
    run([*tool, "validate", str(zips[-1])])
    print(zips[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
