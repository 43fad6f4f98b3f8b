"""Every difference between the Blender versions this extension runs in (4.2 LTS to 5.0).

5.0: the scene's compositor is a node group datablock (``scene.compositing_node_group``) whose
Group Output is the result; there is no Composite node, and nodes such as Set Alpha and Alpha
Over take their mode from a menu socket. 4.x: ``scene.use_nodes`` and ``scene.node_tree``, a
Composite node, modes as node properties.
"""
from __future__ import annotations

import os
from typing import Any

import bpy

IS_5 = bpy.app.version >= (5, 0, 0)
TREE_TYPE = "CompositorNodeTree"


def compositor_tree(scene: Any, create: bool = True) -> Any:
    """The scene's compositor node tree (made when ``create`` and there is none)."""
    if IS_5:
        tree = scene.compositing_node_group
        if tree is None and create:
            tree = bpy.data.node_groups.new(f"{scene.name} Compositor", TREE_TYPE)
            scene.compositing_node_group = tree
        return tree
    if create and not scene.use_nodes:
        scene.use_nodes = True
    return scene.node_tree


def result_socket(tree: Any) -> Any:
    """The input socket whose image a render writes: the Group Output's (5.0) or the
    Composite node's (4.x); made if missing."""
    if IS_5:
        if not any(item.item_type == "SOCKET" and item.in_out == "OUTPUT"
                   for item in tree.interface.items_tree):
            tree.interface.new_socket("Image", in_out="OUTPUT", socket_type="NodeSocketColor")
        out = next((n for n in tree.nodes if n.bl_idname == "NodeGroupOutput"), None)
        if out is None:
            out = tree.nodes.new("NodeGroupOutput")
        return out.inputs[0]
    out = next((n for n in tree.nodes if n.bl_idname == "CompositorNodeComposite"), None)
    if out is None:
        out = tree.nodes.new("CompositorNodeComposite")
    return out.inputs["Image"]


def set_alpha_node(tree: Any, replace: bool = True) -> Any:
    """A Set Alpha node that replaces (or, ``replace=False``, multiplies) the alpha."""
    node = tree.nodes.new("CompositorNodeSetAlpha")
    if IS_5:
        node.inputs["Type"].default_value = "Replace Alpha" if replace else "Apply Mask"
    else:
        node.mode = "REPLACE_ALPHA" if replace else "APPLY"
    return node


def alpha_over_node(tree: Any) -> tuple[Any, Any, Any]:
    """An Alpha Over node (premultiplied foreground) and its background and foreground
    inputs."""
    node = tree.nodes.new("CompositorNodeAlphaOver")
    if IS_5:
        return node, node.inputs["Background"], node.inputs["Foreground"]
    return node, node.inputs[1], node.inputs[2]


def ocio_config_path() -> str:
    """Blender's own OCIO config: the colour-space names of its datablocks are this
    config's, so the worker uses it too ($OCIO when Blender itself was started with one)."""
    env = os.environ.get("OCIO")
    if env:
        return env
    return os.path.join(bpy.utils.resource_path("LOCAL"), "datafiles", "colormanagement",
                        "config.ocio")


def progress(layout: Any, factor: float, text: str) -> None:
    """A progress bar in a layout (``UILayout.progress``: 4.0+), else the text."""
    if hasattr(layout, "progress"):
        layout.progress(factor=factor, type="BAR", text=text)
    else:
        layout.label(text=text)


def user_folder(package: str) -> str:
    """The extension's own user folder: kept across upgrades of the extension."""
    return bpy.utils.extension_path_user(package, create=True)


def add_menu() -> Any:
    """The compositor's Add > Keying menu (4.x and 5.0), else the whole Add menu."""
    return getattr(bpy.types, "NODE_MT_category_compositor_keying", None) or \
        getattr(bpy.types, "NODE_MT_add", None)
