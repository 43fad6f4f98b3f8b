"""Weights: the safetensors + JSON format, and converters for published weights.

Names load on first use (PEP 562) so that ``memmatte.weights`` (which also holds the shipped
ONNX graph) imports without torch; everything but the errors needs torch.
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

from .errors import ConversionError, WeightsError

_LAZY = {
    "ConversionReport": ".report",
    "NETWORK_COLOR_SPACE": ".format",
    "WeightsInfo": ".format",
    "convert_rvm_onnx": ".rvm_onnx",
    "convert_torchvision": ".torchvision",
    "default_weights_path": ".format",
    "load_weights": ".format",
    "read_info": ".format",
    "save_weights": ".format",
}

__all__ = ["ConversionError", "WeightsError", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
