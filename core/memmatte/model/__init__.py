"""The matting network (pure torch, no I/O)."""
from .config import MEMORY_KINDS, ModelConfig
from .memory import FrameContext, MemoryEntry
from .network import FrameFeatures, MattingOutput, MemMatte, downsample

__all__ = ["MEMORY_KINDS", "ModelConfig", "MemoryEntry", "FrameContext", "FrameFeatures", "MattingOutput",
           "MemMatte", "downsample"]
