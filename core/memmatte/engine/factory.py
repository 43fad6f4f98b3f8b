"""Build the backend a render, eval or host job asks for; imports only that runtime."""
from __future__ import annotations

from typing import Any

from ..protocol.errors import RUNTIME, MemmatteError
from ..protocol.settings import BACKENDS

class BackendError(MemmatteError):
    """A backend that cannot be built as asked; the message says what is valid."""

    code = RUNTIME


def make_backend(kind: str = "torch", weights: str | None = None, device: str = "auto",
                 memory: str | None = None, half: bool | None = None) -> Any:
    if kind == "torch":
        from ..weights import load_weights
        from .torch_backend import TorchBackend

        model, info = load_weights(weights, memory=memory)
        backend = TorchBackend(model, device, half, info.weights_id)
        backend.weights_path = info.path  # type: ignore[attr-defined]
        return backend
    if kind == "onnx":
        if memory is not None:
            raise BackendError("--memory cannot change an exported ONNX graph; export the "
                               "variant you want with 'memmatte export --format onnx --memory'")
        from .onnx_backend import OnnxBackend

        backend = OnnxBackend(weights, device)
        backend.weights_path = str(backend.path)  # type: ignore[attr-defined]
        return backend
    raise BackendError(f"--backend {kind!r} is not available; valid: {', '.join(BACKENDS)}")


def runtime_identity(backend: Any) -> dict[str, str]:
    """Device and precision a backend computes with: they change the pixels (fp16 on CUDA),
    so they go into the cache key and the output metadata."""
    providers = getattr(backend, "providers", None)
    if providers is not None:  # ONNX Runtime: the first provider runs the graph
        device = "cuda" if providers[0] == "CUDAExecutionProvider" else "cpu"
        return {"backend": "onnx", "device": device, "precision": "fp32"}
    return {"backend": "torch", "device": str(getattr(backend, "device", "cpu")),
            "precision": "fp16" if getattr(backend, "half", False) else "fp32"}
