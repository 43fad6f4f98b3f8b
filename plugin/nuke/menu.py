"""memmatte for Nuke: the UI (GUI sessions only): a Nodes menu entry and the jobs panel."""
import nuke

import memmatte_nuke.menus

memmatte_nuke.menus.install(nuke)
