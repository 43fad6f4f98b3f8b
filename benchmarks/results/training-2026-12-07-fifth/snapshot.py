"""A training run's checkpoint as weights: snapshot.py RUN_FOLDER OUT.safetensors. The
checkpoint holds only the trained part; the rest (frozen encoder) is the shipped weights'."""
import sys
from dataclasses import replace
from pathlib import Path

from memmatte.model import MemMatte
from memmatte.train.checkpoint import load_checkpoint
from memmatte.weights import load_weights, save_weights

run, out = Path(sys.argv[1]), sys.argv[2]
start, info = load_weights("runs/shipped-2545.safetensors")
model = MemMatte(replace(start.config, memory="attention", memory_readout="delta")).eval()
model.load_state_dict(start.state_dict(), strict=False)
state = load_checkpoint(run)
model.load_state_dict(state["model"], strict=False)
save_weights(model, out, {"name": f"snapshot {run.name} step {state['step']}",
                          "training": {"init": info.weights_id, "steps": state["step"]}})
print(out, state["step"])
