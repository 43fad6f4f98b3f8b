"""What menu.py installs: a Nodes menu entry and the MemoryMatte jobs panel."""
from __future__ import annotations

from types import ModuleType

PANEL_ID = "uk.memmatte.jobs"


def install(nuke: ModuleType) -> None:
    nodes = nuke.menu("Nodes")
    keyer = nodes.addMenu("Keyer")
    keyer.addCommand("MemoryMatte", "import memmatte_nuke.node as mm; mm.create()")
    window = nuke.menu("Nuke").addMenu("Window")
    window.addCommand("MemoryMatte jobs",
                      "import memmatte_nuke.panel as p; p.show_panel()")
    try:  # a dockable pane in Nuke's Windows > Custom menu (nukescripts has no stubs)
        from nukescripts import panels  # type: ignore[import-not-found]
    except ImportError:
        return
    panels.registerWidgetAsPanel("memmatte_nuke.panel.JobsPanel", "MemoryMatte jobs",
                                 PANEL_ID)
