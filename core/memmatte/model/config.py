"""Architecture settings of the matting network, stored with every weights file."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

MEMORY_KINDS = ("attention", "none")
MEMORY_READOUTS = ("delta", "plain")
DECODER_MEMORIES = ("none", "window")


@dataclass(frozen=True)
class ModelConfig:
    """Channel widths follow the public MobileNetV3 video-matting design so its weights fit."""

    memory: str = "attention"
    aspp_channels: int = 128
    decoder_channels: tuple[int, int, int, int] = (80, 40, 32, 16)
    key_channels: int = 64
    value_channels: int = 128
    # Frames the current one attends to: t-1 and t-2 (the paper's finite window).
    memory_frames: int = 2
    # "delta": the memory adds only what t-1 and t-2 say beyond the frame's own read (zero at
    # a shot's first frame); "plain": the read as it is (files made before "delta" existed).
    memory_readout: str = "delta"
    # "window": the decoder's gated blocks are GRUs whose state is rebuilt over the same
    # window (t-2, then t-1, then t) at every frame; "none": every frame decodes alone.
    decoder_memory: str = "none"

    def __post_init__(self) -> None:
        if self.memory not in MEMORY_KINDS:
            raise ValueError(f"memory must be one of {MEMORY_KINDS}, got {self.memory!r}")
        if self.memory_readout not in MEMORY_READOUTS:
            raise ValueError(f"memory_readout must be one of {MEMORY_READOUTS}, got "
                             f"{self.memory_readout!r}")
        if self.decoder_memory not in DECODER_MEMORIES:
            raise ValueError(f"decoder_memory must be one of {DECODER_MEMORIES}, got "
                             f"{self.decoder_memory!r}")
        if len(self.decoder_channels) != 4:
            raise ValueError(f"decoder_channels needs 4 widths, got {self.decoder_channels!r}")
        if self.memory_frames < 1:
            raise ValueError(f"memory_frames must be at least 1, got {self.memory_frames}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["decoder_channels"] = list(self.decoder_channels)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown model config keys {unknown}; valid keys: {sorted(known)}")
        data = dict(data)
        # A file that does not name its read-out was trained with the plain one.
        data.setdefault("memory_readout", "plain")
        if "decoder_channels" in data:
            data["decoder_channels"] = tuple(data["decoder_channels"])
        return cls(**data)
