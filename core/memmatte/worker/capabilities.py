"""``--capabilities``: what this Python can run, for a host's preferences panel."""
from __future__ import annotations

import importlib.util
import sys
from typing import Any

from .. import __version__
from ..protocol.events import PROTOCOL_VERSION


def _torch() -> dict[str, Any]:
    if importlib.util.find_spec("torch") is None:
        return {"available": False, "reason": "torch is not installed: pip install "
                "'memmatte[torch]' (CPU wheel: pip install torch==2.13.0 first)"}
    import torch

    from ..weights import default_weights_path, read_info

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    return {"available": True, "version": torch.__version__, "devices": devices,
            "weights_id": read_info(default_weights_path()).weights_id}


def _onnx() -> dict[str, Any]:
    if importlib.util.find_spec("onnxruntime") is None:
        return {"available": False, "reason": "onnxruntime is not installed: pip install "
                "'memmatte[onnx]'"}
    import onnxruntime as ort

    from ..engine.onnx_backend import OnnxBackend

    providers = ort.get_available_providers()
    devices = ["cpu"] + (["cuda"] if "CUDAExecutionProvider" in providers else [])
    return {"available": True, "version": ort.__version__, "devices": devices,
            "weights_id": OnnxBackend(None, "cpu").weights_id}


def capabilities() -> dict[str, Any]:
    backends = {}
    for name, probe in (("torch", _torch), ("onnx", _onnx)):
        try:
            backends[name] = probe()
        except Exception as exc:  # a broken install: say so, do not crash the panel
            backends[name] = {"available": False, "reason": f"{type(exc).__name__}: {exc}"}
    return {"version": __version__, "protocol": PROTOCOL_VERSION, "python": sys.executable,
            "python_version": ".".join(map(str, sys.version_info[:3])), "backends": backends}
