"""Training data: clips composited on the fly, com = fgr * pha + bgr * (1 - pha).

Every dataset returns a dict of float32 tensors in [0, 1]: "fgr" (T,3,H,W), "pha" (T,1,H,W),
"bgr" (T,3,H,W) and "com" (T,3,H,W), deterministic per index.

- ``ProceduralClips``: synthetic portraits with exact ground truth (no files needed).
- ``VideoMatteClips``, ``ImageMattingSet``: the public matting layouts.
- ``ImageBackgrounds``, ``VideoBackgrounds``, ``ProceduralBackgrounds``: background sources.
- ``MixedClips``: a weighted mixture of the above.
- ``augment``, ``composite``: the clip-consistent augmentation and the compositing rule.
"""
from .augment import AugmentConfig, augment, color_jitter, composite, crop_boxes, gaussian_blur
from .layouts import (BackgroundSource, ImageBackgrounds, ImageMattingSet, ProceduralBackgrounds,
                      VideoBackgrounds, VideoMatteClips, read_alpha, read_rgb)
from .mix import MixedClips
from .procedural import ProceduralClips, ProceduralConfig, render_background, render_clip

__all__ = [
    "AugmentConfig", "BackgroundSource", "ImageBackgrounds", "ImageMattingSet", "MixedClips",
    "ProceduralBackgrounds", "ProceduralClips", "ProceduralConfig", "VideoBackgrounds",
    "VideoMatteClips", "augment", "color_jitter", "composite", "crop_boxes", "gaussian_blur",
    "read_alpha", "read_rgb", "render_background", "render_clip",
]
