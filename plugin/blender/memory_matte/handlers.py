"""Frames on demand while an animation renders (``blender -b file.blend -a`` included).

Before each frame renders, every Memory Matte node in the scene's compositor asks the warm
worker for the source frame it shows: a file whose cache key matches is reused (``skip``),
anything else is computed now (the finite memory window makes any frame computable alone;
a warm worker computes consecutive frames at one frame's cost).
"""
from __future__ import annotations

import os
import sys
from typing import Any

import bpy
from bpy.app.handlers import persistent

from . import compat, results
from .mm import errors
from .node import refresh
from .operators import preferences
from .service import SERVICE, runtime_python
from .settings import plan, source_frame
from .source import SourceError

NODE_TYPE = "CompositorNodeMemoryMatte"


def matte_nodes(tree: Any, seen: set[str] | None = None) -> list[Any]:
    """Memory Matte nodes of a compositor tree, inside its groups too."""
    seen = set() if seen is None else seen
    if tree is None or tree.name in seen:
        return []
    seen.add(tree.name)
    found = []
    for node in tree.nodes:
        if node.bl_idname == NODE_TYPE:
            found.append(node)
        elif node.bl_idname == "CompositorNodeGroup":
            found += matte_nodes(node.node_tree, seen)
    return found


def ensure_frame(node: Any, scene_frame: int) -> dict[str, Any] | None:
    """The worker's answer for the frame this node shows at ``scene_frame`` (None when it
    shows none). Errors are raised as ``MemmatteError`` or ``SourceError``."""
    p = plan(node)
    frame = source_frame(node, p.source, scene_frame)
    if frame is None:
        return None
    python = runtime_python(preferences())
    if not python and os.path.isfile(p.output_file(frame)):
        # No runtime to ask (a render node without one): use what is there, and say so.
        print(f"Memory Matte: {node.name}: no runtime Python set; frame {frame} is used as "
              "computed earlier, without checking its cache key", file=sys.stderr)
        return {"event": "unchecked", "frame": frame, "path": p.output_file(frame)}
    answer = SERVICE.render_frame(python, p.settings, frame)
    refresh(node)
    if answer.get("event") == "frame":  # a new file: the image must read it
        results.reload(node)
    return answer


@persistent
def render_pre(scene: Any, *_: Any) -> None:
    for node in matte_nodes(compat.compositor_tree(scene, create=False)):
        try:
            ensure_frame(node, scene.frame_current)
        except (SourceError, errors.MemmatteError) as exc:
            # A render handler cannot stop the render: say it where a farm log shows it.
            print(f"Memory Matte: {node.name}: frame {scene.frame_current}: {exc}",
                  file=sys.stderr)


def register() -> None:
    if render_pre not in bpy.app.handlers.render_pre:
        bpy.app.handlers.render_pre.append(render_pre)


def unregister() -> None:
    if render_pre in bpy.app.handlers.render_pre:
        bpy.app.handlers.render_pre.remove(render_pre)
    SERVICE.stop()
