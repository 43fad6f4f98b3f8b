"""The training set a config describes: its sources mixed in proportion, and a held-out
procedural split (a different seed) for validation."""
from __future__ import annotations

from typing import Any

from .config import ConfigError, TrainConfig

# Held-out clips come from a seed no training item uses.
VALIDATION_SEED_OFFSET = 1_000_003


def backgrounds(cfg: TrainConfig) -> Any:
    from .data import ImageBackgrounds, ProceduralBackgrounds, VideoBackgrounds

    d = cfg.data
    if d.background_videos:
        return VideoBackgrounds(d.background_videos)
    if d.background_images:
        return ImageBackgrounds(d.background_images)
    return ProceduralBackgrounds()


def build_dataset(cfg: TrainConfig) -> Any:
    from .data import ImageMattingSet, MixedClips, ProceduralClips, VideoMatteClips

    t, d = cfg.train, cfg.data
    sources: list[tuple[Any, float]] = []
    if d.procedural > 0:
        sources.append((ProceduralClips(t.frames, t.size, t.seed, d.length, augment=True),
                        d.procedural))
    needs_folder = {"teacher": d.teacher_labels, "videomatte": d.videomatte_root,
                    "image_matting": d.image_matting_root}
    for name, folder in needs_folder.items():
        if getattr(d, name) > 0 and not folder:
            raise ConfigError(f"{cfg.path} [data]: {name} has weight {getattr(d, name)} but "
                              "no folder is given")
    bg = backgrounds(cfg) if (d.teacher or d.videomatte or d.image_matting) else None
    if d.teacher > 0:
        from .teacher import TeacherClips

        sources.append((TeacherClips(d.teacher_labels, bg, t.frames, t.size, t.seed,
                                     original=d.teacher_original), d.teacher))
    if d.videomatte > 0:
        sources.append((VideoMatteClips(d.videomatte_root, bg, t.frames, t.size),
                        d.videomatte))
    if d.image_matting > 0:
        sources.append((ImageMattingSet(d.image_matting_root, bg, t.frames, t.size),
                        d.image_matting))
    if not sources:
        raise ConfigError(f"{cfg.path} [data]: no source has a weight above 0")
    if len(sources) == 1:
        return sources[0][0]
    return MixedClips([s for s, _ in sources], [w for _, w in sources], d.length, t.seed)


def validation_set(cfg: TrainConfig) -> Any:
    from .data import ProceduralClips

    t = cfg.train
    return ProceduralClips(max(t.frames, 2), t.size, t.seed + VALIDATION_SEED_OFFSET,
                           t.validate_clips)
