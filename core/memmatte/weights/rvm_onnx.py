"""Robust Video Matting's MobileNetV3 ONNX model (``rvm_mobilenetv3_fp32.onnx``) -> ours.

The graph is read, never executed: its Conv nodes are taken in the order they run (a weight
shared by several nodes taken once) and matched one to one to our layers of the same role
(``layout.rvm_slots``), checking shapes and, where the graph kept a parameter name, that the
name is the expected one. BatchNorm may be folded into the
convolutions (the published export) or kept as BatchNormalization nodes.
"""
from __future__ import annotations

from pathlib import Path

from ..model import MemMatte
from .assign import ConversionError, SourceBN, SourceConv, assign_conv
from .layout import by_source, rvm_slots
from .report import ConversionReport, layer_names


def _load(path: Path):  # -> onnx.ModelProto
    try:
        import onnx
    except ImportError as exc:  # pragma: no cover - onnx is a dev/convert dependency
        raise ConversionError("reading ONNX models needs the 'onnx' package: "
                              "pip install 'memmatte[convert]'") from exc
    if not path.is_file():
        raise ConversionError(f"{path}: file not found")
    try:
        return onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # onnx raises DecodeError and friends
        raise ConversionError(f"{path}: not a readable ONNX model ({exc})") from exc


def read_convs(path: Path) -> list[SourceConv]:
    """Learnable convolutions in run order."""
    from onnx import helper, numpy_helper

    graph = _load(path).graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    convs: list[SourceConv] = []
    seen: set[str] = set()
    for node in graph.node:
        if node.op_type != "Conv" or node.input[1] in seen:
            continue
        wname = node.input[1]
        seen.add(wname)
        if wname not in inits:
            raise ConversionError(f"{path}: Conv node {node.name!r} takes its weight from "
                                  f"{wname!r}, which is not a stored initializer")
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        bias = inits[node.input[2]] if len(node.input) > 2 and node.input[2] else None
        bn = None
        after = consumers.get(node.output[0], [])
        if len(after) == 1 and after[0].op_type == "BatchNormalization":
            b = after[0]
            eps = {a.name: helper.get_attribute_value(a) for a in b.attribute}.get("epsilon",
                                                                                     1e-5)
            bn = SourceBN(*(inits[n] for n in b.input[1:5]), eps=float(eps))
        convs.append(SourceConv(wname, inits[wname], bias, int(attrs.get("group", 1)), bn))
    return convs


def convert_rvm_onnx(path: str | Path, model: MemMatte | None = None
                     ) -> tuple[MemMatte, ConversionReport]:
    """Initialise every layer of ``model`` (a new default network if None) that has a
    counterpart in the ONNX graph; the rest keep their initialisation."""
    path = Path(path)
    model = model or MemMatte()
    convs = read_convs(path)
    slots = rvm_slots(model)
    groups = by_source(slots)
    if len(convs) != len(groups):
        raise ConversionError(
            f"{path}: found {len(convs)} convolutions where the "
            f"MobileNetV3 video-matting layout has {len(groups)}; is this "
            "rvm_mobilenetv3_fp32.onnx (not the ResNet-50 variant)?")
    done: list[str] = []
    for group, src in zip(groups, convs):
        named = src.name.removesuffix(".weight")
        if not named.isdigit() and named != group[0].source:
            raise ConversionError(f"{path}: expected layer {group[0].source!r} at this point "
                                  f"of the graph, found {named!r}")
        for slot in group:
            done += assign_conv(model, slot, src, str(path))
    everything = layer_names(list(model.state_dict()))
    report = ConversionReport(
        source=f"rvm-onnx:{path.name}",
        initialised=done,
        not_initialised=[n for n in everything if n not in set(done)],
        unused_source=([] if model.decoder.recurrent else
                       [f"{s.source} (hidden-state part)" for s in slots if s.part != "all"]),
        notes=["BatchNorm " + ("kept as nodes" if any(c.bn for c in convs)
                               else "folded into the convolutions"),
               "ConvGRUs: the whole cell fills the decoder's recurrent blocks, whose state "
               "is rebuilt over the memory window" if model.decoder.recurrent else
               "ConvGRUs: their zero-state (first-frame) computation initialises the gated "
               "blocks; the parts that read the recurrent state have no counterpart"],
    )
    return model, report
