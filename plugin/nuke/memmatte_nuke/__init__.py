"""memmatte's Nuke adapter: the MemoryMatte node, its worker jobs, the Qt panel, Cattery help.

Imports ``memmatte.protocol`` only (standard library): the network runs in a worker process
in the runtime's own Python (``$MEMMATTE_PYTHON`` or the node's *runtime python* knob).
"""
__all__ = ["cattery", "jobs", "menus", "node", "panel", "qt", "scriptcolour", "source"]
