"""Frame-ordered inference: devices, shot cuts, the per-shot engine."""
from .cuts import DEFAULT_THRESHOLD, is_cut, thumbnail
from .devices import DEVICE_CHOICES, DeviceError, pick_device
from .session import Engine, FrameLoader, FrameResult

__all__ = ["DEFAULT_THRESHOLD", "DEVICE_CHOICES", "DeviceError", "Engine", "FrameLoader",
           "FrameResult", "is_cut", "pick_device", "thumbnail"]
