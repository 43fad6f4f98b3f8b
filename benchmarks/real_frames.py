"""A short clip made from one real frame (tests/data/sam2-bedroom-00000.jpg), panned."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

FRAME = Path(__file__).resolve().parent.parent / "tests" / "data" / "sam2-bedroom-00000.jpg"


def clip(width: int, height: int, n: int = 4) -> dict[int, np.ndarray]:
    img = Image.open(FRAME).convert("RGB").resize((width, height), Image.BILINEAR)
    base = np.asarray(img, np.float32) / 255.0
    return {i: np.ascontiguousarray(np.roll(base, 4 * i, axis=1)) for i in range(n)}
