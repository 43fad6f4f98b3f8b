#!/usr/bin/env python3
"""Fine-tune the memory block and decoder on cached encoder features of teacher-labelled real
clips (memmatte.train.cached): the recipe a 2-core CPU can carry.

    python scripts/train_cached.py --labels runs/labels-512 --cache runs/features-512 \
        --init runs/converted.safetensors --memory attention --out runs/cached-attention \
        --steps 2500 --seconds 3300

The 2026-12-07 runs of docs/training.md add ``--lr-memory 1e-3 --lr-decoder 2e-5 --tem 5
--flicker 10 --guided`` (``--lr-decoder 0`` for memory only, ``--memory none`` for the
ablation); the later continuation runs start from the shipped weights with ``--solid 30`` or
``--solid-balanced W`` and a new ``--seed`` (benchmarks/results/training-2026-12-07-solid/).

``--clips`` names the training clips (default: every label folder; never pass held-out
ones). The feature cache is built first (clips already cached are kept). Resumes from
``OUT/checkpoint.pt``. Writes ``OUT/weights.safetensors`` whose metadata holds the recipe,
the clip names and frame counts and the init weights' id: names and ids, never paths.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import torch

from memmatte.model import MemMatte
from memmatte.train.cached import Recipe, train_cached
from memmatte.train.feature_cache import build_cache, open_cache
from memmatte.weights import load_weights, save_weights


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--labels", type=Path, required=True)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--init", required=True, help="weights to start from")
    parser.add_argument("--memory", choices=("attention", "none"), default="attention")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--clips", nargs="+")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--seconds", type=float, default=3600.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--frames", type=int, default=Recipe.frames)
    parser.add_argument("--crop", type=int, default=Recipe.crop)
    parser.add_argument("--lr-memory", type=float, default=Recipe.lr_memory)
    parser.add_argument("--lr-decoder", type=float, default=Recipe.lr_decoder)
    parser.add_argument("--tem", type=float, default=5.0, help="temporal loss weight")
    parser.add_argument("--flicker", type=float, default=0.0,
                        help="weight of the L1 temporal term on alpha (0: the paper's losses)")
    parser.add_argument("--solid", type=float, default=0.0,
                        help="weight of the alpha error again where the label is exactly 0 or 1")
    parser.add_argument("--solid-balanced", type=float, default=0.0,
                        help="the same, background and interior each averaged on its own")
    parser.add_argument("--guided", action="store_true",
                        help="supervise through the frozen guided filter (train the decoder "
                             "without breaking plates larger than the network)")
    parser.add_argument("--start-share", type=float, default=Recipe.start_share,
                        help="share of windows that begin at a shot's first frame (cold starts)")
    parser.add_argument("--seed", type=int, default=Recipe.seed,
                        help="windows and crops (continue a run on new windows: a new seed)")
    parser.add_argument("--cache-only", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    start, info = load_weights(args.init)
    # The init's architecture (its decoder window included), with the memory asked for.
    model = MemMatte(replace(start.config, memory=args.memory, memory_readout="delta")).eval()
    missing, unexpected = model.load_state_dict(start.state_dict(), strict=False)
    if missing or (unexpected and args.memory == "attention"):
        print(f"init does not fit: missing {missing}, unexpected {unexpected}", file=sys.stderr)
        return 2
    names = build_cache(start, args.labels, args.cache, args.clips,
                        progress=lambda m: print(m, flush=True))
    if args.cache_only:
        return 0
    recipe = Recipe(frames=args.frames, crop=args.crop, lr_memory=args.lr_memory,
                    lr_decoder=args.lr_decoder, guided=args.guided, seed=args.seed,
                    start_share=args.start_share,
                    loss={"alpha": 1.0, "lap": 1.0, "com": 1.0, "tem_agg": 0.0,
                          "tem": args.tem, "flicker": args.flicker,
                          "solid": args.solid, "solid_balanced": args.solid_balanced})
    summary = train_cached(model, open_cache(args.cache, names), args.out, recipe,
                           seconds=args.seconds, steps=args.steps)
    summary["init"] = info.weights_id
    summary["device"] = f"cpu, {args.threads} thread(s)"
    path = save_weights(model, args.out / "weights.safetensors",
                        {"name": f"memmatte-cached-{args.memory}", "training": summary})
    print(f"wrote {path}: {summary['steps']} steps in {summary['seconds']} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
