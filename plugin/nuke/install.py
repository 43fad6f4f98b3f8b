"""Install memmatte's Nuke plugin into ~/.nuke (or --dest), with memmatte.protocol vendored.

    python plugin/nuke/install.py [--dest ~/.nuke]

Copies this folder to DEST/memmatte (``vendor/memmatte``: the package's ``__init__``,
``atomic`` and ``protocol``, all standard library) and adds one line to DEST/init.py:
``nuke.pluginAddPath("memmatte")``. Run it with any Python 3.10+; Nuke needs nothing else.
The network runs in a runtime Python with memmatte installed (set $MEMMATTE_PYTHON or the
node's *runtime python* knob).
"""
from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORE = HERE.parents[1] / "core" / "memmatte"
VENDORED = ("__init__.py", "atomic.py", "protocol")
HOOK = 'nuke.pluginAddPath("memmatte")  # memmatte MemoryMatte node\n'


def install(dest: Path) -> Path:
    target = dest / "memmatte"
    if target.exists():
        shutil.rmtree(target)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "vendor", "install.py")
    shutil.copytree(HERE, target, ignore=ignore)
    vendor = target / "vendor" / "memmatte"
    vendor.mkdir(parents=True)
    for name in VENDORED:
        src = CORE / name
        if src.is_dir():
            shutil.copytree(src, vendor / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, vendor / name)
    init = dest / "init.py"
    text = init.read_text(encoding="utf-8") if init.exists() else ""
    if HOOK not in text:
        prefix = "" if "import nuke" in text else "import nuke\n"
        init.write_text(text + ("\n" if text and not text.endswith("\n") else "") + prefix
                        + HOOK, encoding="utf-8")
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=Path(os.path.expanduser("~/.nuke")))
    args = parser.parse_args()
    args.dest.mkdir(parents=True, exist_ok=True)
    target = install(args.dest)
    print(f"installed {target}; {args.dest / 'init.py'} adds it to Nuke's plugin path")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
