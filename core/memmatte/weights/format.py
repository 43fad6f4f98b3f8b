"""The one weights format: safetensors tensors + JSON metadata, validated on load.

Never unpickles. A file carries the architecture config, so loading builds the right network.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .. import __version__
from ..atomic import atomic_path
from ..model import MemMatte, ModelConfig
from ..model.decoder import STATE_PARTS
from .errors import WeightsError

FORMAT = "memmatte-weights"
FORMAT_VERSION = 1
# The network sees display-referred, sRGB-encoded RGB in [0, 1] (DESIGN invariant 2).
NETWORK_COLOR_SPACE = "sRGB Encoded Rec.709 (sRGB)"
DEFAULT_WEIGHTS = "default.safetensors"


@dataclass
class WeightsInfo:
    path: str
    config: ModelConfig
    metadata: dict[str, Any] = field(default_factory=dict)
    weights_id: str = ""


def default_weights_path() -> Path:
    return Path(str(resources.files(__package__).joinpath(DEFAULT_WEIGHTS)))


def file_id(path: Path) -> str:
    """Short content hash: names the exact weights in output metadata and logs.

    safetensors writes its JSON header's metadata in arbitrary order, so the same weights
    saved twice can differ in bytes: the header is hashed in canonical (sorted) form, then
    the tensor data as stored.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        size = int.from_bytes(fh.read(8), "little")
        header = json.loads(fh.read(size))
        digest.update(json.dumps(header, sort_keys=True).encode())
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:12]


def _keeps_fp32(name: str) -> bool:
    # BatchNorm statistics are tiny and fp16 would move folded-BN variances off 1.
    return name.endswith(("running_mean", "running_var"))


def save_weights(model: MemMatte, path: str | Path, metadata: dict[str, Any] | None = None,
                 dtype: torch.dtype = torch.float16) -> Path:
    """Write ``model`` atomically (temporary file, then rename)."""
    path = Path(path)
    meta = {
        "memmatte_version": __version__,
        "network_color_space": NETWORK_COLOR_SPACE,
        **(metadata or {}),
        "config": model.config.to_dict(),
    }
    tensors = {}
    for name, t in model.state_dict().items():
        if name.endswith("num_batches_tracked"):
            continue
        t = t.detach().cpu()
        if t.is_floating_point() and not _keeps_fp32(name):
            t = t.to(dtype)
        tensors[name] = t.contiguous()
    header = {"format": FORMAT, "format_version": str(FORMAT_VERSION),
              "metadata": json.dumps(meta, sort_keys=True)}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=header)
    return path


def _read_header(path: Path) -> dict[str, Any]:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            header = fh.metadata() or {}
    except (SafetensorError, OSError) as exc:
        raise WeightsError(f"{path}: not a readable safetensors file ({exc})") from exc
    if header.get("format") != FORMAT:
        raise WeightsError(f"{path}: not a memmatte weights file (format marker "
                           f"{header.get('format')!r}, expected {FORMAT!r}); convert published "
                           "weights with 'memmatte convert'")
    version = header.get("format_version", "")
    if version != str(FORMAT_VERSION):
        raise WeightsError(f"{path}: weights format version {version!r} is not supported "
                           f"(this memmatte reads version {FORMAT_VERSION})")
    try:
        meta = json.loads(header.get("metadata", "{}"))
    except json.JSONDecodeError as exc:
        raise WeightsError(f"{path}: metadata is not valid JSON ({exc})") from exc
    if not isinstance(meta, dict) or not isinstance(meta.get("config"), dict):
        raise WeightsError(f"{path}: metadata has no architecture 'config'")
    return meta


def read_info(path: str | Path) -> WeightsInfo:
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: weights file not found")
    meta = _read_header(path)
    try:
        config = ModelConfig.from_dict(meta["config"])
    except (TypeError, ValueError) as exc:
        raise WeightsError(f"{path}: bad architecture config: {exc}") from exc
    return WeightsInfo(str(path), config, meta, file_id(path))


def check_state(path: Path, model: MemMatte, tensors: dict[str, torch.Tensor],
                optional: tuple[str, ...] = ()) -> None:
    """Every tensor present with its shape; names starting with ``optional`` may be absent."""
    expected = {k: v for k, v in model.state_dict().items()
                if not k.endswith("num_batches_tracked") and not k.startswith(optional)}
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    wrong = [f"{k}: file {tuple(tensors[k].shape)}, network {tuple(v.shape)}"
             for k, v in expected.items() if k in tensors and tensors[k].shape != v.shape]
    problems = []
    if missing:
        problems.append(f"missing tensors {missing[:5]}{' ...' if len(missing) > 5 else ''}")
    if unexpected:
        problems.append(f"unexpected tensors {unexpected[:5]}"
                        f"{' ...' if len(unexpected) > 5 else ''}")
    if wrong:
        problems.append(f"shape mismatches {wrong[:5]}{' ...' if len(wrong) > 5 else ''}")
    if problems:
        raise WeightsError(f"{path}: does not fit its own config: " + "; ".join(problems))


def _is_state_weight(key: str) -> bool:
    """A decoder window's parameter: dropped where a frame reads no other."""
    parts = key.split(".")
    return len(parts) > 2 and parts[-2] in STATE_PARTS


def load_weights(path: str | Path | None = None, device: str | torch.device = "cpu",
                 memory: str | None = None) -> tuple[MemMatte, WeightsInfo]:
    """Build the network a weights file describes, in eval mode, float32.

    ``path=None`` loads the default weights shipped in the package. ``memory`` overrides the
    file's memory variant (for ablations): "none" drops the memory block and the decoder
    window's state weights (a frame reads no other frame); "attention" on weights without one
    starts it at its identity initialisation.
    """
    path = Path(path) if path is not None else default_weights_path()
    info = read_info(path)
    optional: tuple[str, ...] = ()
    if memory is not None and memory != info.config.memory:
        try:
            info.config = replace(info.config, memory=memory)
        except ValueError as exc:
            raise WeightsError(f"--memory: {exc}") from exc
        optional = ("memory.",)
    drop_state = memory == "none" and info.config.decoder_memory != "none"
    if drop_state:
        info.config = replace(info.config, decoder_memory="none")
    model = MemMatte(info.config)
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise WeightsError(f"{path}: cannot read tensors ({exc})") from exc
    if info.config.memory == "none" or drop_state:
        tensors = {k: v for k, v in tensors.items() if not k.startswith(optional)
                   and not (drop_state and _is_state_weight(k))}
    check_state(path, model, tensors, optional)
    model.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=False)
    return model.to(device).eval(), info
