"""Build the backend a render, eval or host job asks for; imports only that runtime."""
from __future__ import annotations

from typing import Any

BACKENDS = ("torch", "onnx")


class BackendError(ValueError):
    """A backend that cannot be built as asked; the message says what is valid."""


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
