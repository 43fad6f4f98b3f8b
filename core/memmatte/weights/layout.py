"""Which of our layers play the same role as a layer of the public MobileNetV3 video-matting
network (Robust Video Matting), listed in the order its graph runs them.

Its ConvGRUs map onto our gated blocks: on a shot's first frame (zero state) a ConvGRU
computes exactly what a gated block does, using only the input-side part of its weights
(the update-gate rows for the gate, the input columns for the candidate). Where our decoder
keeps a window state (decoder memory "window") the state-side parts fill its recurrent
weights, so the block is the published ConvGRU itself. Our memory block and low-resolution
head have no counterpart there.
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from ..model import MemMatte
from ..model.encoder import ConvBNAct


@dataclass(frozen=True)
class Slot:
    conv: str  # our convolution's module path
    bn: str | None  # our BatchNorm right after it, if any
    source: str  # the published network's module path for the same layer
    part: str = "all"  # "all", or which part of a ConvGRU conv (``assign.select_part``)


def backbone_slots(model: MemMatte) -> list[Slot]:
    slots = []
    parents = dict(model.backbone.features.named_modules())
    for name, module in model.backbone.features.named_modules():
        if not isinstance(module, nn.Conv2d):
            continue
        parent, _, last = name.rpartition(".")
        bn = None
        if last == "0" and isinstance(parents.get(parent), ConvBNAct):
            bn = f"backbone.features.{parent}.1"
        path = f"backbone.features.{name}"
        slots.append(Slot(path, bn, path))
    return slots


def gru_slots(ours: str, theirs: str, recurrent: bool) -> list[Slot]:
    """The slots one ConvGRU fills, those of each source conv next to each other."""
    ih, hh = f"{theirs}.gru.ih.0", f"{theirs}.gru.hh.0"
    if not recurrent:
        return [Slot(f"{ours}.gate", None, ih, "gru_gate"),
                Slot(f"{ours}.candidate", None, hh, "gru_candidate")]
    return [Slot(f"{ours}.gate", None, ih, "gru_gate"),
            Slot(f"{ours}.gate_state", None, ih, "gru_gate_state"),
            Slot(f"{ours}.reset", None, ih, "gru_reset"),
            Slot(f"{ours}.candidate", None, hh, "gru_candidate"),
            Slot(f"{ours}.candidate_state", None, hh, "gru_candidate_state")]


def by_source(slots: list[Slot]) -> list[list[Slot]]:
    """Neighbouring slots that read the same published layer, grouped: one group per layer
    of the published graph, in its order."""
    groups: list[list[Slot]] = []
    for slot in slots:
        if groups and groups[-1][0].source == slot.source:
            groups[-1].append(slot)
        else:
            groups.append([slot])
    return groups


def rvm_slots(model: MemMatte) -> list[Slot]:
    recurrent = model.decoder.recurrent
    slots = backbone_slots(model)
    slots += [
        Slot("aspp.aspp1.0", "aspp.aspp1.1", "aspp.aspp1.0"),
        Slot("aspp.aspp2.1", None, "aspp.aspp2.1"),
        *gru_slots("decoder.bottleneck", "decoder.decode4", recurrent),
    ]
    for k in (3, 2, 1):
        slots.append(Slot(f"decoder.decode{k}.conv.0", f"decoder.decode{k}.conv.1",
                          f"decoder.decode{k}.conv.0"))
        slots += gru_slots(f"decoder.decode{k}.refine", f"decoder.decode{k}", recurrent)
    slots += [
        Slot("decoder.decode0.conv.0.0", "decoder.decode0.conv.0.1", "decoder.decode0.conv.0"),
        Slot("decoder.decode0.conv.1.0", "decoder.decode0.conv.1.1", "decoder.decode0.conv.3"),
        Slot("project", None, "project_mat.conv"),
        Slot("refiner.box_filter", None, "refiner.box_filter"),
        Slot("refiner.conv.0", "refiner.conv.1", "refiner.conv.0"),
        Slot("refiner.conv.3", "refiner.conv.4", "refiner.conv.3"),
        Slot("refiner.conv.6", None, "refiner.conv.6"),
    ]
    return slots
