"""The "Memory Matte" compositor node: a registered ``CompositorNodeCustomGroup`` wrapping
the node group that reads its results (a Python ``bpy.types.Node`` cannot process pixels in
the compositor). Its knobs are properties; drawing is ``ui.py``'s, computing the operators'."""
from __future__ import annotations

from typing import Any

import bpy

from . import results, ui
from .mm import errors
from .settings import plan
from .source import SourceError


def _refresh(self: Any, context: Any) -> None:
    refresh(self)


def refresh(node: Any) -> bool:
    """Point the node's inside at the results of its current settings; False (and the
    reason in ``status``) when the settings cannot work."""
    try:
        p = plan(node)
    except (SourceError, errors.MemmatteError) as exc:
        results.point_at(node, None)
        if node.problem != str(exc):
            node.problem = str(exc)
        return False
    results.point_at(node, p)
    if node.problem:
        node.problem = ""
    return True


def node_key(node: Any) -> str:
    return f"{node.id_data.name}/{node.name}"


class MemoryMatteNode(bpy.types.CompositorNodeCustomGroup):
    """A person's alpha and premultiplied foreground from an image sequence or movie"""

    bl_idname = "CompositorNodeMemoryMatte"
    bl_label = "Memory Matte"
    bl_icon = "NODE_COMPOSITING"
    bl_width_default = 260

    source_type: bpy.props.EnumProperty(  # type: ignore[valid-type]
        name="Source", update=_refresh, default="IMAGE",
        items=(("IMAGE", "Image", "An image, image sequence or movie Image datablock"),
               ("CLIP", "Movie Clip", "A Movie Clip datablock (movie or sequence)")))
    image: bpy.props.PointerProperty(  # type: ignore[valid-type]
        name="Image", type=bpy.types.Image, update=_refresh)
    clip: bpy.props.PointerProperty(  # type: ignore[valid-type]
        name="Movie Clip", type=bpy.types.MovieClip, update=_refresh)
    frame_start: bpy.props.IntProperty(  # type: ignore[valid-type]
        name="Start Frame", default=1, update=_refresh,
        description="Scene frame showing the source's first frame")
    backend: bpy.props.EnumProperty(  # type: ignore[valid-type]
        name="Backend", default="onnx", update=_refresh,
        items=(("onnx", "ONNX Runtime", "The light runtime, no torch"),
               ("torch", "PyTorch", "The torch runtime")))
    device: bpy.props.EnumProperty(  # type: ignore[valid-type]
        name="Device", default="auto", update=_refresh,
        items=(("auto", "Auto", "CUDA, then Apple MPS, then the CPU"),
               ("cpu", "CPU", ""), ("cuda", "CUDA", ""), ("mps", "Apple MPS", "")))
    weights: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Weights", subtype="FILE_PATH", update=_refresh,
        description="Weights file (.safetensors for torch, .onnx for ONNX Runtime); empty: "
                    "the weights shipped with memmatte")
    downsample_ratio: bpy.props.FloatProperty(  # type: ignore[valid-type]
        name="Downsample Ratio", default=0.0, min=0.0, max=1.0, update=_refresh,
        description="Network resolution / plate resolution; 0: automatic (long side ~512 px)")
    use_shot_start: bpy.props.BoolProperty(  # type: ignore[valid-type]
        name="Shot Start", default=False, update=_refresh,
        description="Start the memory at this source frame; earlier frames are never read")
    shot_start: bpy.props.IntProperty(  # type: ignore[valid-type]
        name="Shot Start Frame", default=1, update=_refresh)
    status: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Status", default="", description="How the last computation went")
    problem: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Problem", default="", description="Why the settings cannot work")
    progress: bpy.props.FloatProperty(  # type: ignore[valid-type]
        name="Progress", default=0.0, min=0.0, max=1.0, subtype="FACTOR")

    def source_block(self) -> Any:
        return self.image if self.source_type == "IMAGE" else self.clip

    def init(self, context: Any) -> None:
        self.node_tree = results.new_inner_tree(self.name)
        scene = getattr(context, "scene", None)
        if scene is not None:
            self.frame_start = scene.frame_start
        refresh(self)

    def copy(self, node: Any) -> None:
        if node.node_tree is not None:
            self.node_tree = node.node_tree.copy()

    def free(self) -> None:
        tree = self.node_tree
        if tree is not None and tree.users <= 1:
            bpy.data.node_groups.remove(tree)

    def draw_buttons(self, context: Any, layout: Any) -> None:
        ui.draw_node(self, context, layout)

    def draw_buttons_ext(self, context: Any, layout: Any) -> None:
        ui.draw_node(self, context, layout, sidebar=True)

    def draw_label(self) -> str:
        return "Memory Matte"
