"""Which torch device to run on: auto, cpu, cuda[:N], mps."""
from __future__ import annotations

from ..protocol.errors import RUNTIME, MemmatteError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


class DeviceError(MemmatteError):
    """A device that is unknown or not available here."""

    code = RUNTIME


def pick_device(name: str = "auto"):  # -> torch.device; torch imported here, not at load
    """``auto`` prefers CUDA, then Apple's MPS, then the CPU."""
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    kind = name.split(":", 1)[0]
    if kind not in DEVICE_CHOICES[1:]:
        raise DeviceError(f"--device: unknown device {name!r}; valid: auto, cpu, cuda, "
                          "cuda:N, mps")
    if kind == "cuda" and not torch.cuda.is_available():
        raise DeviceError(f"--device {name}: CUDA is not available in this torch "
                          f"({torch.__version__}); use --device cpu or auto")
    if kind == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise DeviceError(f"--device {name}: Apple MPS is not available here; use cpu")
    return torch.device(name)
