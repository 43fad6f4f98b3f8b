"""One Qt shim: PySide6 (Nuke 16 and later) or PySide2 (Nuke 13-15).

``$QT_API`` = ``pyside2`` or ``pyside6`` picks one (tests); otherwise PySide6 when it imports.
PySide2 5.13 (the one that installs for Python 3.11) raises TypeError on ``Flag | Flag``:
combine flags with ``flags``, which works on both.
"""
from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PySide6 import QtCore, QtGui, QtWidgets
else:
    def _load() -> tuple[str, Any, Any, Any]:
        wanted = os.environ.get("QT_API", "").lower()
        order = [wanted] if wanted in ("pyside2", "pyside6") else ["pyside6", "pyside2"]
        error: ImportError | None = None
        for name in order:
            package = "PySide6" if name == "pyside6" else "PySide2"
            try:
                return (package, importlib.import_module(f"{package}.QtCore"),
                        importlib.import_module(f"{package}.QtGui"),
                        importlib.import_module(f"{package}.QtWidgets"))
            except ImportError as exc:
                error = exc
        raise ImportError(f"memmatte's panel needs PySide6 or PySide2: {error}")

    BINDING, QtCore, QtGui, QtWidgets = _load()

if TYPE_CHECKING:
    BINDING = "PySide6"

__all__ = ["BINDING", "QtCore", "QtGui", "QtWidgets", "flags"]


def flags(*values: Any) -> Any:
    """``a | b | c`` for Qt flags on both bindings (PySide2 5.13 refuses the operator)."""
    total = int(getattr(values[0], "value", values[0]))
    for v in values[1:]:
        total |= int(getattr(v, "value", v))
    return type(values[0])(total)
