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
# A graph with a decoder window has more memory inputs (prev_*) but the same format.
FORMAT_VERSION = "2"
# Each memory input of a graph and the output that gives a frame's own part of it (None: the
# frame at network resolution, which the caller has).
MEMORY_IO = {"keys": "key", "values": "value", "prev_src": None, "prev_f1": "f1",
             "prev_f2": "f2", "prev_f3": "f3", "prev_f4": "f4"}
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


def memory_size(height: int, width: int, stages: int = 4) -> tuple[int, int]:
    """The feature size of a frame at network resolution after ``stages`` stride-2 stages,
    each rounding up (4: the 1/16 memory)."""
    for _ in range(stages):
        height, width = (height + 1) // 2, (width + 1) // 2
    return height, width


# Stride-2 stages before each memory input's resolution.
STAGES = {"keys": 4, "values": 4, "prev_src": 0, "prev_f1": 1, "prev_f2": 2, "prev_f3": 3,
          "prev_f4": 4}


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
        self._outputs = [o.name for o in self._session.get_outputs()]
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
        # The memory inputs this graph has, with their channels: (N, M, C, h, w).
        self._memory = {i.name: int(i.shape[2]) for i in self._session.get_inputs()
                        if i.name in MEMORY_IO}
        self.window = int(self.config.get("memory_frames", 2)) if self._memory else 0
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

    def _run(self, src: np.ndarray, ratio: float, memory: dict[str, np.ndarray]
             ) -> list[np.ndarray]:
        feeds = {"src": src, "downsample_ratio": np.array([ratio], np.float32), **memory}
        return self._session.run(None, feeds)

    def _zeros(self, src: np.ndarray) -> dict[str, np.ndarray]:
        out = {}
        for name, channels in self._memory.items():
            h, w = memory_size(*src.shape[2:], STAGES[name])
            out[name] = np.zeros((1, self.window, channels, h, w), np.float32)
        return out

    def _own(self, src: np.ndarray, out: list[np.ndarray]) -> dict[str, np.ndarray]:
        """A frame's entry from the graph's outputs: each memory input's part for this frame
        (1, C, h, w); ``src`` is the frame as the graph took it."""
        named = dict(zip(self._outputs, out))
        return {name: src if MEMORY_IO[name] is None else named[MEMORY_IO[name]]
                for name in self._memory}

    def _entry_src(self, src: np.ndarray, ratio: float) -> dict[str, np.ndarray]:
        # The graph computes a frame's entry from the frame alone: any memory will do.
        return self._own(src, self._run(src, ratio, self._zeros(src)))

    def entry(self, rgb: np.ndarray, ratio: float) -> dict[str, np.ndarray]:
        return self._entry_src(_graph_src(downsample(rgb, ratio)), ratio)

    def matte(self, rgb: np.ndarray, ratio: float, memory: list[Any]
              ) -> tuple[np.ndarray, np.ndarray, Any]:
        src = _graph_src(downsample(rgb, ratio))
        feeds: dict[str, np.ndarray] = {}
        if self.window:
            if any(m is SELF for m in memory):  # a shot's first frame reads itself
                own = self._entry_src(src, ratio)
                memory = [own if m is SELF else m for m in memory]
            feeds = {name: np.stack([m[name][0] for m in memory])[None]
                     for name in self._memory}
        out = self._run(src, ratio, feeds)
        entry = self._own(src, out) if self.window else None
        fgr, pha = self.full_resolution(rgb, out[0][0], out[1][0])
        return fgr, pha, entry


def _graph_src(small: np.ndarray) -> np.ndarray:
    """A network-size HxWx3 frame as the graph takes it, (1, 3, H, W) float32."""
    return np.ascontiguousarray(small.transpose(2, 0, 1)[None], np.float32)
