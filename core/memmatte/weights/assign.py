"""Put published convolution (+ BatchNorm) parameters into our layers, folded or not."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..model import MemMatte
from .errors import ConversionError
from .layout import Slot


@dataclass
class SourceBN:
    scale: np.ndarray
    bias: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    eps: float


@dataclass
class SourceConv:
    name: str
    weight: np.ndarray
    bias: np.ndarray | None
    groups: int
    bn: SourceBN | None = None


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(a, dtype=np.float32, copy=True))


def select_part(src: SourceConv, part: str) -> SourceConv:
    """A part of a ConvGRU conv, as a gated block uses it.

    ih: out = [reset, update] gates, in = [x, h]; hh: out = candidate, in = [x, reset * h].
    The input-side parts (``gru_gate``, ``gru_candidate``) are what a zero state computes;
    the state-side parts fill a recurrent block (decoder memory "window").
    """
    if part == "all":
        return src
    w, b = src.weight, src.bias
    cin = w.shape[1] // 2
    update = slice(w.shape[0] // 2, None)
    if part == "gru_gate":
        return SourceConv(src.name, w[update, :cin], None if b is None else b[update],
                          src.groups)
    if part == "gru_gate_state":
        return SourceConv(src.name, w[update, cin:], None, src.groups)
    if part == "gru_reset":
        reset = slice(None, w.shape[0] // 2)
        return SourceConv(src.name, w[reset], None if b is None else b[reset], src.groups)
    if part == "gru_candidate":
        return SourceConv(src.name, w[:, :cin], b, src.groups)
    if part == "gru_candidate_state":
        return SourceConv(src.name, w[:, cin:], None, src.groups)
    raise ValueError(f"unknown slot part {part!r}")


def assign_conv(model: MemMatte, slot: Slot, src: SourceConv, origin: str) -> list[str]:
    """Copy ``src`` into ``slot``; returns the module paths it set."""
    src = select_part(src, slot.part)
    conv = model.get_submodule(slot.conv)
    assert isinstance(conv, nn.Conv2d)
    if tuple(src.weight.shape) != tuple(conv.weight.shape) or src.groups != conv.groups:
        raise ConversionError(
            f"{origin}: layer {src.name!r} has weight {tuple(src.weight.shape)} (groups "
            f"{src.groups}) where our {slot.conv} (role of {slot.source}) needs "
            f"{tuple(conv.weight.shape)} (groups {conv.groups})")
    with torch.no_grad():
        conv.weight.copy_(_t(src.weight))
        bias = _t(src.bias) if src.bias is not None else None
        if slot.bn is None:
            if src.bn is not None:
                raise ConversionError(f"{origin}: layer {src.name!r} has a BatchNorm where our "
                                      f"{slot.conv} has none")
            if conv.bias is not None:
                conv.bias.copy_(bias if bias is not None else torch.zeros_like(conv.bias))
            elif bias is not None and bias.abs().max() > 0:
                raise ConversionError(f"{origin}: layer {src.name!r} has a bias where our "
                                      f"{slot.conv} has none")
            return [slot.conv]
        bn = model.get_submodule(slot.bn)
        assert isinstance(bn, nn.BatchNorm2d)
        if src.bn is None:
            # BatchNorm folded into the conv: ours becomes y = x + bias. A variance of
            # 1 - eps makes its divisor exactly sqrt(1) = 1.
            bn.weight.fill_(1.0)
            bn.bias.copy_(bias if bias is not None else torch.zeros_like(bn.bias))
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)
        else:
            s = src.bn
            bn.weight.copy_(_t(s.scale))
            bn.bias.copy_(_t(s.bias))
            # A conv bias before BN shifts the mean it normalises by.
            mean = _t(s.mean) - (bias if bias is not None else 0.0)
            bn.running_mean.copy_(mean)
            # Keep sqrt(var + eps) when our eps differs from the source's.
            bn.running_var.copy_((_t(s.var) + s.eps - bn.eps).clamp_min(0.0))
        return [slot.conv, slot.bn]
