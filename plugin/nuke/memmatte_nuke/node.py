"""The MemoryMatte node: a Group whose knobs make a render request, whose Process drives the
warm worker, and whose output is an internal Read of the computed EXRs.

    Input1 -> [MM_source Write, disabled: renders the input when it is not a plain Read]
    MM_result Read (premultiplied foreground + alpha, overscan kept) -> Output1

Process runs in the main thread (a knob's button): it reads the knobs, renders the input if
it must (``nuke.execute``), and starts a ``jobs.Job``. The job's thread reports back through
``nuke.executeInMainThread``; ``show`` (main thread) writes the status and, when the job is
over, points the Read at the frames and reloads it. Frames are reused by the worker only when
their cache key matches.
"""
from __future__ import annotations

import os
import re
import tempfile
from typing import Any

import nuke
from memmatte.protocol import BACKENDS, KEYS, RenderSettings, SettingsError, errors, parse_frames
from memmatte.protocol.settings import flag_of

from . import jobs, scriptcolour, source

CLASS_MARK = "memmatte_version"  # the knob that tells a MemoryMatte group
VERSION = "1"
RESULT, INPUT, OUTPUT = "MM_result", "Input1", "Output1"
DEVICES = ("auto", "cpu", "cuda", "mps")
PROCESS = "import memmatte_nuke.node as mm; mm.process(nuke.thisNode())"
CANCEL = "import memmatte_nuke.node as mm; mm.cancel(nuke.thisNode())"
# The knob that holds each render setting (for errors that name an option).
KNOB_OF = {"weights": "weights", "backend": "backend", "device": "device",
           "colorspace": "colorspace", "downsample_ratio": "downsample_ratio",
           "frames": "frame_range", "shot_start": "shot_start", "output": "cache_folder",
           "python": "python", "input": "input"}


def is_memory_matte(node: nuke.Node) -> bool:
    return node.knob(CLASS_MARK) is not None


def all_nodes() -> list[nuke.Node]:
    """The script's MemoryMatte nodes, groups included."""
    return [n for n in nuke.allNodes("Group", nuke.root(), recurseGroups=True)
            if is_memory_matte(n)]


# -- building --------------------------------------------------------------------------------
def create(selected: bool = True) -> nuke.Node:
    """A MemoryMatte node, connected to the selected node (the menu's command)."""
    above = nuke.selectedNodes() if selected else []
    group = nuke.nodes.Group()
    group.setName("MemoryMatte1", uncollide=True)
    build(group)
    if above:
        group.setInput(0, above[0])
        first, last = above[0].firstFrame(), above[0].lastFrame()
    else:
        first, last = nuke.root().firstFrame(), nuke.root().lastFrame()
    group["frame_range"].setValue(f"{first}-{last}")
    group["shot_start"].setValue(first)
    return group


def build(group: nuke.Group) -> None:
    """The knobs and the inside of a MemoryMatte group."""
    mark = nuke.String_Knob(CLASS_MARK, "")
    mark.setValue(VERSION)
    mark.setVisible(False)
    group.addKnob(nuke.Tab_Knob("memmatte", "MemoryMatte"))
    group.addKnob(mark)
    weights = nuke.File_Knob("weights", "weights")
    weights.setTooltip("weights file (.safetensors for torch, .onnx for onnx); empty: the "
                       "weights shipped with memmatte")
    group.addKnob(weights)
    group.addKnob(nuke.Enumeration_Knob("backend", "backend", list(BACKENDS)))
    group.addKnob(nuke.Enumeration_Knob("device", "device", list(DEVICES)))
    colour = nuke.Enumeration_Knob("colorspace", "input colour space",
                                   [scriptcolour.DEFAULT_CHOICE, *scriptcolour.colour_spaces()])
    colour.setTooltip("the plate's colour space; default: the upstream Read's, or the "
                      "working space when the input is rendered")
    group.addKnob(colour)
    ratio = nuke.Double_Knob("downsample_ratio", "downsample ratio")
    ratio.setRange(0.0, 1.0)
    ratio.setTooltip("network resolution / plate resolution; 0: auto (long side ~512 px)")
    group.addKnob(ratio)
    group.addKnob(nuke.String_Knob("frame_range", "frame range"))
    group.addKnob(nuke.Int_Knob("shot_start", "shot start"))
    group["shot_start"].setTooltip("the shot's first frame: earlier frames are never read")
    cache = nuke.File_Knob("cache_folder", "cache folder")
    cache.setTooltip("where the mattes (and a rendered input) are written; empty: next to "
                     "the script, or the temporary folder for an unsaved script")
    group.addKnob(cache)
    python = nuke.File_Knob("python", "runtime python")
    python.setTooltip(f"the Python with memmatte and torch; empty: ${jobs.ENV_PYTHON}")
    group.addKnob(python)
    group.addKnob(nuke.PyScript_Knob("process", "Process", PROCESS))
    group.addKnob(nuke.PyScript_Knob("cancel", "Cancel", CANCEL))
    group.addKnob(nuke.Text_Knob("status", "status", "not processed"))
    with group:
        inp = nuke.nodes.Input(name=INPUT)
        read = nuke.nodes.Read(name=RESULT)
        read["on_error"].setValue("black")
        out = nuke.nodes.Output(name=OUTPUT)
        out.setInput(0, read)
        del inp


# -- Process ---------------------------------------------------------------------------------
def _text(node: nuke.Node, name: str) -> str:
    knob = node[name]
    if isinstance(knob, nuke.File_Knob):
        return str(knob.evaluate() or "")
    return str(knob.value())


def cache_folder(node: nuke.Node) -> str:
    folder = _text(node, "cache_folder").strip()
    if not folder:
        script = nuke.root().name()
        base = (os.path.dirname(script) if script and script != "Root"
                else tempfile.gettempdir())
        folder = os.path.join(base, "memmatte_cache")
    return os.path.join(os.path.abspath(folder), node.fullName().replace(".", "_"))


def request(node: nuke.Node) -> tuple[dict[str, Any], source.Source, list[int]]:
    """The render settings the knobs say (validated), the plate, and the frames."""
    up = node.input(0)
    if up is None:
        raise SettingsError("connect the node's input to a plate", option="input")
    text = _text(node, "frame_range").strip() or f"{up.firstFrame()}-{up.lastFrame()}"
    try:
        frames = parse_frames(text, SettingsError)
    except SettingsError as exc:
        raise SettingsError(exc.detail, option="frames") from None
    shot_start = int(node["shot_start"].value())
    if frames[0] < shot_start:
        raise SettingsError(f"frame range {text} starts before the shot start {shot_start}",
                            option="shot_start")
    folder = cache_folder(node)
    read = source.upstream_read(node)
    if read is not None:
        path = os.path.abspath(os.path.expanduser(str(read["file"].value())))
        plate = source.Source(path, source.read_colorspace(read), False)
    else:
        # Two frames of pre-roll: frame t reads t-1 and t-2 (never before the shot start).
        first = max(shot_start, frames[0] - 2)
        plate = source.render_input(node, os.path.join(folder, "source"), first, frames[-1])
    chosen = str(node["colorspace"].value())
    colorspace = plate.colorspace if chosen == scriptcolour.DEFAULT_CHOICE else chosen
    ratio = float(node["downsample_ratio"].value())
    weights = _text(node, "weights").strip()
    settings = RenderSettings(
        input=plate.pattern, output=os.path.join(folder, "matte", "matte.####.exr"),
        frames=text, colorspace=colorspace, ocio=scriptcolour.ocio_config(),
        weights=weights or None, backend=str(node["backend"].value()),
        device=str(node["device"].value()), downsample_ratio=ratio if ratio > 0 else None,
        shot_start=shot_start, resume=True)
    return settings.to_dict(), plate, frames


def process(node: nuke.Node) -> jobs.Job | None:
    """The Process button (main thread)."""
    name = node.fullName()
    running = jobs.JOBS.get(name)
    if running is not None and not running.progress.finished:
        _status(node, "already processing: press Cancel first")
        return None
    try:
        settings, plate, frames = request(node)
        python = jobs.runtime_python(_text(node, "python"))
    except (errors.MemmatteError, OSError, RuntimeError) as exc:
        _fail(node, exc)
        return None
    node["status"].setValue("starting the worker")
    pending = Pending(plate, frames[0], frames[-1])
    PENDING[name] = pending
    job = jobs.Job(name, python, settings, show)
    jobs.JOBS[name] = job
    return job


def cancel(node: nuke.Node) -> None:
    """The Cancel button: the job stops after the frame in hand."""
    job = jobs.JOBS.get(node.fullName())
    if job is None or job.progress.finished:
        _status(node, "nothing to cancel")
        return
    job.cancel()
    _status(node, "cancelling after the frame in hand")


class Pending:
    """What ``show`` needs to point the Read at the result, kept from Process."""

    def __init__(self, plate: source.Source, first: int, last: int) -> None:
        self.plate, self.first, self.last = plate, first, last


PENDING: dict[str, Pending] = {}


def show(node_name: str, progress: jobs.Progress) -> None:
    """A job's snapshot on its node (main thread, through executeInMainThread)."""
    node = nuke.toNode(node_name)
    if node is None:  # deleted while it ran
        return
    _status(node, progress.line())
    if progress.finished and progress.state != "failed":
        load_result(node)
    elif progress.state == "failed":
        option = failed_option(progress.error)
        if option in KNOB_OF:
            _status(node, f"{progress.line()} (knob: {KNOB_OF[option]})")


def failed_option(error: dict[str, Any]) -> str | None:
    """The setting an error is about: its ``option``, or the first option flag its message
    names (some runtime errors say "for --colorspace" without the field)."""
    option = error.get("option")
    if isinstance(option, str):
        return option
    message = str(error.get("message", ""))
    for key in KEYS:
        if re.search(re.escape(flag_of(key)) + r"\b", message):
            return key
    return None


def load_result(node: nuke.Node) -> None:
    """Point the internal Read at the mattes and reload it. The foreground is in the plate's
    colour space: the Read brings it to the working space (unpremultiplied first, as colour
    conversion of a premultiplied image must), alpha untouched."""
    pending = PENDING.get(node.fullName())
    if pending is None:
        return
    assert isinstance(node, nuke.Group)
    read = node.node(RESULT)
    assert read is not None
    pattern = os.path.join(cache_folder(node), "matte", "matte.####.exr")
    read["file"].setValue(pattern.replace(os.sep, "/"))
    for knob in ("first", "origfirst"):
        read[knob].setValue(pending.first)
    for knob in ("last", "origlast"):
        read[knob].setValue(pending.last)
    chosen = str(node["colorspace"].value())
    space = pending.plate.colorspace if chosen == scriptcolour.DEFAULT_CHOICE else chosen
    same = space == scriptcolour.working_space()
    read["raw"].setValue(same)
    if not same:
        read["colorspace"].setValue(space)
        read["premultiplied"].setValue(True)
    reload = read["reload"]
    assert isinstance(reload, nuke.Script_Knob)
    reload.execute()


def _status(node: nuke.Node, text: str) -> None:
    node["status"].setValue(text)


def _fail(node: nuke.Node, exc: BaseException) -> None:
    option = getattr(exc, "option", None)
    where = f" (knob: {KNOB_OF[option]})" if option in KNOB_OF else ""
    _status(node, f"failed: {exc}{where}")
