"""Training: configs, a short run end to end, exact resume, two-process DDP (gloo, CPU)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from memmatte.cli import main
from memmatte.train.config import ConfigError, load_config
from memmatte.train.loop import param_groups
from memmatte.weights import read_info

TINY = """
[train]
stage = 2
frames = 2
size = [64, 64]
batch_size = 1
steps = {steps}
lr_encoder = 1e-5
lr_rest = 1e-4
lr_refiner = 0.0
init = "default"
memory = "{memory}"
out = "{out}"
checkpoint_every = 2
log_every = 1
validate_clips = 2
threads = 1

[data]
procedural = 1.0
length = 64
"""


def write_config(tmp_path: Path, name: str, steps: int = 4, memory: str = "attention") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(TINY.format(steps=steps, memory=memory, out=tmp_path / name))
    return path


def test_config_errors_name_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[train]\nstpes = 3\n")
    with pytest.raises(ConfigError, match=r"\[train\]: unknown keys \['stpes'\]"):
        load_config(bad)
    bad.write_text("[train]\nstage = 1\nframes = 4\n")
    with pytest.raises(ConfigError, match="stage 1 trains on images: frames must be 1"):
        load_config(bad)
    bad.write_text("[train]\nsize = [64]\n")
    with pytest.raises(ConfigError, match=r"size must be \[height, width\]"):
        load_config(bad)


def test_repository_configs_load() -> None:
    for path in sorted((Path(__file__).parent.parent / "configs").glob("*.toml")):
        cfg = load_config(path)
        assert cfg.train.steps > 0, path


def test_parameter_groups_follow_the_paper(tmp_path: Path) -> None:
    from memmatte.model import MemMatte

    path = write_config(tmp_path, "groups")
    model = MemMatte()
    groups = {g["name"]: g for g in param_groups(model, load_config(path))}
    assert set(groups) == {"encoder", "memory", "rest"}  # lr_refiner 0: filter frozen
    assert groups["encoder"]["lr"] == 1e-5 and groups["rest"]["lr"] == 1e-4
    assert groups["memory"]["lr"] == 1e-4  # lr_memory unset: the rest's rate
    in_memory = {id(p) for p in groups["memory"]["params"]}
    # Every memory parameter but the delta read-out's bias, which no forward reads.
    assert in_memory == {id(p) for n, p in model.named_parameters()
                         if n.startswith("memory.") and n not in model.unused_parameters()}
    path.write_text(path.read_text().replace("lr_refiner = 0.0",
                                             "lr_refiner = 0.0\nlr_memory = 2e-6"))
    groups = {g["name"]: g for g in param_groups(MemMatte(), load_config(path))}
    assert groups["memory"]["lr"] == 2e-6 and groups["rest"]["lr"] == 1e-4


def test_short_run_writes_weights_with_a_summary(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture) -> None:
    assert main(["train", "--config", str(write_config(tmp_path, "run", steps=3))]) == 0
    out = tmp_path / "run"
    info = read_info(out / "weights.safetensors")
    training = info.metadata["training"]
    assert training["steps"] == 3 and training["stage"] == 2
    assert set(training["validation"]) == {"pha_mad", "pha_mse", "pha_dtssd"}
    lines = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [1, 2, 3]
    assert all(torch.isfinite(torch.tensor(x["total"])) for x in lines)
    assert {"alpha", "lap", "com", "tem_agg", "tem"} <= set(lines[0])
    assert list((out / "tensorboard").iterdir())
    # The memory block learned: its read-out left zero.
    weights = load_file(str(out / "weights.safetensors"))
    assert weights["memory.readout.weight"].abs().sum() > 0


def test_resume_continues_exactly(tmp_path: Path) -> None:
    assert main(["train", "--config", str(write_config(tmp_path, "straight", steps=4))]) == 0
    cfg = write_config(tmp_path, "halves", steps=4)
    assert main(["train", "--config", str(cfg), "--steps", "2"]) == 0
    state = torch.load(tmp_path / "halves" / "checkpoint.pt", weights_only=True)
    assert state["step"] == 2
    assert main(["train", "--config", str(cfg)]) == 0
    a = load_file(str(tmp_path / "straight" / "weights.safetensors"))
    b = load_file(str(tmp_path / "halves" / "weights.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_memory_none_ablation_trains(tmp_path: Path) -> None:
    assert main(["train", "--config", str(write_config(tmp_path, "none", 2, "none"))]) == 0
    info = read_info(tmp_path / "none" / "weights.safetensors")
    assert info.config.memory == "none"


def test_two_process_ddp_on_cpu(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, "ddp", steps=2)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc_per_node", "2", "-m", "memmatte", "train", "--config",
                           str(cfg)], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    info = read_info(tmp_path / "ddp" / "weights.safetensors")
    assert info.metadata["training"]["world_size"] == 2
    assert info.metadata["training"]["steps"] == 2


def test_train_only_freezes_everything_else(tmp_path: Path) -> None:
    from memmatte.model import MemMatte

    path = write_config(tmp_path, "only")
    text = path.read_text().replace("lr_refiner = 0.0",
                                    'lr_refiner = 0.0\ntrain_only = ["memory.", "lr_head."]')
    path.write_text(text)
    model = MemMatte()
    groups = param_groups(model, load_config(path))
    # the encoder's rate is 1e-5, but it is frozen
    assert [g["name"] for g in groups] == ["memory", "rest"]
    learning = {n for n, p in model.named_parameters() if p.requires_grad}
    assert learning == {n for n, _ in model.named_parameters()
                        if n.startswith(("memory.", "lr_head."))} - model.unused_parameters()
    assert sum(p.numel() for g in groups for p in g["params"]) == sum(
        model.get_parameter(n).numel() for n in learning)
    path.write_text(text.replace('"lr_head."', '"lr_haed."'))
    with pytest.raises(ConfigError, match=r"train_only prefixes \['lr_haed.'\] name no "
                                          "parameter"):
        param_groups(MemMatte(), load_config(path))
    path.write_text(text.replace('["memory.", "lr_head."]', '["backbone."]').replace(
        "lr_encoder = 1e-5", "lr_encoder = 0.0"))
    with pytest.raises(ConfigError, match="nothing would learn"):
        param_groups(MemMatte(), load_config(path))
    path.write_text(text.replace('["memory.", "lr_head."]', '"memory."'))
    with pytest.raises(ConfigError, match="train_only must be a list"):
        load_config(path)
