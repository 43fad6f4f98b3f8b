"""A faithful fake of the part of Nuke's Python API the MemoryMatte adapter uses (see
../README.md). Test helpers live in ``nuke.fake``."""
from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from typing import Any

STARTLINE = 0x1000
INVISIBLE = 0x400

_MAIN = threading.main_thread()


class ThreadViolation(RuntimeError):
    """A Nuke object touched off the main thread."""


def _guard() -> None:
    if threading.current_thread() is not _MAIN:
        fake.violations.append(threading.current_thread().name)
        raise ThreadViolation("nuke API used off the main thread "
                              f"({threading.current_thread().name}); use executeInMainThread")


# -- knobs ----------------------------------------------------------------------------------
class Knob:
    default: Any = ""

    def __init__(self, name: str, label: str | None = None, value: Any = None) -> None:
        _guard()
        self._name, self._label = name, label if label is not None else name
        self._value: Any = self.default if value is None else value
        self._node: Node | None = None
        self._visible = True
        self._tooltip = ""
        self._flags = 0

    def name(self) -> str:
        _guard()
        return self._name

    def label(self) -> str:
        return self._label

    def value(self) -> Any:
        _guard()
        return self._value

    def getValue(self) -> Any:
        return self.value()

    def setValue(self, value: Any) -> bool:
        _guard()
        self._value = self._coerce(value)
        return True

    def _coerce(self, value: Any) -> Any:
        return value

    def node(self) -> Node:
        assert self._node is not None
        return self._node

    def setVisible(self, visible: bool) -> None:
        _guard()
        self._visible = visible

    def visible(self) -> bool:
        return self._visible

    def setTooltip(self, text: str) -> None:
        self._tooltip = text

    def setFlag(self, flag: int) -> None:
        self._flags |= flag

    def Class(self) -> str:
        return type(self).__name__


class String_Knob(Knob):
    def _coerce(self, value: Any) -> Any:
        return str(value)


class EvalString_Knob(String_Knob):
    def evaluate(self) -> str:
        _guard()
        return os.path.expandvars(os.path.expanduser(str(self._value)))


class File_Knob(EvalString_Knob):
    pass


class Text_Knob(Knob):
    def __init__(self, name: str, label: str | None = None, text: str = "") -> None:
        super().__init__(name, label, text)


class Tab_Knob(Knob):
    pass


class Int_Knob(Knob):
    default = 0

    def _coerce(self, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{self._name}: an int knob takes a number, got {value!r}")
        return int(value)


class Double_Knob(Knob):
    default = 0.0

    def __init__(self, name: str, label: str | None = None) -> None:
        super().__init__(name, label)
        self.range = (0.0, 1.0)

    def _coerce(self, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{self._name}: a float knob takes a number, got {value!r}")
        return float(value)

    def setRange(self, low: float, high: float) -> None:
        self.range = (low, high)


class Boolean_Knob(Knob):
    default = False

    def _coerce(self, value: Any) -> Any:
        return bool(value)


class Enumeration_Knob(Knob):
    def __init__(self, name: str, label: str | None = None,
                 values: list[str] | None = None) -> None:
        self._values = list(values or [])
        super().__init__(name, label, self._values[0] if self._values else "")

    def values(self) -> list[str]:
        _guard()
        return list(self._values)

    def setValues(self, values: list[str]) -> None:
        _guard()
        self._values = list(values)

    def _coerce(self, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return self._values[value]
        if value not in self._values:
            raise ValueError(f"{self._name}: {value!r} is not one of {self._values}")
        return value


class ChannelMask_Knob(Enumeration_Knob):
    pass


class Script_Knob(Knob):
    def __init__(self, name: str, label: str | None = None, command: str = "") -> None:
        super().__init__(name, label, command)
        self.action: Callable[[], None] | None = None  # a built-in button's own action

    def command(self) -> str:
        return str(self._value)

    def execute(self) -> None:
        _guard()
        if self.action is not None:
            self.action()
            return
        fake.this_node.append(self.node())
        try:
            exec(str(self._value), {"nuke": sys.modules[__name__]})
        finally:
            fake.this_node.pop()


class PyScript_Knob(Script_Knob):
    pass


# -- nodes ----------------------------------------------------------------------------------
ENUMS: dict[str, dict[str, list[str]]] = {
    "Write": {
        "file_type": ["", "exr", "dpx", "tiff", "png", "jpeg", "mov"],
        "datatype": ["16 bit half", "32 bit float"],
        "channels": ["rgb", "rgba", "alpha", "all"],
        "compression": ["none", "Zip (1 scanline)", "Zip (16 scanlines)",
                        "PIZ Wavelet (32 scanlines)"],
        "metadata": ["default metadata", "default metadata and exr/*", "no metadata",
                     "all metadata except input/*", "all metadata"],
    },
    "Read": {"on_error": ["error", "black", "checkerboard", "nearest frame"]},
}
KNOBS: dict[str, dict[str, type[Knob]]] = {
    "Read": {"file": File_Knob, "first": Int_Knob, "last": Int_Knob, "origfirst": Int_Knob,
             "origlast": Int_Knob, "colorspace": Enumeration_Knob, "raw": Boolean_Knob,
             "premultiplied": Boolean_Knob, "on_error": Enumeration_Knob,
             "reload": PyScript_Knob, "frame": String_Knob, "proxy": File_Knob},
    "Write": {"file": File_Knob, "file_type": Enumeration_Knob, "datatype": Enumeration_Knob,
              "channels": ChannelMask_Knob, "colorspace": Enumeration_Knob,
              "raw": Boolean_Knob, "compression": Enumeration_Knob,
              "metadata": Enumeration_Knob, "create_directories": Boolean_Knob},
    "Grade": {"multiply": Double_Knob},
    "Input": {"number": Int_Knob},
    "CatFileCreator": {"torchScriptFile": File_Knob, "catFile": File_Knob,
                       "channelsIn": String_Knob, "channelsOut": String_Knob,
                       "modelId": String_Knob, "outputScale": Int_Knob,
                       "createCatFile": PyScript_Knob},
}
GROUPS = ("Group", "Root")


class Node:
    def __init__(self, cls: str, parent: Group | None) -> None:
        _guard()
        self._class = cls
        self._knobs: dict[str, Knob] = {}
        self._inputs: list[Node | None] = []
        self._parent = parent
        self._name = ""
        for name, kind in {"name": String_Knob, "disable": Boolean_Knob, "label": String_Knob,
                           **KNOBS.get(cls, {})}.items():
            if issubclass(kind, Enumeration_Knob):
                values = ENUMS.get(cls, {}).get(name)
                if values is None:  # colour-space knobs: the config's names
                    values = list(fake.colour_spaces)
                self._add(kind(name, name, values))
            else:
                self._add(kind(name))
        if cls == "Read":
            self._knobs["reload"].action = lambda: fake.reloads.append(self.fullName())
        if cls == "CatFileCreator":
            self._knobs["createCatFile"].action = lambda: fake.cats.append(self)
        if parent is not None:
            parent._children.append(self)
            self.setName(f"{cls}1", uncollide=True)

    def _add(self, knob: Knob) -> None:
        knob._node = self
        self._knobs[knob._name] = knob

    def Class(self) -> str:
        _guard()
        return self._class

    def name(self) -> str:
        _guard()
        return self._name

    def fullName(self) -> str:
        _guard()
        parent = self._parent
        if parent is None or parent._class == "Root":
            return self._name
        return f"{parent.fullName()}.{self._name}"

    def setName(self, name: str, uncollide: bool = False, updateExpressions: bool = False
                ) -> None:
        _guard()
        taken = {n._name for n in (self._parent._children if self._parent else []) if n is not self}
        if name in taken:
            if not uncollide:
                raise ValueError(f"a node named {name} exists")
            stem = name.rstrip("0123456789")
            i = 1
            while f"{stem}{i}" in taken:
                i += 1
            name = f"{stem}{i}"
        self._name = name
        self._knobs["name"]._value = name

    def knob(self, name: str) -> Knob | None:
        _guard()
        return self._knobs.get(name)

    def knobs(self) -> dict[str, Knob]:
        _guard()
        return dict(self._knobs)

    def __getitem__(self, name: str) -> Knob:
        _guard()
        if name not in self._knobs:
            raise NameError(f"knob {name} does not exist")
        return self._knobs[name]

    def addKnob(self, knob: Knob) -> None:
        _guard()
        if knob._name in self._knobs:
            raise ValueError(f"{self._name} already has a knob {knob._name}")
        self._add(knob)

    def setInput(self, i: int, node: Node | None) -> bool:
        _guard()
        while len(self._inputs) <= i:
            self._inputs.append(None)
        self._inputs[i] = node
        return True

    def input(self, i: int) -> Node | None:
        _guard()
        return self._inputs[i] if i < len(self._inputs) else None

    def inputs(self) -> int:
        return len(self._inputs)

    def parent(self) -> Group | None:
        return self._parent

    def firstFrame(self) -> int:
        _guard()
        if self._class == "Read":
            return int(self._knobs["first"]._value)
        up = self._upstream()
        return up.firstFrame() if up is not None else root().firstFrame()

    def lastFrame(self) -> int:
        _guard()
        if self._class == "Read":
            return int(self._knobs["last"]._value)
        up = self._upstream()
        return up.lastFrame() if up is not None else root().lastFrame()

    def _upstream(self) -> Node | None:
        if self._class == "Input" and self._parent is not None:
            return self._parent.input(int(self._knobs["number"]._value))
        if isinstance(self, Group) and self._class == "Group":
            out = self.node("Output1")
            return out.input(0) if out is not None else None
        return self.input(0)

    def setXYpos(self, x: int, y: int) -> None:
        pass

    def __repr__(self) -> str:
        return f"<fake {self._class} {self._name}>"


class Group(Node):
    def __init__(self, cls: str = "Group", parent: Group | None = None) -> None:
        self._children: list[Node] = []
        super().__init__(cls, parent)

    def nodes(self) -> list[Node]:
        _guard()
        return list(self._children)

    def node(self, name: str) -> Node | None:
        _guard()
        head, _, rest = name.partition(".")
        for n in self._children:
            if n._name == head:
                if rest:
                    return n.node(rest) if isinstance(n, Group) else None
                return n
        return None

    def begin(self) -> Group:
        _guard()
        fake.context.append(self)
        return self

    def end(self) -> None:
        _guard()
        fake.context.pop()

    def __enter__(self) -> Group:
        return self.begin()

    def __exit__(self, *exc: object) -> None:
        self.end()


class Root(Group):
    def __init__(self) -> None:
        super().__init__("Root", None)
        self._name = "root"
        for knob in (Int_Knob("first_frame"), Int_Knob("last_frame"),
                     Enumeration_Knob("colorManagement", values=["Nuke", "OCIO"]),
                     String_Knob("OCIO_config"), File_Knob("customOCIOConfigPath"),
                     String_Knob("OCIOConfigPath"),
                     Enumeration_Knob("workingSpaceLUT", values=list(fake.colour_spaces)),
                     Boolean_Knob("proxy")):
            self._add(knob)
        self._knobs["name"]._value = ""

    def firstFrame(self) -> int:
        _guard()
        return int(self._knobs["first_frame"]._value)

    def lastFrame(self) -> int:
        _guard()
        return int(self._knobs["last_frame"]._value)

    def proxy(self) -> bool:
        return bool(self._knobs["proxy"]._value)

    def name(self) -> str:
        _guard()
        return str(self._knobs["name"]._value) or "Root"

    def fullName(self) -> str:
        return "root"


def _make(cls: str, **knobs: Any) -> Node:
    parent = fake.context[-1] if fake.context else root()
    node = Group(cls, parent) if cls in GROUPS else Node(cls, parent)
    for key, value in knobs.items():
        if key == "name":
            node.setName(value)
        else:
            node[key].setValue(value)
    return node


class _Nodes:
    def __getattr__(self, cls: str) -> Callable[..., Node]:
        return lambda **knobs: _make(cls, **knobs)


nodes = _Nodes()


def createNode(cls: str, knobs: str = "", inpanel: bool = True) -> Node:
    _guard()
    above = selectedNodes()
    node = _make(cls)
    if above and cls not in ("CatFileCreator",):
        node.setInput(0, above[0])
    return node


def root() -> Root:
    _guard()
    return fake.root


def toNode(name: str) -> Node | None:
    _guard()
    if name == "root":
        return fake.root
    return fake.root.node(name)


def allNodes(filter: str | None = None, group: Group | None = None,
             recurseGroups: bool = False) -> list[Node]:
    _guard()
    found: list[Node] = []

    def walk(g: Group) -> None:
        for n in g._children:
            if filter is None or n._class == filter:
                found.append(n)
            if recurseGroups and isinstance(n, Group):
                walk(n)
    walk(group or (fake.context[-1] if fake.context else fake.root))
    return found


def selectedNodes(filter: str | None = None) -> list[Node]:
    _guard()
    return [n for n in fake.selected if filter is None or n._class == filter]


def thisNode() -> Node:
    _guard()
    return fake.this_node[-1]


def thisGroup() -> Group:
    return fake.context[-1] if fake.context else fake.root


def message(text: str) -> None:
    _guard()
    fake.messages.append(text)


def pluginAddPath(path: str, addToSysPath: bool = True) -> None:
    fake.plugin_paths.append(path)
    if addToSysPath and path not in sys.path:
        sys.path.insert(0, path)


def Layer(name: str, channels: list[str]) -> None:
    _guard()
    fake.layers[name] = list(channels)


class _Colorspaces:
    @staticmethod
    def getColorspaceList(knob: Knob) -> list[str]:
        _guard()
        assert isinstance(knob, Enumeration_Knob)
        return knob.values()


colorspaces = _Colorspaces()


# -- menus ----------------------------------------------------------------------------------
class Menu:
    def __init__(self, name: str) -> None:
        self.name = name
        self.items: dict[str, Any] = {}

    def addMenu(self, name: str, **kw: Any) -> Menu:
        item = self.items.get(name)
        if not isinstance(item, Menu):
            item = self.items[name] = Menu(name)
        return item

    def addCommand(self, name: str, command: Any = None, *args: Any, **kw: Any) -> None:
        self.items[name] = command


def menu(name: str) -> Menu:
    return fake.menus.setdefault(name, Menu(name))


# -- threads and progress -------------------------------------------------------------------
def executeInMainThread(call: Callable[..., Any], args: tuple[Any, ...] = (),
                        kwargs: dict[str, Any] | None = None) -> None:
    """Queued for the event loop, from any thread (``fake.pump`` runs it)."""
    fake.main_queue.put((call, tuple(args), dict(kwargs or {}), None))


def executeInMainThreadWithResult(call: Callable[..., Any], args: tuple[Any, ...] = (),
                                  kwargs: dict[str, Any] | None = None) -> Any:
    if threading.current_thread() is _MAIN:
        return call(*args, **(kwargs or {}))
    box: list[Any] = []
    done = threading.Event()
    fake.main_queue.put((call, tuple(args), dict(kwargs or {}), (box, done)))
    done.wait()
    return box[0]


class ProgressTask:
    """Made for threads (no guard), as in Nuke."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.messages: list[str] = []
        self.progress: list[int] = []
        self.cancelled = False
        fake.tasks.append(self)

    def setMessage(self, text: str) -> None:
        self.messages.append(text)

    def setProgress(self, percent: int) -> None:
        if not 0 <= int(percent) <= 100:
            raise ValueError(f"progress {percent} is not in 0-100")
        self.progress.append(int(percent))

    def isCancelled(self) -> bool:
        return self.cancelled


# -- rendering ------------------------------------------------------------------------------
def execute(node: Node | str, start: int, end: int, incr: int = 1) -> None:
    _guard()
    if isinstance(node, str):
        found = toNode(node)
        assert found is not None, node
        node = found
    if node._class != "Write":
        raise RuntimeError(f"{node._name} cannot be executed")
    if node["disable"].value():
        raise RuntimeError(f"{node.fullName()} is disabled")
    from . import render

    for frame in range(start, end + 1, incr):
        render.write(node, frame)
    fake.executed.append((node.fullName(), start, end))


from . import fake  # noqa: E402  (the helpers need the classes above)

