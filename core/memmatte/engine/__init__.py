"""Frame-ordered inference: the per-shot engine, its backends, devices, shot cuts.

Importing this package does not import torch or onnxruntime: each backend imports its own
runtime (``memmatte.engine.torch_backend``, ``memmatte.engine.onnx_backend``).
"""
from .backend import AUTO_LONG_SIDE, Backend, auto_ratio
from .cuts import DEFAULT_THRESHOLD, is_cut, thumbnail
from .devices import DEVICE_CHOICES, DeviceError, pick_device
from .session import Engine, FrameLoader, FrameResult

__all__ = ["AUTO_LONG_SIDE", "Backend", "DEFAULT_THRESHOLD", "DEVICE_CHOICES", "DeviceError",
           "Engine", "FrameLoader", "FrameResult", "auto_ratio", "is_cut", "pick_device",
           "thumbnail"]
