"""Training checkpoints: model, optimizer, scaler and step, saved atomically, read with
``weights_only=True`` (state dicts and plain values only, nothing executable)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..atomic import atomic_path

CHECKPOINT = "checkpoint.pt"


def save_checkpoint(folder: Path, state: dict[str, Any]) -> Path:
    path = folder / CHECKPOINT
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    return path


def load_checkpoint(folder: Path) -> dict[str, Any] | None:
    path = folder / CHECKPOINT
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a damaged file must not be silently ignored
        raise ValueError(f"{path}: cannot read the checkpoint ({exc}); delete it to start "
                         "over") from exc
