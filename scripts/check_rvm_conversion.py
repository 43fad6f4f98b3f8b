#!/usr/bin/env python3
"""Reproduce the converter's exactness check on a real frame.

    python scripts/check_rvm_conversion.py rvm_mobilenetv3_fp32.onnx FRAME.jpg [--ratio R]

Converts the ONNX model, runs our encoder + LR-ASPP on FRAME, runs the ONNX graph with its
LR-ASPP tensor added as an output, and prints the max absolute difference (exact: <= 1e-4).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from memmatte.weights import convert_rvm_onnx
from memmatte.weights.rvm_parity import lraspp_max_difference


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("onnx", type=Path)
    parser.add_argument("frame", type=Path)
    parser.add_argument("--ratio", type=float, default=None,
                        help="downsample ratio (default: long side to 512 px)")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args()
    img = np.asarray(Image.open(args.frame).convert("RGB"), np.float32) / 255.0
    src = np.ascontiguousarray(img.transpose(2, 0, 1)[None])
    ratio = args.ratio or min(512.0 / max(src.shape[2:]), 1.0)
    model, report = convert_rvm_onnx(args.onnx)
    diff = lraspp_max_difference(model.eval(), args.onnx, src, ratio)
    print(report.summary())
    print(f"frame {args.frame} {src.shape[3]}x{src.shape[2]} ratio {ratio:.4f}")
    print(f"LR-ASPP max abs difference: {diff:.3e} (tolerance {args.tolerance:g})")
    return 0 if diff <= args.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
