#!/usr/bin/env python3
"""Interpolate two weights files of the same network (a "weight soup"): (1 - s) A + s B.

    python scripts/soup_weights.py A.safetensors B.safetensors 0.5 -o SOUP.safetensors

Meant for B fine-tuned from A (or both from one init), where the straight line between them
stays in one basin: a cheap way to trade what B learnt against what A kept. The metadata
names both by id and keeps B's training summary, with the share; names and ids only.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from memmatte.weights import load_weights, read_info, save_weights


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    parser.add_argument("share", type=float, help="B's share s, in [0, 1]")
    parser.add_argument("-o", "--out", type=Path, required=True)
    args = parser.parse_args()
    if not 0.0 <= args.share <= 1.0:
        parser.error(f"share must be in [0, 1], got {args.share}")
    a, a_info = load_weights(args.a)
    b, b_info = load_weights(args.b)
    if a_info.config != b_info.config:
        parser.error(f"{args.a} and {args.b} are different networks: "
                     f"{a_info.config} vs {b_info.config}")
    sa, sb = a.state_dict(), b.state_dict()
    mixed = {k: torch.lerp(sa[k].float(), sb[k].float(), args.share).to(sa[k].dtype)
             if sa[k].is_floating_point() else sb[k] for k in sa}
    b.load_state_dict(mixed)
    meta = read_info(args.b).metadata
    path = save_weights(b, args.out, {
        "name": f"soup of {a_info.weights_id} and {b_info.weights_id}",
        "training": {**meta.get("training", {}),
                     "soup": {"a": a_info.weights_id, "b": b_info.weights_id,
                              "share_b": args.share}}})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
