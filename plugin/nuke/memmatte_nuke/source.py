"""Where a MemoryMatte node's plate comes from: the upstream Read's own files when nothing sits
in between (Dots aside), otherwise the node's input rendered to a float EXR sequence.

A rendered frame whose bytes equal the file already there is not replaced, so its size and
time stay and the cache key of every matte made from it still matches: frames are reused by
cache key only, and an unchanged input keeps its keys.
"""
from __future__ import annotations

import filecmp
import os
import re
import shutil
from dataclasses import dataclass

import nuke

from . import scriptcolour

READABLE = (".exr", ".dpx", ".tif", ".tiff", ".png", ".jpg", ".jpeg", ".mov", ".mp4")
WRITER = "MM_source"  # the internal Write that renders the input
_HASHES = re.compile(r"#+")


@dataclass(frozen=True)
class Source:
    pattern: str  # for the worker: plate.####.exr or plate.%04d.exr
    colorspace: str  # the files' colour space
    rendered: bool  # True: the node's input rendered by the internal Write


def upstream_read(node: nuke.Node) -> nuke.Node | None:
    """The Read feeding ``node`` with nothing but Dots in between, if it can be read as is."""
    up = node.input(0)
    while up is not None and up.Class() == "Dot":
        up = up.input(0)
    if up is None or up.Class() != "Read":
        return None
    path = str(up["file"].value())
    if not path or not path.lower().endswith(READABLE):
        return None
    frame = up.knob("frame")  # a time remap (frame expression) changes which file is which
    if frame is not None and str(frame.value()).strip():
        return None
    if up.knob("proxy") is not None and nuke.root().proxy():
        return None
    return up


def read_colorspace(read: nuke.Node) -> str:
    raw = read.knob("raw")
    if raw is not None and bool(raw.value()):
        return scriptcolour.working_space()  # raw data: taken as it is
    return scriptcolour.plain_name(str(read["colorspace"].value()))


def frame_path(pattern: str, frame: int) -> str:
    return _HASHES.sub(lambda m: f"{frame:0{len(m.group(0))}d}", pattern, count=1)


def render_input(group: nuke.Node, folder: str, first: int, last: int) -> Source:
    """Render the group's input (main thread: ``nuke.execute``) to float EXRs in ``folder``;
    frames whose bytes did not change keep their files."""
    final = os.path.join(folder, "src.####.exr")
    staging = os.path.join(folder, ".staging")
    os.makedirs(staging, exist_ok=True)
    staged = os.path.join(staging, "src.####.exr")
    writer = _writer(group)
    writer["file"].setValue(staged.replace(os.sep, "/"))
    writer["disable"].setValue(False)
    try:
        nuke.execute(writer, first, last)
    finally:
        writer["disable"].setValue(True)  # a script render never runs it
    for frame in range(first, last + 1):
        new, old = frame_path(staged, frame), frame_path(final, frame)
        if not os.path.exists(new):
            raise OSError(f"the input was not rendered for frame {frame}: {new}")
        if os.path.exists(old) and filecmp.cmp(new, old, shallow=False):
            os.remove(new)
        else:
            os.replace(new, old)
    shutil.rmtree(staging, ignore_errors=True)
    return Source(final, scriptcolour.working_space(), rendered=True)


def _writer(group: nuke.Node) -> nuke.Node:
    assert isinstance(group, nuke.Group)
    writer = group.node(WRITER)
    if writer is None:
        with group:
            writer = nuke.nodes.Write(name=WRITER)
            inp = group.node("Input1")
            writer.setInput(0, inp)
    writer["file_type"].setValue("exr")
    writer["datatype"].setValue("32 bit float")
    writer["channels"].setValue("rgb")
    writer["raw"].setValue(True)  # the working space's values, untouched
    writer["metadata"].setValue("no metadata")  # no time stamps: same pixels, same bytes
    writer["create_directories"].setValue(True)
    return writer
