"""The node's inside: a compositor node group whose Image node reads the computed EXRs.

The group's outputs are the node's sockets: ``Foreground`` (premultiplied RGBA, converted by
Blender from the plate's colour space to scene linear as it reads the files) and ``Alpha``.
The result Image is an EXR sequence in this node's results folder, numbered by source frame,
placed on the scene's timeline by ``node.frame_start``.
"""
from __future__ import annotations

from typing import Any

import bpy

from . import compat
from .settings import Plan

RESULT_NODE = "Memory Matte Result"
OUTPUTS = (("Foreground", "NodeSocketColor"), ("Alpha", "NodeSocketFloat"))


def new_inner_tree(name: str) -> Any:
    tree = bpy.data.node_groups.new(f".{name} (inside)", compat.TREE_TYPE)
    for socket, kind in OUTPUTS:
        tree.interface.new_socket(socket, in_out="OUTPUT", socket_type=kind)
    image = tree.nodes.new("CompositorNodeImage")
    image.name = image.label = RESULT_NODE
    image.location = (-300, 0)
    out = tree.nodes.new("NodeGroupOutput")
    tree.links.new(image.outputs["Image"], out.inputs["Foreground"])
    tree.links.new(image.outputs["Alpha"], out.inputs["Alpha"])
    return tree


def result_node(node: Any) -> Any:
    tree = node.node_tree
    return None if tree is None else tree.nodes.get(RESULT_NODE)


def point_at(node: Any, plan: Plan | None) -> None:
    """Make the inner Image node read ``plan``'s results (or nothing without a plan)."""
    reader = result_node(node)
    if reader is None:
        return
    if plan is None:
        reader.image = None
        return
    path = plan.output_file(plan.source.first)
    image = reader.image
    if image is None or bpy.path.abspath(image.filepath) != path:
        image = _image_for(path, plan.source.colorspace)
        reader.image = image
    if image.colorspace_settings.name != plan.source.colorspace:
        image.colorspace_settings.name = plan.source.colorspace
    # Assigned only when different: a render handler calls this every frame.
    wanted = {"frame_start": node.frame_start, "frame_offset": plan.source.first - 1,
              "frame_duration": len(plan.source.frames), "use_auto_refresh": True}
    for name, value in wanted.items():
        if getattr(reader, name) != value:
            setattr(reader, name, value)


def _image_for(path: str, colorspace: str) -> Any:
    for image in bpy.data.images:
        if image.source == "SEQUENCE" and bpy.path.abspath(image.filepath) == path:
            return image
    image = bpy.data.images.new(".Memory Matte result", 4, 4, alpha=True, float_buffer=True)
    image.source = "SEQUENCE"
    image.filepath = path
    image.alpha_mode = "PREMUL"
    image.colorspace_settings.name = colorspace
    return image


def reload(node: Any) -> None:
    """Read the files again (frames written since Blender last looked)."""
    reader = result_node(node)
    if reader is not None and reader.image is not None:
        reader.image.reload()
