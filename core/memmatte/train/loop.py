"""The training loop: ``memmatte train --config FILE`` (and under ``torchrun`` for several
processes with DistributedDataParallel).

Deterministic by step: the samples of step s are dataset items s*B*world + rank*B + b, and
every item is generated from (seed, index), so a resumed run continues exactly where a
checkpoint left it.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from ..engine.devices import pick_device
from ..model import MemMatte, ModelConfig
from ..commands.progress_bar import ProgressBar
from .checkpoint import load_checkpoint, save_checkpoint
from .config import ConfigError, TrainConfig
from .losses import matting_losses


@dataclass
class Runtime:
    rank: int
    world: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_runtime(cfg: TrainConfig) -> Runtime:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    device = pick_device(cfg.train.device)
    if world > 1:
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    return Runtime(rank, world, device)


def build_model(cfg: TrainConfig) -> tuple[MemMatte, str]:
    init = cfg.train.init
    if init == "none":
        torch.manual_seed(cfg.train.seed)
        return MemMatte(ModelConfig(memory=cfg.train.memory)), "none"
    from ..weights import load_weights

    model, info = load_weights(None if init == "default" else init, memory=cfg.train.memory)
    return model, f"{info.path} ({info.weights_id})"


def param_groups(model: MemMatte, cfg: TrainConfig) -> list[dict[str, Any]]:
    """Encoder, guided filter and the rest learn at their own rates (paper section 5.1)."""
    t = cfg.train
    groups: dict[str, list[nn.Parameter]] = {"encoder": [], "refiner": [], "memory": [],
                                             "rest": []}
    rates = {"encoder": t.lr_encoder, "refiner": t.lr_refiner, "rest": t.lr_rest,
             "memory": t.lr_rest if t.lr_memory is None else t.lr_memory}
    if t.downsample_ratio == 1.0:
        rates["refiner"] = 0.0  # the guided filter only runs below ratio 1
    unmatched = set(t.train_only)
    unused = model.unused_parameters()
    for name, p in model.named_parameters():
        key = ("encoder" if name.startswith("backbone.") else
               "refiner" if name.startswith("refiner.") else
               "memory" if name.startswith("memory.") else "rest")
        chosen = [prefix for prefix in t.train_only if name.startswith(prefix)]
        unmatched.difference_update(chosen)
        # Frozen parameters take no gradient: less work, and DistributedDataParallel
        # requires every parameter that wants a gradient to get one.
        learns = (rates[key] > 0 and (not t.train_only or bool(chosen))
                  and name not in unused)
        p.requires_grad_(learns)
        if learns:
            groups[key].append(p)
    if unmatched:
        raise ConfigError(f"{cfg.path} [train]: train_only prefixes {sorted(unmatched)} name "
                          "no parameter; top-level modules: "
                          f"{sorted({n.split('.')[0] + '.' for n, _ in model.named_parameters()})}")
    if not any(groups.values()):
        raise ConfigError(f"{cfg.path} [train]: nothing would learn (every learning rate is 0 "
                          "or train_only names only frozen groups)")
    return [{"params": ps, "lr": rates[k], "name": k} for k, ps in groups.items() if ps]


def set_train_mode(model: nn.Module, freeze_bn: bool) -> None:
    model.train()
    if freeze_bn:
        # A few frames per step give BatchNorm noisy statistics; keep the converted ones.
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.eval()


def collate(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {k: torch.stack([it[k] for it in items]) for k in items[0]}


class StepSampler(torch.utils.data.Sampler[int]):
    """Dataset indices of steps first_step, first_step + 1, ... for this rank: step s takes
    items (s * world + rank) * B + b, so a resumed run draws exactly what it would have."""

    def __init__(self, length: int, first_step: int, steps: int, rt: Runtime, batch: int
                 ) -> None:
        self.length, self.first, self.steps = length, first_step, steps
        self.world, self.rank, self.batch = rt.world, rt.rank, batch

    def __iter__(self):  # type: ignore[no-untyped-def]
        for step in range(self.first, self.steps):
            start = (step * self.world + self.rank) * self.batch
            for b in range(self.batch):
                yield (start + b) % self.length

    def __len__(self) -> int:
        return max(0, self.steps - self.first) * self.batch


def batches(dataset: Any, first_step: int, cfg: TrainConfig, rt: Runtime) -> Any:
    """Batches from worker processes (each with one torch thread) so that making clips
    overlaps the network's work instead of fighting it for cores."""
    t = cfg.train
    sampler = StepSampler(len(dataset), first_step, t.steps, rt, t.batch_size)
    return torch.utils.data.DataLoader(dataset, batch_size=t.batch_size, sampler=sampler,
                                       num_workers=t.workers, collate_fn=collate,
                                       persistent_workers=False,
                                       prefetch_factor=2 if t.workers else None)


def _step(model: nn.Module, batch: dict[str, torch.Tensor], cfg: TrainConfig, rt: Runtime,
          optimizer: torch.optim.Optimizer, scaler: Any, use_amp: bool) -> dict[str, float]:
    com = batch["com"].to(rt.device, non_blocking=True)
    fgr = batch["fgr"].to(rt.device, non_blocking=True)
    pha = batch["pha"].to(rt.device, non_blocking=True)
    with torch.autocast("cuda", dtype=torch.float16, enabled=use_amp):
        pred = model(com, cfg.train.downsample_ratio, with_lr=True)
    losses = matting_losses(pred, fgr, pha, temporal=cfg.train.frames > 1,
                            weights=vars(cfg.loss))
    optimizer.zero_grad(set_to_none=True)
    if scaler is not None:
        scaler.scale(losses["total"]).backward()
        scaler.step(optimizer)
        scaler.update()
    else:
        losses["total"].backward()
        optimizer.step()
    return {k: float(v.detach()) for k, v in losses.items()}


def train(cfg: TrainConfig, resume: bool = True) -> dict[str, Any]:
    """Run (or continue) a training; returns the summary stored with the weights."""
    from .datasets import build_dataset, validation_set

    rt = setup_runtime(cfg)
    t = cfg.train
    out = Path(t.out)
    out.mkdir(parents=True, exist_ok=True)
    model, init = build_model(cfg)
    model.to(rt.device)
    optimizer = torch.optim.Adam(param_groups(model, cfg))
    use_amp = t.amp and rt.device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda") if use_amp else None
    step, seconds = 0, 0.0
    state = load_checkpoint(out) if resume else None
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scaler is not None and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        step, seconds = int(state["step"]), float(state["seconds"])
    net: nn.Module = model
    if rt.world > 1:
        net = nn.parallel.DistributedDataParallel(
            model, device_ids=[rt.device.index] if rt.device.type == "cuda" else None,
            find_unused_parameters=False)
    set_train_mode(net, t.freeze_bn)
    dataset = build_dataset(cfg)
    log = TrainLog(out, rt.main)
    bar = ProgressBar(label="train ", unit="steps/s") if rt.main else None
    started = time.perf_counter() - seconds
    try:
        for batch in batches(dataset, step, cfg, rt):
            values = _step(net, batch, cfg, rt, optimizer, scaler, use_amp)
            step += 1
            elapsed = time.perf_counter() - started
            if rt.main and (step % t.log_every == 0 or step == t.steps):
                log.scalars(step, values, elapsed)
            if bar is not None:
                rate = step / elapsed if elapsed > 0 else 0.0
                bar.update(step, t.steps, rate, (t.steps - step) / rate if rate else None)
            out_of_time = t.max_seconds is not None and elapsed >= t.max_seconds
            if rt.world > 1 and t.max_seconds is not None:
                flag = torch.tensor([float(out_of_time)], device=rt.device)
                dist.all_reduce(flag)  # every rank stops at the same step
                out_of_time = bool(flag.item())
            if step % t.checkpoint_every == 0 or step == t.steps or out_of_time:
                if rt.main:
                    save_checkpoint(out, {"model": model.state_dict(),
                                          "optimizer": optimizer.state_dict(),
                                          "scaler": scaler.state_dict() if scaler else {},
                                          "step": step, "seconds": elapsed})
                if rt.world > 1:
                    dist.barrier()
            if out_of_time:
                break
        summary: dict[str, Any] = {}
        if rt.main:
            model.eval()
            summary = {"stage": t.stage, "steps": step, "seconds": round(time.perf_counter()
                                                                          - started, 1),
                       "init": init, "world_size": rt.world, "device": str(rt.device),
                       "config": cfg.to_dict(),
                       "validation": validate(model, validation_set(cfg), rt.device)}
            from ..weights import save_weights

            save_weights(model, out / "weights.safetensors",
                         {"name": f"memmatte-stage{t.stage}", "training": summary})
            (out / "summary.json").write_text(json.dumps(summary, indent=1))
            log.close()
        return summary
    finally:
        if rt.world > 1:
            dist.destroy_process_group()


@torch.no_grad()
def validate(model: MemMatte, clips: Any, device: torch.device) -> dict[str, float]:
    """Alpha MAD / MSE / dtSSD (benchmark scales) on held-out clips with exact truth."""
    from ..metrics import average_clips, score_clip

    per_clip = []
    for i in range(len(clips)):
        sample = clips[i]
        pred = model(sample["com"][None].to(device)).pha[0, :, 0].float().cpu().numpy()
        true = sample["pha"][:, 0].numpy()
        scores = score_clip([np.ascontiguousarray(p, np.float32) for p in pred],
                            [np.ascontiguousarray(g, np.float32) for g in true])
        per_clip.append({k: scores[k] for k in ("pha_mad", "pha_mse", "pha_dtssd")})
    return {k: round(v, 4) for k, v in average_clips(per_clip).items()} if per_clip else {}


class TrainLog:
    """JSON lines (always) and TensorBoard (when installed), main process only."""

    def __init__(self, out: Path, main: bool) -> None:
        self.main = main
        self.file = open(out / "log.jsonl", "a", encoding="utf-8") if main else None
        self.board = None
        if main:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.board = SummaryWriter(str(out / "tensorboard"))
            except ImportError:  # pragma: no cover - tensorboard is in the train extra
                self.board = None

    def scalars(self, step: int, values: dict[str, float], elapsed: float) -> None:
        if self.file is not None:
            self.file.write(json.dumps({"step": step, "seconds": round(elapsed, 2),
                                        **{k: round(v, 6) for k, v in values.items()}}) + "\n")
            self.file.flush()
        if self.board is not None:
            for k, v in values.items():
                self.board.add_scalar(f"loss/{k}", v, step)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
        if self.board is not None:
            self.board.close()
