"""torchvision MobileNetV3-Large ImageNet state dict (a file the user supplies) -> encoder.

Accepts ``mobilenet_v3_large-*.pth`` as torchvision saves it (keys ``features.N...``), the
same wrapped in ``{"state_dict": ...}`` or prefixed ``module.``/``backbone.``, or a
safetensors file. ``.pth`` files are read with ``weights_only=True`` (no arbitrary code).
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch

from ..model import MemMatte
from .assign import ConversionError
from .report import ConversionReport, layer_names


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise ConversionError(f"{path}: file not found")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            data: object = load_file(str(path))
        else:
            data = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt pickles raise many kinds
        raise ConversionError(f"{path}: cannot read a state dict ({exc})") from exc
    for wrapper in ("state_dict", "model"):
        if isinstance(data, Mapping) and isinstance(data.get(wrapper), Mapping):
            data = data[wrapper]
    if not isinstance(data, Mapping) or not all(isinstance(v, torch.Tensor)
                                                for v in data.values()):
        raise ConversionError(f"{path}: expected a mapping of parameter names to tensors")
    return {str(k).removeprefix("module."): v for k, v in data.items()}


def convert_torchvision(path: str | Path, model: MemMatte | None = None
                        ) -> tuple[MemMatte, ConversionReport]:
    path = Path(path)
    model = model or MemMatte()
    source = read_state_dict(path)
    target = {k: v for k, v in model.state_dict().items() if k.startswith("backbone.")}
    mapped: dict[str, torch.Tensor] = {}
    unused: list[str] = []
    for key, value in source.items():
        ours = key if key.startswith("backbone.") else f"backbone.{key}"
        if ours in target:
            mapped[ours] = value
        else:
            unused.append(key)
    missing = sorted(k for k in target if k not in mapped and not k.endswith("num_batches_tracked"))
    wrong = [f"{k}: file {tuple(v.shape)}, encoder {tuple(target[k].shape)}"
             for k, v in mapped.items() if v.shape != target[k].shape]
    if missing or wrong:
        raise ConversionError(
            f"{path}: not a MobileNetV3-Large state dict: "
            + (f"missing {missing[:4]}{' ...' if len(missing) > 4 else ''} " if missing else "")
            + (f"shape mismatches {wrong[:4]}" if wrong else ""))
    with torch.no_grad():
        state = model.state_dict()
        for k, v in mapped.items():
            state[k].copy_(v.to(state[k].dtype))
    done = layer_names(list(mapped))
    report = ConversionReport(
        source=f"torchvision:{path.name}",
        initialised=done,
        not_initialised=[n for n in layer_names(list(model.state_dict())) if n not in set(done)],
        unused_source=unused,
    )
    return model, report
