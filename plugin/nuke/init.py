"""memmatte for Nuke: plugin paths only (runs in terminal mode and on render farms too).

Install: copy this folder to ~/.nuke/memmatte with ``python plugin/nuke/install.py`` (it
vendors memmatte.protocol next to it) and add ``nuke.pluginAddPath("memmatte")`` to
~/.nuke/init.py. Nothing here imports Qt, torch or numpy.
"""
import os
import sys

import nuke

_HERE = os.path.dirname(os.path.abspath(__file__))
nuke.pluginAddPath(_HERE)  # memmatte_nuke (the package), menu.py
nuke.pluginAddPath(os.path.join(_HERE, "cattery"))  # MemoryMatteCattery.gizmo

# memmatte.protocol, standard library only: vendored by install.py, or a source checkout's
# core/ (plugin/nuke/../../core).
for _path in (os.path.join(_HERE, "vendor"), os.path.join(_HERE, "..", "..", "core")):
    if os.path.isdir(os.path.join(_path, "memmatte", "protocol")):
        _path = os.path.normpath(_path)
        if _path not in sys.path:
            sys.path.append(_path)
        break
