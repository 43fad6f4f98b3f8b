"""memmatte for Nuke: the UI (GUI sessions only): a Nodes menu entry and the jobs panel."""
import memmatte_nuke.menus
import nuke

memmatte_nuke.menus.install(nuke)
