#!/usr/bin/env python3
"""Warm-up error with mirrored predecessors: the cold-restart frames of the gate
(heldout.restart: three mid-clip frames as a shot of their own) matted with the frames after
the shot start standing in for the missing ones before it (frame s reads s+1, s+2; frame s+1
reads s and s+1), beside the plain cold start and the same frames inside the whole clip.

    mirrored_start.py LABELS WEIGHTS SCORED_JSON NAME   # NAME: the weights' name in the JSON
"""
import json
import sys
from pathlib import Path

import numpy as np
import torch

from memmatte.train.heldout import HeldOutClip, load_clips, model_matter, quantise, restart
from memmatte.weights import load_weights


def matte(model, shot, prime):
    """Alphas of ``shot`` (8-bit) after the engine's loop has carried the memory of the frames
    ``prime`` (their outputs dropped): the gate's own matter over prime + shot."""
    clip = HeldOutClip(shot.name, [*prime, *shot.frames], [])  # the matter reads no labels
    return [quantise(p) for p in model_matter(model)(clip)[len(prime):]]


def main() -> None:
    labels, weights, scored, name = sys.argv[1:5]
    torch.set_num_threads(1)
    model, info = load_weights(None if weights == "default" else weights)
    model.eval()
    doc = json.loads(Path(scored).read_text())
    rows = {}
    for clip in load_clips(Path(labels), max_frames=60):
        where = restart(clip)
        if where is None:
            continue
        _, shot = where
        cold = matte(model, shot, [])
        mirrored = matte(model, shot, [shot.frames[2], shot.frames[1]])
        mad = [round(float(np.mean([np.abs(p - t).mean() for p, t in
                                    zip(ps, shot.teacher)])) * 1e3, 3)
               for ps in (cold, mirrored)]
        warm = doc["rows"][clip.name][name]["mad_warm3"]
        rows[clip.name] = {"cold3": mad[0], "mirrored3": mad[1], "warm3": warm}
        print(clip.name, rows[clip.name], flush=True)
    mean = {k: round(float(np.mean([r[k] for r in rows.values()])), 3)
            for k in ("cold3", "mirrored3", "warm3")}
    print("mean", mean)
    print(json.dumps({"weights": info.weights_id, "rows": rows, "mean": mean}, indent=1))


if __name__ == "__main__":
    main()
