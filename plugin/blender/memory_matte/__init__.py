"""Memory Matte for Blender's compositor (a Blender 4.2+ extension).

A "Memory Matte" node gives a person's ``Alpha`` and premultiplied ``Foreground`` from an
Image or Movie Clip, computed by memmatte's worker in a Python of its own (the runtime, set
in the preferences); this extension imports only ``memmatte.protocol`` (vendored), never
torch. Layout: ``compat`` (Blender versions), ``source``/``settings``/``service``/``results``
(logic), ``node``/``operators``/``handlers``/``preferences`` (Blender types), ``ui`` (drawing).
"""
from __future__ import annotations

import bpy

from . import compat, handlers, node, operators, preferences, ui

CLASSES = (preferences.MemoryMattePreferences, node.MemoryMatteNode, *operators.CLASSES)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    menu = compat.add_menu()
    if menu is not None:
        menu.append(ui.draw_add_menu)
    handlers.register()


def unregister() -> None:
    handlers.unregister()
    menu = compat.add_menu()
    if menu is not None:
        menu.remove(ui.draw_add_menu)
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
