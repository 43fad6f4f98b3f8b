#!/usr/bin/env python3
"""Set up the Python that runs memmatte's worker for the Blender extension (or check one).

    python installers/blender/setup_runtime.py ~/memmatte-runtime            # ONNX Runtime
    python installers/blender/setup_runtime.py ~/memmatte-runtime --torch    # PyTorch
    python installers/blender/setup_runtime.py --check ~/memmatte-runtime/bin/python

Makes a virtual environment with memmatte and one runtime: ONNX Runtime (the light path, no
torch, about 200 MB) or PyTorch. It is a Python of its own, apart from Blender's: Blender
never needs administrator rights or packages in its own folder. Then it asks the new Python
what it can run (``python -m memmatte.worker --capabilities``) and prints the path to paste
into Preferences > Add-ons > Memory Matte > Runtime Python. Offline: ``--find-links DIR``
(a folder of wheels) with ``--no-index``. Standard library only; pip does the downloading
(the Blender extension itself downloads nothing).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MIN_PYTHON = (3, 10)
# On Linux a plain "torch" is a multi-GB CUDA build: --torch-spec picks another (a CPU wheel).
TORCH_DEFAULT = "torch>=2.2"


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def run(cmd: list[str]) -> None:
    print("+", " ".join(cmd), flush=True)
    done = subprocess.run(cmd)
    if done.returncode != 0:
        sys.exit(f"setup_runtime: failed (exit code {done.returncode}): {' '.join(cmd)}")


def check(python: str) -> dict:
    """The runtime's capabilities, or exit saying what is wrong and how to fix it."""
    cmd = [python, "-m", "memmatte.worker", "--capabilities"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except OSError as exc:
        sys.exit(f"setup_runtime: cannot run {python}: {exc.strerror}")
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            caps = json.loads(line)
            if caps.get("event") == "capabilities":
                return caps
    tail = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
    sys.exit(f"setup_runtime: {python} is not a memmatte runtime ({tail}); make one with "
             f"'python {Path(__file__).name} VENV'")


def describe(caps: dict) -> str:
    lines = [f"memmatte {caps['version']} on Python {caps['python_version']}"]
    usable = []
    for name, info in caps["backends"].items():
        if info.get("available"):
            usable.append(name)
            lines.append(f"  {name} {info['version']}: devices {', '.join(info['devices'])}")
        else:
            lines.append(f"  {name}: not available ({info.get('reason')})")
    if not usable:
        lines.append("  no backend can run: install 'memmatte[onnx]' or 'memmatte[torch]'")
    lines.append(f"Runtime Python for the Memory Matte preferences:\n  {caps['python']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("venv", nargs="?", help="folder of the runtime's virtual environment")
    ap.add_argument("--torch", action="store_true",
                    help="the PyTorch runtime instead of ONNX Runtime")
    ap.add_argument("--torch-spec", default=TORCH_DEFAULT,
                    help="what pip installs for torch (e.g. torch==2.13.0 for a CPU wheel "
                         "you have, or a --index-url of pytorch.org's CPU builds)")
    ap.add_argument("--source", default=str(REPO) if (REPO / "pyproject.toml").is_file()
                    else "memmatte", help="memmatte to install: this checkout (default), a "
                    "wheel file, or a package name")
    ap.add_argument("--find-links", help="a folder of wheels (offline installs)")
    ap.add_argument("--no-index", action="store_true", help="never ask a package index")
    ap.add_argument("--python", default=sys.executable,
                    help="the Python to make the venv from (3.10+; not Blender's)")
    ap.add_argument("--check", metavar="PYTHON", help="only check an existing runtime Python")
    args = ap.parse_args(argv)

    if args.check:
        print(describe(check(args.check)))
        return 0
    if not args.venv:
        ap.error("give the runtime's folder (or --check PYTHON)")
    venv = Path(args.venv).expanduser().resolve()
    run([args.python, "-c", f"import sys; sys.exit(sys.version_info < {MIN_PYTHON})"])
    if not venv_python(venv).is_file():
        run([args.python, "-m", "venv", str(venv)])
    python = str(venv_python(venv))
    pip = [python, "-m", "pip", "install", "-q"]
    if args.find_links:
        pip += ["--find-links", args.find_links]
    if args.no_index:
        pip.append("--no-index")
    extra = "torch" if args.torch else "onnx"
    if args.torch:
        run([*pip, args.torch_spec])
    run([*pip, f"{args.source}[{extra}]"])
    print(describe(check(python)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
