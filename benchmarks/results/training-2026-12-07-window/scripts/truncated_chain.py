"""What a cheaper window costs in quality: predecessors run only the top `levels` decoder blocks
(4 = all; 2 = 1/16 and 1/8), the lower blocks of frame t start from zero state. Trained weights, own-size labels."""
import sys, json, time
from pathlib import Path
import torch
from memmatte.model.network import MemMatte
from memmatte.train.heldout import load_clips, model_matter, table, overall
from memmatte.weights import load_weights
from memmatte.commands.bench import gmacs
levels = int(sys.argv[1])
torch.set_num_threads(1)

def window_states(self, contexts):
    if contexts is None or not self.decoder.recurrent:
        return None
    d = self.decoder
    state = None
    for m in reversed(range(contexts.src.shape[1])):
        pyr = d.image_pyramid(contexts.src[:, m])
        s = (None,) * 4 if state is None else state
        x4 = d.bottleneck(contexts.f4[:, m], s[0]); out = [d.bottleneck.next_state(x4), None, None, None]
        x = x4
        for k, (blk, f, p) in enumerate(((d.decode3, contexts.f3, pyr[3]), (d.decode2, contexts.f2, pyr[2]), (d.decode1, contexts.f1, pyr[1]))[:levels - 1]):
            x = blk(x, f[:, m], p, s[k + 1]); out[k + 1] = blk.refine.next_state(x)
        state = tuple(out)
    return state
MemMatte.window_states = window_states
model, _ = load_weights()
print("GMACs 512x512", round(gmacs(model, 512, 512), 2), flush=True)
clips = load_clips(Path("runs/labels-heldout-own"), max_frames=60)
rows = table(clips, {f"levels{levels}": model_matter(model)})
json.dump(rows, open(f"runs/truncated-{levels}.json", "w"), indent=1)
for c, r in rows.items():
    print(c, r[f"levels{levels}"]["mad"], r[f"levels{levels}"]["flicker"])
print("mean", overall(rows, f"levels{levels}"))
