"""The ONNX Runtime backend: an exported graph (``memmatte export --format onnx``), run with
numpy and onnxruntime only (no torch), on CPU or CUDA execution providers. The graph works at
network resolution; the plate is brought there, and the result back to plate size, in numpy
(``resample``, ``full_resolution``), the same code as the torch backend's."""
from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .backend import SELF
from .devices import DeviceError
from .allocator import keep_freed_memory
from .full_resolution import FullResolutionPass
from .resample import downsample
from ..protocol.errors import WEIGHTS, MemmatteError

FORMAT = "memmatte-onnx"
# 2: network-resolution input, coefficient outputs (1 took the plate and returned fgr, pha).
FORMAT_VERSION = "2"
DEFAULT_ONNX = "default.onnx"


class OnnxModelError(MemmatteError):
    """An ONNX file that is not a memmatte export; the message names it."""

    code = WEIGHTS


def default_onnx_path() -> Path:
    return Path(str(resources.files("memmatte.weights").joinpath(DEFAULT_ONNX)))


def _providers(ort: Any, device: str) -> list[str]:
    available = ort.get_available_providers()
    if device in ("auto", "cuda") or device.startswith("cuda:"):
        if "CUDAExecutionProvider" in available:
            return ["CUDAExecutionProvider", "CPUExecutionProvider"]
        if device != "auto":
            raise DeviceError(f"--device {device}: this onnxruntime has no CUDA execution "
                              f"provider (available: {', '.join(available)}); use cpu")
        return ["CPUExecutionProvider"]
    if device == "cpu":
        return ["CPUExecutionProvider"]
    raise DeviceError(f"--device {device!r} is not available with the onnx backend; "
                      "valid: auto, cpu, cuda")


def memory_size(height: int, width: int) -> tuple[int, int]:
    """The 1/16 feature size of a frame at network resolution: four stride-2 stages, each
    rounding up."""
    for _ in range(4):
        height, width = (height + 1) // 2, (width + 1) // 2
    return height, width


class OnnxBackend:
    def __init__(self, path: str | Path | None = None, device: str = "auto",
                 threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:  # pragma: no cover - the onnx extra installs it
            raise OnnxModelError("the onnx backend needs onnxruntime: "
                                 "pip install 'memmatte[onnx]'") from exc
        self.path = Path(path) if path is not None else default_onnx_path()
        if self.path.suffix != ".onnx":
            raise OnnxModelError(f"{self.path}: the onnx backend runs an exported .onnx file; "
                                 "make one with 'memmatte export --format onnx -o X.onnx "
                                 f"--weights {self.path}'")
        if not self.path.is_file():
            raise OnnxModelError(f"{self.path}: ONNX model not found")
        self._ort = ort
        self.providers = _providers(ort, device)
        self._threads = threads
        self._session = self._open()
        meta = self._session.get_modelmeta().custom_metadata_map
        if meta.get("format") != FORMAT:
            raise OnnxModelError(f"{self.path}: not a memmatte ONNX export (format marker "
                                 f"{meta.get('format')!r}, expected {FORMAT!r})")
        if meta.get("format_version") != FORMAT_VERSION:
            raise OnnxModelError(f"{self.path}: a memmatte ONNX export of format version "
                                 f"{meta.get('format_version')!r}; this memmatte runs version "
                                 f"{FORMAT_VERSION}: export it again with 'memmatte export "
                                 "--format onnx' from its .safetensors weights")
        self.weights_id = meta.get("memmatte:weights", "")
        self.config = json.loads(meta.get("memmatte:config", "{}"))
        inputs = {i.name for i in self._session.get_inputs()}
        self.window = int(self.config.get("memory_frames", 2)) if "keys" in inputs else 0
        self._key_channels = int(self.config.get("key_channels", 64))
        self._value_channels = int(self.config.get("value_channels", 128))
        self.full_resolution = FullResolutionPass(threads or 1)
        keep_freed_memory()

    def _open(self) -> Any:
        options = self._ort.SessionOptions()
        # Idle ORT threads spin by default, taking cores from the reader and writer threads
        # (and from torch in a side-by-side benchmark).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if self._threads:
            options.intra_op_num_threads = self._threads
        try:
            return self._ort.InferenceSession(str(self.path), options, providers=self.providers)
        except Exception as exc:  # onnxruntime raises its own exception types
            raise OnnxModelError(f"{self.path}: cannot load the ONNX model ({exc})") from exc

    def describe(self) -> str:
        return (f"onnxruntime {self._ort.__version__} ({self.providers[0]}) with "
                f"{self.path.name}")

    def set_threads(self, threads: int) -> None:
        if threads != self._threads:
            self._threads = threads
            self._session = self._open()
        self.full_resolution.set_threads(threads)

    def _run(self, small: np.ndarray, ratio: float, keys: np.ndarray | None,
             values: np.ndarray | None) -> list[np.ndarray]:
        feeds = {"src": np.ascontiguousarray(small.transpose(2, 0, 1)[None], np.float32),
                 "downsample_ratio": np.array([ratio], np.float32)}
        if self.window:
            feeds["keys"], feeds["values"] = keys, values
        return self._session.run(None, feeds)

    def _zeros(self, small: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h, w = memory_size(*small.shape[:2])
        return (np.zeros((1, self.window, self._key_channels, h, w), np.float32),
                np.zeros((1, self.window, self._value_channels, h, w), np.float32))

    def _entry_small(self, small: np.ndarray, ratio: float) -> tuple[np.ndarray, np.ndarray]:
        # The graph computes a frame's entry from the frame alone: any memory will do.
        out = self._run(small, ratio, *self._zeros(small))
        return out[2], out[3]

    def entry(self, rgb: np.ndarray, ratio: float) -> tuple[np.ndarray, np.ndarray]:
        return self._entry_small(downsample(rgb, ratio), ratio)

    def matte(self, rgb: np.ndarray, ratio: float, memory: list[Any]
              ) -> tuple[np.ndarray, np.ndarray, Any]:
        small = downsample(rgb, ratio)
        keys = values = None
        if self.window:
            if any(m is SELF for m in memory):  # a shot's first frame reads itself
                own = self._entry_small(small, ratio)
                memory = [own if m is SELF else m for m in memory]
            keys = np.stack([m[0][0] for m in memory])[None]
            values = np.stack([m[1][0] for m in memory])[None]
        out = self._run(small, ratio, keys, values)
        entry = (out[2], out[3]) if self.window else None
        fgr, pha = self.full_resolution(rgb, out[0][0], out[1][0])
        return fgr, pha, entry
