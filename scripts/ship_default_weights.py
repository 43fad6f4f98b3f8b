#!/usr/bin/env python3
"""Make trained weights the package default, keeping the provenance of what they started from.

    python scripts/ship_default_weights.py runs/X/weights.safetensors HELDOUT.json
    memmatte export --format onnx -o core/memmatte/weights/default.onnx

The new file's metadata holds the conversion report and source of the weights it was trained
from, its training summary, and the held-out results that justified shipping it.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from memmatte.weights import default_weights_path, load_weights, read_info, save_weights


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("trained", type=Path)
    parser.add_argument("heldout", type=Path, help="JSON of held-out results")
    args = parser.parse_args()
    current = read_info(default_weights_path()).metadata
    model, info = load_weights(args.trained)
    meta = {
        "name": "memmatte-default",
        "source": current.get("source", ""),
        "conversion": current.get("conversion", {}),
        "training": info.metadata.get("training", {}),
        "heldout": json.loads(args.heldout.read_text()),
    }
    path = save_weights(model, default_weights_path(), meta)
    print(f"wrote {path} ({read_info(path).weights_id})")


if __name__ == "__main__":
    main()
