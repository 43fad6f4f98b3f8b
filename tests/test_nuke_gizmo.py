"""The Cattery gizmo, read as Nuke reads a script: its nodes, their wiring through the node
stack, the channels it feeds the Inference node, and the TimeOffsets' shot-start clamp."""
from __future__ import annotations

import re
from pathlib import Path

from memmatte.commands.export_cattery import CHANNELS_IN, CHANNELS_OUT

GIZMO = Path(__file__).resolve().parents[1] / "plugin" / "nuke" / "cattery" / \
    "MemoryMatteCattery.gizmo"


def parse(text: str) -> tuple[dict[str, dict[str, str]], dict[str, list[str]], list[str]]:
    """Nodes (name -> knobs), their inputs (name -> [input 0, input 1, ...]) and the layers,
    by Nuke's stack rules: a node takes its inputs from the top of the stack (input 0 on
    top) and leaves itself there; ``set X [stack 0]`` names the top, ``push $X`` pushes it."""
    nodes: dict[str, dict[str, str]] = {}
    inputs: dict[str, list[str]] = {}
    layers = re.findall(r"^add_layer \{(\S+)", text, re.M)
    body = text.split("\n}\n", 1)[1]  # after the Gizmo's own knobs
    stack: list[str] = []
    names: dict[str, str] = {}
    lines = iter(body.splitlines())
    for line in lines:
        line = line.strip()
        if m := re.match(r"set (\S+) \[stack 0\]", line):
            names[m.group(1)] = stack[-1]
        elif m := re.match(r"push \$(\S+)", line):
            stack.append(names[m.group(1)])
        elif m := re.match(r"(\w+) \{$", line):
            knobs = {"class": m.group(1)}
            for inner in lines:
                inner = inner.strip()
                if inner == "}":
                    break
                key, _, value = inner.partition(" ")
                knobs[key] = value
            count = int(knobs.get("inputs", 1 if knobs["class"] != "Input" else 0))
            taken = [stack.pop() for _ in range(count)]
            nodes[knobs["name"]] = knobs
            inputs[knobs["name"]] = taken
            stack.append(knobs["name"])
    return nodes, inputs, layers


def test_the_gizmo_feeds_frames_t_t1_t2_to_the_model_and_keeps_the_plate() -> None:
    nodes, inputs, layers = parse(GIZMO.read_text())
    assert layers == ["mm_prev1", "mm_prev2"]
    assert inputs["MM_ToNetwork"] == ["Input1"]
    assert inputs["MM_Prev1"] == inputs["MM_Prev2"] == ["MM_ToNetwork"]
    # Copy: input 0 (B) receives the channels, input 1 (A) gives them.
    assert inputs["MM_CopyPrev1"] == ["MM_ToNetwork", "MM_Prev1"]
    assert inputs["MM_CopyPrev2"] == ["MM_CopyPrev1", "MM_Prev2"]
    for copy, layer in (("MM_CopyPrev1", "mm_prev1"), ("MM_CopyPrev2", "mm_prev2")):
        k = nodes[copy]
        assert [(k[f"from{i}"], k[f"to{i}"]) for i in range(3)] == [
            (f"rgba.{c}", f"{layer}.{c}") for c in ("red", "green", "blue")]
    fed = ["rgba.red", "rgba.green", "rgba.blue"] + [
        f"{layer}.{c}" for layer in layers for c in ("red", "green", "blue")]
    assert ",".join(fed) == CHANNELS_IN and CHANNELS_OUT.startswith("rgba.red")
    assert inputs["MM_Inference"] == ["MM_CopyPrev2"]
    assert nodes["MM_Inference"]["downsample_ratio"] == "{{parent.downsample_ratio}}"
    chain = ["MM_Unpremult", "MM_FromNetwork", "MM_Premult"]
    assert [inputs[n] for n in chain] == [["MM_Inference"], ["MM_Unpremult"],
                                          ["MM_FromNetwork"]]
    # B (input 0) is the plate, A the matte: alpha 1 keeps the plate's own values.
    assert inputs["MM_KeepPlate"] == ["Input1", "MM_Premult"]
    assert nodes["MM_KeepPlate"]["expr0"] == '"Aa >= 1 ? Br : Ar"'
    assert nodes["MM_KeepPlate"]["expr3"] == "Aa"
    assert inputs["Output1"] == ["MM_KeepPlate"]
    # The network space goes in and comes back out.
    assert (nodes["MM_ToNetwork"]["out_colorspace"], nodes["MM_ToNetwork"]["in_colorspace"]) == (
        nodes["MM_FromNetwork"]["in_colorspace"], nodes["MM_FromNetwork"]["out_colorspace"])


def test_the_time_offsets_hold_frame_t_before_the_shot_start() -> None:
    nodes, _, _ = parse(GIZMO.read_text())
    shot_start = 1001

    def source_frame(node: str, frame: int) -> int:
        expr = nodes[node]["time_offset"].strip("{}\"")
        offset = eval(expr.replace("parent.shot_start", str(shot_start)),  # noqa: S307
                      {"max": max, "frame": frame})
        return frame + offset

    for frame, want in ((1001, (1001, 1001)), (1002, (1001, 1001)), (1003, (1002, 1001)),
                        (1010, (1009, 1008))):
        assert (source_frame("MM_Prev1", frame), source_frame("MM_Prev2", frame)) == want
