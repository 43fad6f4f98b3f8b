"""MAD split by the teacher's alpha (bg = 0, fg = 1, edge = between) on held-out clips."""
import sys, torch, numpy as np
from pathlib import Path
from memmatte.train.heldout import load_clips, model_matter
from memmatte.weights import load_weights
torch.set_num_threads(1)
clips = load_clips(Path("runs/labels-heldout-own"), sys.argv[1].split(","), 60)
for w in sys.argv[2:]:
    m, _ = load_weights(w)
    run = model_matter(m.eval())
    for clip in clips:
        phas = run(clip)
        sums = {"bg": 0.0, "fg": 0.0, "edge": 0.0}
        n = 0
        for p, t in zip(phas, clip.teacher):
            e = np.abs(p - t)
            bg, fg = t <= 0.5 / 255, t >= 1 - 0.5 / 255
            sums["bg"] += e[bg].sum(); sums["fg"] += e[fg].sum(); sums["edge"] += e[~bg & ~fg].sum()
            n += e.size
        print(clip.name, w, {k: round(v / n * 1e3, 3) for k, v in sums.items()}, flush=True)
