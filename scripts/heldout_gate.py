#!/usr/bin/env python3
"""Score weights on the held-out real clips against the warmed-up teacher, and decide whether
a candidate may replace the incumbent (the shipping gate, memmatte.train.gate).

    python scripts/heldout_gate.py runs/labels-heldout \
        --candidate trained=runs/cached-attention/weights.safetensors \
        --incumbent shipped=default --also converted=runs/converted.safetensors \
        --read-out-zeroed trained --json benchmarks/results/.../heldout.json

Weights are NAME=PATH ("default": the package's). ``--read-out-zeroed NAME`` also scores
NAME with its memory read-out set to zero (does the trained memory help?). Prints a table
per clip and the overall means; exits 0 when the candidate passes the gate, 1 when not.
The JSON holds clip names, weights names and ids only (no paths of this machine).
``--scored JSON`` takes the figures of weights already scored there (same weights id, same
clips, frame counts and sizes) instead of running them again: scoring is deterministic, and
gating a new candidate then costs one network, not every incumbent again.
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

import torch

from memmatte.train.gate import gate
from memmatte.train.heldout import load_clips, model_matter, overall, scored_rows, table
from memmatte.weights import load_weights


def named(text: str) -> tuple[str, str]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=PATH (or NAME=default)")
    return name, path


def load(path: str) -> tuple[torch.nn.Module, str]:
    model, info = load_weights(None if path == "default" else path)
    return model.eval(), info.weights_id


def zeroed(model: torch.nn.Module) -> torch.nn.Module:
    plain = copy.deepcopy(model)
    with torch.no_grad():
        plain.memory.readout.weight.zero_()
        plain.memory.readout.bias.zero_()
    return plain


def print_table(rows: dict, names: list[str]) -> None:
    keys = ("mad", "flicker", "flicker_bg", "flicker_fg", "flicker_edge", "mad_first3",
            "mad_rest", "mad_cold3", "mad_warm3")
    print("| clip | weights | " + " | ".join(keys) + " |")
    print("|" + " --- |" * (len(keys) + 2))
    for clip, row in rows.items():
        for name in ["teacher", *names]:
            figures = row[name]
            cells = [str(figures.get(k, "")) for k in keys]
            print(f"| {clip} | {name} | " + " | ".join(cells) + " |")
    for name in ["teacher", *names]:
        figures = overall(rows, name)
        print(f"| (mean) | {name} | " + " | ".join(str(figures.get(k, "")) for k in keys)
              + " |")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("labels", type=Path)
    parser.add_argument("--candidate", type=named, required=True)
    parser.add_argument("--incumbent", type=named, required=True)
    parser.add_argument("--also", type=named, action="append", default=[])
    parser.add_argument("--must-beat", action="append", default=[], metavar="NAME",
                        help="also gate against NAME (e.g. the conversion), as well as "
                             "the incumbent")
    parser.add_argument("--read-out-zeroed", action="append", default=[], metavar="NAME")
    parser.add_argument("--clips", nargs="+", help="clip folders to score (default: all)")
    parser.add_argument("--max-frames", type=int, default=60)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--scored", type=Path,
                        help="a JSON this script wrote: reuse the figures of the same weights")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    models, ids = {}, {}
    for name, path in [args.candidate, args.incumbent, *args.also]:
        models[name], ids[name] = load(path)
    for name in args.read_out_zeroed:
        if name not in models or models[name].memory is None:
            parser.error(f"--read-out-zeroed {name}: no attention weights of that name")
        models[f"{name}-readout0"], ids[f"{name}-readout0"] = zeroed(models[name]), ids[name]
    clips = load_clips(args.labels, args.clips, args.max_frames)
    try:
        reused = (scored_rows(json.loads(args.scored.read_text()), clips, ids)
                  if args.scored else {})
    except ValueError as exc:
        parser.error(f"--scored {args.scored}: {exc}")
    rows = table(clips, {n: model_matter(m) for n, m in models.items() if n not in reused})
    for clip, row in rows.items():
        row.update({name: figures[clip] for name, figures in reused.items()})
    verdicts = [gate(rows, args.candidate[0], name)
                for name in dict.fromkeys([args.incumbent[0], *args.must_beat])]
    print_table(rows, list(models))
    for verdict in verdicts:
        print(verdict.describe())
    passed = all(v.passed for v in verdicts)
    if args.json:
        doc = {"clips": {c.name: {"frames": len(c.frames), "size": list(c.size)}
                         for c in clips},
               "weights": ids, "candidate": args.candidate[0],
               "incumbent": args.incumbent[0], "must_beat": [v.incumbent for v in verdicts],
               "passed": passed, "failures": [f for v in verdicts for f in v.failures],
               "rows": rows,
               "overall": {n: overall(rows, n) for n in ["teacher", *models]}}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=1) + "\n")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
