import sys
from dataclasses import replace
from pathlib import Path
from memmatte.model import MemMatte
from memmatte.weights import load_weights, save_weights
from memmatte.train.checkpoint import load_checkpoint
run, out = Path(sys.argv[1]), sys.argv[2]
start, info = load_weights("runs/shipped-2545.safetensors")
model = MemMatte(replace(start.config, memory="attention", memory_readout="delta")).eval()
model.load_state_dict(start.state_dict(), strict=False)
st = load_checkpoint(run)
model.load_state_dict(st["model"], strict=False)
save_weights(model, out, {"name": f"snapshot {run.name} step {st['step']}", "training": {"init": info.weights_id, "steps": st["step"]}})
print(out, st["step"])
