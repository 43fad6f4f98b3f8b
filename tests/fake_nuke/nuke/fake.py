"""The fake's state and the test's levers: reset a script, pump the event loop."""
from __future__ import annotations

import queue
import time
from collections.abc import Callable
from typing import Any

main_queue: queue.Queue[tuple[Any, ...]] = queue.Queue()
violations: list[str] = []
messages: list[str] = []
plugin_paths: list[str] = []
reloads: list[str] = []
executed: list[tuple[str, int, int]] = []
tasks: list[Any] = []
cats: list[Any] = []
layers: dict[str, list[str]] = {}
menus: dict[str, Any] = {}
selected: list[Any] = []
context: list[Any] = []
this_node: list[Any] = []
colour_spaces: list[str] = []
config: str = ""
root: Any = None


def new_script(config_uri: str = "ocio://default", working: str = "ACEScg",
               first: int = 1001, last: int = 1010, spaces: list[str] | None = None) -> Any:
    """A fresh script whose colour management is OCIO with ``config_uri`` (its colour
    spaces read with PyOpenColorIO, unless ``spaces`` names them)."""
    from . import Root

    global root, config
    if spaces is None:
        import PyOpenColorIO as ocio

        cfg = ocio.Config.CreateFromFile(config_uri)
        spaces = [cs.getName() for cs in cfg.getColorSpaces()]
    colour_spaces[:] = spaces
    config = config_uri
    for store in (violations, messages, reloads, executed, tasks, cats, selected, context,
                  this_node):
        store.clear()
    layers.clear()
    menus.clear()
    drain()
    root = Root()
    root["first_frame"].setValue(first)
    root["last_frame"].setValue(last)
    root["colorManagement"].setValue("OCIO")
    root["OCIO_config"].setValue("custom")
    root["customOCIOConfigPath"].setValue(config_uri)
    root["OCIOConfigPath"].setValue(config_uri)
    root["workingSpaceLUT"].setValue(working)
    return root


def pump(until: Callable[[], bool] = lambda: False, timeout: float = 120.0) -> int:
    """Run queued main-thread calls (Nuke's event loop) until ``until()`` or the timeout;
    returns how many ran. Raises TimeoutError when ``until`` never came true."""
    ran = 0
    deadline = time.monotonic() + timeout
    while True:
        try:
            call, args, kwargs, reply = main_queue.get(timeout=0.05)
        except queue.Empty:
            if until():
                return ran
            if time.monotonic() > deadline:
                raise TimeoutError("the condition did not come true in time") from None
            continue
        result = call(*args, **kwargs)
        ran += 1
        if reply is not None:
            reply[0].append(result)
            reply[1].set()
        if main_queue.empty() and until():
            return ran


def drain() -> None:
    while not main_queue.empty():
        main_queue.get_nowait()
