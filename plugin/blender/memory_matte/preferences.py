"""The extension's preferences: which Python runs the memmatte worker."""
from __future__ import annotations

from typing import Any

import bpy

from . import ui
from .settings import PACKAGE


class MemoryMattePreferences(bpy.types.AddonPreferences):
    bl_idname = PACKAGE

    python: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Runtime Python", subtype="FILE_PATH",
        description="The python of a venv with memmatte installed (memmatte[onnx] or "
                    "memmatte[torch]); empty: $MEMMATTE_PYTHON")
    runtime_report: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Runtime Report", default="", options={"HIDDEN"})

    def draw(self, context: Any) -> None:
        ui.draw_preferences(self, context, self.layout)
