"""Operators: compute a node's clip on the warm worker (modal, Esc cancels), cancel it, and
check the runtime Python. In the UI the work runs in a thread and a timer reports it; in
``blender -b`` (no event loop) the same steps run until the computation ends."""
from __future__ import annotations

import json
import threading
import time
from typing import Any

import bpy

from . import results
from .mm import errors, protocol
from .node import node_key, refresh
from .service import RUNNING, Computation, Progress, runtime_python
from .settings import PACKAGE, plan
from .source import SourceError

TIMER_STEP = 0.25


def preferences() -> Any:
    addon = bpy.context.preferences.addons.get(PACKAGE)
    return None if addon is None else addon.preferences


def find_node(tree_name: str, node_name: str, context: Any) -> Any:
    if tree_name:
        tree = bpy.data.node_groups.get(tree_name)
        if tree is None:
            for scene in bpy.data.scenes:  # 4.x: a scene's own tree is not in node_groups
                if getattr(scene, "node_tree", None) and scene.node_tree.name == tree_name:
                    tree = scene.node_tree
        return None if tree is None else tree.nodes.get(node_name)
    return getattr(context, "active_node", None)


def show(node: Any, progress: Progress) -> None:
    """Copy a computation's snapshot into the node (main thread only)."""
    line = progress.line()
    if node.status != line:
        node.status = line
    if progress.state == "running" or progress.finished:
        node.progress = 1.0 if progress.state == "done" else progress.fraction


def _redraw(context: Any) -> None:
    screen = getattr(context, "screen", None)
    for area in getattr(screen, "areas", ()):
        if area.type == "NODE_EDITOR":
            area.tag_redraw()


class MEMMATTE_OT_compute(bpy.types.Operator):
    """Compute the node's alpha and foreground for the whole clip on the memmatte worker
    (frames already computed with these settings are reused)"""

    bl_idname = "memmatte.compute"
    bl_label = "Compute Matte"
    bl_options = {"REGISTER"}

    tree: bpy.props.StringProperty(options={"SKIP_SAVE"})  # type: ignore[valid-type]
    node: bpy.props.StringProperty(options={"SKIP_SAVE"})  # type: ignore[valid-type]
    frames: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Frames", options={"SKIP_SAVE"},
        description="Source frames to compute (1001-1050); empty: all")

    _timer: Any = None

    def _start(self, context: Any) -> Computation | None:
        node = find_node(self.tree, self.node, context)
        if node is None or node.bl_idname != "CompositorNodeMemoryMatte":
            self.report({"ERROR"}, "no Memory Matte node to compute")
            return None
        key = node_key(node)
        if key in RUNNING and not RUNNING[key].progress.finished:
            self.report({"WARNING"}, f"{node.name} is already computing")
            return None
        try:
            p = plan(node)
            settings = dict(p.settings, frames=self.frames or None)
            protocol.RenderSettings.from_dict(settings, node.name)
        except (SourceError, errors.MemmatteError) as exc:
            node.problem = str(exc)
            self.report({"ERROR"}, str(exc))
            return None
        python = runtime_python(preferences())
        refresh(node)
        self._key, self._tree_name, self._node_name = key, node.id_data.name, node.name
        node.progress = 0.0
        RUNNING[key] = Computation(python, settings)
        return RUNNING[key]

    def _node(self) -> Any:
        return find_node(self._tree_name, self._node_name, bpy.context)

    def _finish(self, context: Any, progress: Progress) -> set[str]:
        node = self._node()
        if node is not None:
            show(node, progress)
            results.reload(node)
        workspace = getattr(context, "workspace", None)
        if workspace is not None:
            workspace.status_text_set(None)
        kind = {"done": "INFO", "cancelled": "WARNING"}.get(progress.state, "ERROR")
        self.report({kind}, f"Memory Matte: {progress.line()}")
        return {"FINISHED"} if progress.state == "done" else {"CANCELLED"}

    def execute(self, context: Any) -> set[str]:
        comp = self._start(context)
        if comp is None:
            return {"CANCELLED"}
        if not bpy.app.background:
            return self._modal_start(context)
        while not comp.progress.finished:  # no event loop: the same steps, waited for
            time.sleep(TIMER_STEP / 5)
            node = self._node()
            if node is not None:
                show(node, comp.progress)
        comp.wait()
        return self._finish(context, comp.progress)

    def invoke(self, context: Any, event: Any) -> set[str]:
        return self.execute(context)

    def _modal_start(self, context: Any) -> set[str]:
        wm = context.window_manager
        self._timer = wm.event_timer_add(TIMER_STEP, window=context.window)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context: Any, event: Any) -> set[str]:
        comp = RUNNING.get(self._key)
        if comp is None:
            return {"CANCELLED"}
        if event.type == "ESC" and event.value == "PRESS":
            comp.cancel()
        if event.type != "TIMER" and event.type != "ESC":
            return {"PASS_THROUGH"}
        node = self._node()
        if node is not None:
            show(node, comp.progress)
        if context.workspace is not None:
            line = comp.progress.line()
            context.workspace.status_text_set(f"Memory Matte: {line}   (Esc: cancel)")
        _redraw(context)
        if not comp.progress.finished:
            return {"PASS_THROUGH"}
        context.window_manager.event_timer_remove(self._timer)
        return self._finish(context, comp.progress)


class MEMMATTE_OT_cancel(bpy.types.Operator):
    """Stop the node's computation after the frame in hand"""

    bl_idname = "memmatte.cancel"
    bl_label = "Cancel"

    tree: bpy.props.StringProperty(options={"SKIP_SAVE"})  # type: ignore[valid-type]
    node: bpy.props.StringProperty(options={"SKIP_SAVE"})  # type: ignore[valid-type]

    def execute(self, context: Any) -> set[str]:
        node = find_node(self.tree, self.node, context)
        comp = None if node is None else RUNNING.get(node_key(node))
        if comp is None or comp.progress.finished:
            return {"CANCELLED"}
        comp.cancel()
        return {"FINISHED"}


class MEMMATTE_OT_check_runtime(bpy.types.Operator):
    """Ask the runtime Python what it can run (python -m memmatte.worker --capabilities)"""

    bl_idname = "memmatte.check_runtime"
    bl_label = "Check Runtime"

    def execute(self, context: Any) -> set[str]:
        prefs = preferences()
        python = runtime_python(prefs)
        if prefs is None:
            return {"CANCELLED"}
        prefs.runtime_report = json.dumps({"checking": python})
        box: dict[str, Any] = {}

        def ask() -> None:
            try:
                box["report"] = {"ok": True, **protocol.WorkerClient.capabilities(
                    python, env=protocol.runtime_env())}
            except errors.MemmatteError as exc:
                box["report"] = {"ok": False, "error": str(exc)}

        if not python:
            box["report"] = {"ok": False, "error": "no runtime Python is set"}
        elif bpy.app.background:
            ask()
        else:
            thread = threading.Thread(target=ask, daemon=True)
            thread.start()

            def poll() -> float | None:
                if thread.is_alive():
                    return 0.25
                preferences().runtime_report = json.dumps(box["report"])
                for window in bpy.context.window_manager.windows:
                    for area in window.screen.areas:
                        area.tag_redraw()
                return None

            bpy.app.timers.register(poll, first_interval=0.25)
            return {"FINISHED"}
        prefs.runtime_report = json.dumps(box["report"])
        report = box["report"]
        self.report({"INFO"} if report["ok"] else {"ERROR"},
                    "runtime ready" if report["ok"] else report["error"])
        return {"FINISHED"} if report["ok"] else {"CANCELLED"}


CLASSES = (MEMMATTE_OT_compute, MEMMATTE_OT_cancel, MEMMATTE_OT_check_runtime)
