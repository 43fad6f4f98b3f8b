"""What a converter did: which of our layers it set, which it left, what it could not use."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ConversionReport:
    source: str
    initialised: list[str] = field(default_factory=list)
    not_initialised: list[str] = field(default_factory=list)
    unused_source: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"source": self.source, "initialised": self.initialised,
                "not_initialised": self.not_initialised, "unused_source": self.unused_source,
                "notes": self.notes}

    def summary(self) -> str:
        lines = [f"converted from {self.source}",
                 f"initialised layers ({len(self.initialised)})",
                 f"not initialised ({len(self.not_initialised)}): "
                 + (", ".join(self.not_initialised) or "none"),
                 f"unused source tensors ({len(self.unused_source)}): "
                 + (", ".join(self.unused_source) or "none")]
        lines += self.notes
        return "\n".join(lines)


def layer_names(state_keys: list[str]) -> list[str]:
    """Module paths (parameter names without their last component), in order, unique."""
    seen: dict[str, None] = {}
    for key in state_keys:
        if key.endswith("num_batches_tracked"):
            continue
        seen.setdefault(key.rsplit(".", 1)[0], None)
    return list(seen)
