#!/usr/bin/env python3
"""Held-out contact sheet: per clip, one frame's plate, the warmed-up teacher's alpha, each
named weights' alpha, and each one's flicker map (|alpha_t - alpha_t-1| x 10 on still
pixels) beside it.

    python scripts/heldout_sheet.py runs/labels-heldout docs/heldout.png \
        converted=runs/converted.safetensors trained=runs/cached-attention/weights.safetensors
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from memmatte.train.heldout import STILL, load_clips, model_matter, quantise
from memmatte.weights import load_weights

CELL = 200  # the height of a cell, pixels


def cell(img: np.ndarray) -> Image.Image:
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    pic = Image.fromarray(np.round(np.clip(img, 0, 1) * 255).astype(np.uint8))
    return pic.resize((max(1, round(pic.width * CELL / pic.height)), CELL))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("labels", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("weights", nargs="+", help="NAME=PATH")
    parser.add_argument("--frame", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(1)
    named = [w.split("=", 1) for w in args.weights]
    models = {n: load_weights(None if p == "default" else p)[0].eval() for n, p in named}
    clips = load_clips(args.labels, max_frames=args.frame + 1)
    rows, heads = [], ["plate", "teacher"]
    for name in models:
        heads += [name, f"{name} flicker x10"]
    for clip in clips:
        t = min(args.frame, len(clip.frames) - 1)
        still = np.abs(clip.frames[t] - clip.frames[t - 1]).mean(axis=2) <= STILL
        cells = [cell(clip.frames[t]), cell(clip.teacher[t])]
        for model in models.values():
            phas = [quantise(p) for p in model_matter(model)(clip)]
            cells += [cell(phas[t]), cell(np.abs(phas[t] - phas[t - 1]) * 10 * still)]
        rows.append((f"{clip.name} (frame {t})", cells))
    widths = [max(r[1][i].width for r in rows) for i in range(len(heads))]
    sheet = Image.new("RGB", (sum(widths), 20 + len(rows) * (CELL + 16)), (30, 30, 30))
    draw = ImageDraw.Draw(sheet)
    x = 0
    for head, w in zip(heads, widths):
        draw.text((x + 4, 4), head, fill=(230, 230, 230))
        x += w
    for r, (name, cells) in enumerate(rows):
        y = 20 + r * (CELL + 16)
        draw.text((4, y), name, fill=(230, 230, 120))
        x = 0
        for c, w in zip(cells, widths):
            sheet.paste(c, (x, y + 14))
            x += w
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
