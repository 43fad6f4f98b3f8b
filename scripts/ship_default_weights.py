#!/usr/bin/env python3
"""Make trained weights the package default, but only through the shipping gate.

    python scripts/heldout_gate.py runs/labels-heldout --candidate trained=T.safetensors \
        --incumbent shipped=default ... --json HELDOUT.json
    python scripts/ship_default_weights.py T.safetensors HELDOUT.json \
        [--conversion C.safetensors]
    memmatte export --format onnx -o core/memmatte/weights/default.onnx

Refused unless HELDOUT.json says the candidate passed the gate (lower difference to the
warmed-up teacher and lower flicker than the incumbent on every held-out real clip), its
candidate is these weights (by id) and its incumbent is today's default (by id). The new
file's metadata keeps the conversion report and source of the weights it descends from
(``--conversion``: the converted file it was trained from; default: today's default's), the
training summary and the held-out table, with names and ids only: a string that looks like
a path of this machine is refused.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from memmatte.train.gate import machine_paths
from memmatte.weights import default_weights_path, load_weights, read_info, save_weights


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("trained", type=Path)
    parser.add_argument("heldout", type=Path, help="the JSON heldout_gate.py wrote")
    parser.add_argument("--conversion", type=Path,
                        help="the converted weights the trained ones started from (their "
                             "conversion report and source go into the metadata)")
    args = parser.parse_args()
    current = read_info(default_weights_path())
    origin = read_info(args.conversion) if args.conversion else current
    model, info = load_weights(args.trained)
    doc = json.loads(args.heldout.read_text())
    ids = doc.get("weights", {})
    problems = []
    if args.conversion and info.metadata.get("training", {}).get("init") != origin.weights_id:
        problems.append(f"--conversion is {origin.weights_id}, but these weights were trained "
                        f"from {info.metadata.get('training', {}).get('init')}")
    if not doc.get("passed"):
        problems.append(f"the gate failed: {doc.get('failures')}")
    if ids.get(doc.get("candidate")) != info.weights_id:
        problems.append(f"the gate's candidate is {ids.get(doc.get('candidate'))}, not these "
                        f"weights ({info.weights_id})")
    if ids.get(doc.get("incumbent")) != current.weights_id:
        problems.append(f"the gate's incumbent is {ids.get(doc.get('incumbent'))}, not "
                        f"today's default ({current.weights_id})")
    meta = {
        "name": "memmatte-default",
        "source": origin.metadata.get("source", ""),
        "conversion": origin.metadata.get("conversion", {}),
        "training": info.metadata.get("training", {}),
        "replaces": current.weights_id,
        "heldout": doc,
    }
    problems += [f"metadata holds a machine path at {where}: {text!r}"
                 for where, text in machine_paths(meta)]
    if problems:
        print(f"{args.trained}: not shipped:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    path = save_weights(model, default_weights_path(), meta)
    print(f"wrote {path} ({read_info(path).weights_id}, replaces {current.weights_id})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
