#!/usr/bin/env python3
"""Score weights on held-out data: a real clip labelled by the teacher, and the held-out
procedural split (exact truth).

    python scripts/eval_heldout.py LABELS_DIR WEIGHTS... [--config configs/finetune-gpu.toml]

For the real clip (LABELS_DIR/<clip>/com, pha, as `memmatte label` writes it): mean absolute
alpha difference to the teacher (x1e3, the benchmark's MAD scale) and a flicker figure, the
mean |alpha_t - alpha_t-1| (x1e3) over frames whose plate barely changes (mean |com_t -
com_t-1| in the lowest quarter), for each weights file and for the teacher itself.

``--without-read-out`` also scores each attention model with its memory read-out zeroed: the
same network minus what it reads from frames t-1 and t-2 (and, at a clip's first frame, from
itself), which tells whether the trained memory block helps or hurts on the held-out clip.
"""
from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path

import numpy as np
import torch

from memmatte.io.eight_bit import list_frames, read_gray, read_rgb
from memmatte.engine.push import PushMatter
from memmatte.train.config import load_config
from memmatte.train.datasets import validation_set
from memmatte.train.loop import validate
from memmatte.weights import load_weights


def still_pairs(frames: list[np.ndarray]) -> np.ndarray:
    change = np.array([np.abs(a - b).mean() for a, b in zip(frames[1:], frames[:-1])])
    return change <= np.quantile(change, 0.25)


def flicker(phas: list[np.ndarray], still: np.ndarray) -> float:
    diffs = np.array([np.abs(a - b).mean() for a, b in zip(phas[1:], phas[:-1])])
    return float(diffs[still].mean() * 1e3)


def variants(weights: str, without_read_out: bool) -> list[tuple[str, torch.nn.Module]]:
    model, _ = load_weights(None if weights == "default" else weights)
    found = [(weights, model.eval())]
    if without_read_out and model.memory is not None:
        plain = copy.deepcopy(model)
        with torch.no_grad():
            plain.memory.readout.weight.zero_()
            plain.memory.readout.bias.zero_()
        found.append((f"{weights} (read-out zeroed)", plain.eval()))
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("labels", type=Path)
    parser.add_argument("weights", nargs="+")
    parser.add_argument("--config", type=Path, default=Path("configs/finetune-gpu.toml"))
    parser.add_argument("--without-read-out", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    torch.manual_seed(0)
    results: dict[str, dict[str, float]] = {}
    models = [v for w in args.weights for v in variants(w, args.without_read_out)]
    for clip in sorted(p for p in args.labels.iterdir() if (p / "com").is_dir()):
        names = list_frames(clip / "com")
        frames = [read_rgb(p) for p in names]
        teacher = [read_gray(clip / "pha" / p.name) for p in names]
        still = still_pairs(frames)
        results[f"{clip.name}/teacher"] = {"flicker": round(flicker(teacher, still), 3)}
        for name, model in models:
            matter = PushMatter(model, device="cpu")
            phas = [matter(f)[1] for f in frames]
            mad = float(np.mean([np.abs(p - t).mean() for p, t in zip(phas, teacher)]))
            results[f"{clip.name}/{name}"] = {"mad_vs_teacher": round(mad * 1e3, 3),
                                              "flicker": round(flicker(phas, still), 3)}
    cfg = load_config(args.config)
    held_out = validation_set(cfg)
    for name, model in models:
        results[f"procedural-heldout/{name}"] = validate(model, held_out, torch.device("cpu"))
    text = json.dumps(results, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
