"""The Cattery steps, scripted: a CatFileCreator node set up for memmatte's TorchScript model
(``memmatte export --format cattery -o MemoryMatte.pt``), and the .cat made from it.

Run inside Nuke 14 or later (the Script Editor)::

    import memmatte_nuke.cattery as c
    c.make_cat("/path/MemoryMatte.pt", "/path/MemoryMatte.cat")
"""
from __future__ import annotations

import os

import nuke

# As memmatte.commands.export_cattery writes them (tests check they agree).
CHANNELS_IN = ("rgba.red,rgba.green,rgba.blue,"
               "mm_prev1.red,mm_prev1.green,mm_prev1.blue,"
               "mm_prev2.red,mm_prev2.green,mm_prev2.blue")
CHANNELS_OUT = "rgba.red,rgba.green,rgba.blue,rgba.alpha"
MODEL_ID = "memmatte"
RATIO_KNOB = "downsample_ratio"  # the model's attribute of the same name


def creator(torchscript: str, cat: str) -> nuke.Node:
    """A CatFileCreator with the model's file, channels and the ratio knob."""
    for layer in ("mm_prev1", "mm_prev2"):
        nuke.Layer(layer, [f"{layer}.red", f"{layer}.green", f"{layer}.blue"])
    node = nuke.createNode("CatFileCreator", inpanel=False)
    node["torchScriptFile"].setValue(torchscript.replace(os.sep, "/"))
    node["catFile"].setValue(cat.replace(os.sep, "/"))
    node["channelsIn"].setValue(CHANNELS_IN)
    node["channelsOut"].setValue(CHANNELS_OUT)
    node["modelId"].setValue(MODEL_ID)
    node["outputScale"].setValue(1)
    ratio = nuke.Double_Knob(RATIO_KNOB, "downsample ratio")
    ratio.setRange(0.0, 1.0)
    ratio.setValue(0.0)
    ratio.setTooltip("0: auto (long side ~512 px)")
    node.addKnob(ratio)
    return node


def make_cat(torchscript: str, cat: str) -> str:
    """Make the .cat (Nuke checks the model while it does)."""
    if not os.path.isfile(torchscript):
        raise FileNotFoundError(f"no TorchScript model at {torchscript}: run 'memmatte export "
                                "--format cattery -o ...' first")
    node = creator(torchscript, cat)
    button = node["createCatFile"]
    assert isinstance(button, nuke.Script_Knob)
    button.execute()
    return cat
