"""Training configuration: a TOML file with [train], [data] and [loss] tables."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..tomlfile import read_toml
from ..protocol.errors import BAD_SETTINGS, MemmatteError


class ConfigError(MemmatteError):
    """A training config that cannot run; the message names the file, table and key."""

    code = BAD_SETTINGS


@dataclass
class TrainSection:
    stage: int = 2  # 1: images (T=1); 2: video (T>1); 3: high resolution with the guided filter
    steps: int = 1000
    batch_size: int = 2
    frames: int = 4  # T
    size: tuple[int, int] = (288, 512)  # height, width of training clips
    downsample_ratio: float = 1.0  # < 1 trains the guided filter (stage 3)
    lr_encoder: float = 1e-4
    lr_rest: float = 2e-4
    lr_refiner: float = 2e-4
    # The memory block's own rate (None: lr_rest). Trained on few real scenes its read-out
    # learns scene context faster than temporal matching; a lower rate keeps it in check.
    lr_memory: float | None = None
    init: str = "default"  # "default" (shipped weights), "none", or a weights path
    memory: str = "attention"
    freeze_bn: bool = True  # small batches: keep the converted BatchNorm statistics
    amp: bool = True  # mixed precision, CUDA only
    seed: int = 0
    log_every: int = 10
    checkpoint_every: int = 100
    validate_clips: int = 8  # held-out procedural clips scored at the end
    out: str = "runs/train"
    device: str = "auto"
    threads: int | None = None
    workers: int = 1  # processes making clips (0: in the training process)
    max_seconds: float | None = None  # stop (and save) after this long: equal-time ablations
    # Parameter-name prefixes that learn (e.g. ["memory.", "lr_head."]); the rest stay as
    # initialised. Empty: every group with a learning rate above 0 learns.
    train_only: list[str] = field(default_factory=list)


@dataclass
class DataSection:
    # Relative weights of the sources; a source with weight 0 (or no folder) is not used.
    procedural: float = 1.0
    teacher: float = 0.0
    teacher_labels: str = ""  # folder of memmatte teacher labels (<clip>/com, fgr, pha)
    teacher_original: float = 0.0  # share of teacher items on their own footage (com/)
    videomatte: float = 0.0
    videomatte_root: str = ""  # VideoMatte240K layout: fgr/<clip>/*, pha/<clip>/*
    image_matting: float = 0.0
    image_matting_root: str = ""  # fg/*, alpha/* (Adobe / Distinctions / AIM layout)
    background_images: str = ""
    background_videos: str = ""
    length: int = 100000  # samples per epoch of the mixed set


@dataclass
class LossSection:
    alpha: float = 1.0
    lap: float = 1.0
    com: float = 1.0
    tem_agg: float = 1.0
    tem: float = 1.0
    flicker: float = 0.0  # the L1 temporal term (memmatte.train.losses), not the paper's
    solid: float = 0.0  # alpha error again where the label is exactly 0 or 1, not the paper's
    solid_balanced: float = 0.0  # the same, background and interior each its own mean


@dataclass
class TrainConfig:
    train: TrainSection = field(default_factory=TrainSection)
    data: DataSection = field(default_factory=DataSection)
    loss: LossSection = field(default_factory=LossSection)
    path: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("path")
        return d


def _section(cls: type, data: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown keys {unknown}; valid keys: {sorted(known)}")
    values = dict(data)
    if "size" in values:
        size = values["size"]
        if not (isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) and v >= 32
                                                                    for v in size)):
            raise ConfigError(f"{where}: size must be [height, width], each >= 32, got {size!r}")
        values["size"] = tuple(size)
    return cls(**values)


def load_config(path: str | Path) -> TrainConfig:
    path = Path(path)
    raw = read_toml(path, ConfigError)
    unknown = sorted(set(raw) - {"train", "data", "loss"})
    if unknown:
        raise ConfigError(f"{path}: unknown tables {unknown}; valid: train, data, loss")
    cfg = TrainConfig(_section(TrainSection, raw.get("train", {}), f"{path} [train]"),
                      _section(DataSection, raw.get("data", {}), f"{path} [data]"),
                      _section(LossSection, raw.get("loss", {}), f"{path} [loss]"), str(path))
    t = cfg.train
    if t.stage not in (1, 2, 3):
        raise ConfigError(f"{path} [train]: stage must be 1, 2 or 3, got {t.stage}")
    if t.stage == 1 and t.frames != 1:
        raise ConfigError(f"{path} [train]: stage 1 trains on images: frames must be 1")
    if t.stage >= 2 and t.frames < 2:
        raise ConfigError(f"{path} [train]: stage {t.stage} trains on video: frames >= 2")
    if not 0.0 < t.downsample_ratio <= 1.0:
        raise ConfigError(f"{path} [train]: downsample_ratio must be in (0, 1]")
    if not (isinstance(t.train_only, list) and all(isinstance(v, str) and v
                                                    for v in t.train_only)):
        raise ConfigError(f"{path} [train]: train_only must be a list of parameter-name "
                          f"prefixes such as [\"memory.\", \"lr_head.\"], got {t.train_only!r}")
    if not 0.0 <= cfg.data.teacher_original <= 1.0:
        raise ConfigError(f"{path} [data]: teacher_original must be in [0, 1], got "
                          f"{cfg.data.teacher_original}")
    if t.memory not in ("attention", "none"):
        raise ConfigError(f"{path} [train]: memory must be 'attention' or 'none'")
    return cfg
