"""Drawing: the node's buttons, the preferences panel, the Add menu entry. No logic here."""
from __future__ import annotations

import json
from typing import Any

import bpy

from . import compat

SETUP_HINT = "installers/blender/setup_runtime.py makes one (see the memmatte README)"


def draw_node(node: Any, context: Any, layout: Any, sidebar: bool = False) -> None:
    from .service import RUNNING  # the running computation, if any

    layout.prop(node, "source_type", text="")
    block_prop = "image" if node.source_type == "IMAGE" else "clip"
    new_op = "image.open" if node.source_type == "IMAGE" else "clip.open"
    layout.template_ID(node, block_prop, open=new_op)
    block = node.source_block()
    if block is not None:
        layout.prop(block.colorspace_settings, "name", text="Colour Space")
    layout.prop(node, "frame_start")
    col = layout.column(align=True)
    col.prop(node, "backend", text="")
    col.prop(node, "device", text="")
    layout.prop(node, "downsample_ratio")
    row = layout.row(align=True)
    row.prop(node, "use_shot_start", text="")
    sub = row.row()
    sub.enabled = node.use_shot_start
    sub.prop(node, "shot_start")
    if sidebar:
        layout.prop(node, "weights")
    if node.problem:
        layout.label(text=node.problem, icon="ERROR")
    key = f"{node.id_data.name}/{node.name}"
    comp = RUNNING.get(key)
    running = comp is not None and not comp.progress.finished
    row = layout.row(align=True)
    if running:
        compat.progress(row, comp.progress.fraction, comp.progress.line())
        op = row.operator("memmatte.cancel", text="", icon="CANCEL")
    else:
        row.enabled = not node.problem
        op = row.operator("memmatte.compute", icon="PLAY")
    op.tree, op.node = node.id_data.name, node.name
    if node.status and not running:
        layout.label(text=node.status)


def draw_preferences(prefs: Any, context: Any, layout: Any) -> None:
    layout.prop(prefs, "python")
    layout.operator("memmatte.check_runtime", icon="CHECKMARK")
    report = json.loads(prefs.runtime_report) if prefs.runtime_report else {}
    box = layout.box()
    if not prefs.python and not report:
        box.label(text="No runtime Python set. " + SETUP_HINT, icon="INFO")
    elif "checking" in report:
        box.label(text=f"Checking {report['checking']} ...", icon="TIME")
    elif report.get("ok"):
        box.label(text=f"memmatte {report.get('version')} on Python "
                       f"{report.get('python_version')}", icon="CHECKMARK")
        for name, info in report.get("backends", {}).items():
            if info.get("available"):
                box.label(text=f"{name} {info.get('version')}: devices "
                               f"{', '.join(info.get('devices', []))}", icon="CHECKMARK")
            else:
                box.label(text=f"{name}: {info.get('reason')}", icon="ERROR")
    elif report:
        box.label(text=report.get("error", "unknown problem"), icon="ERROR")
        box.label(text=SETUP_HINT)
    layout.label(text="The extension downloads nothing; computing runs in the Python above.",
                 icon="INFO")
    if not bpy.app.online_access:
        layout.label(text="Online access is off: install the runtime from local wheels "
                          "(setup_runtime.py --find-links).")


def draw_add_menu(menu: Any, context: Any) -> None:
    space = getattr(context, "space_data", None)
    if getattr(space, "tree_type", "") != compat.TREE_TYPE:
        return
    op = menu.layout.operator("node.add_node", text="Memory Matte", icon="NODE_COMPOSITING")
    op.type = "CompositorNodeMemoryMatte"
    op.use_transform = True
