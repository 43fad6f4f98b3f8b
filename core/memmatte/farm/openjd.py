"""A shot as an Open Job Description job bundle: ``template.yaml`` + ``parameter_values.yaml``.

The bundle is plain OpenJD 2023-09 (no extensions), so AWS Deadline Cloud
(``deadline bundle submit``), ``openjd run`` and any other OpenJD runtime take it as is.

- Step ``Matte``: one task per chunk. The task parameter ``Frames`` lists the chunks as
  ``--frames`` values ("1001-1004", ...) cut when the bundle is written, and each task runs
  ``memmatte render --frames <chunk> --resume --log <LogDir>/chunk-<chunk>.jsonl``.
- Step ``ContactSheet`` depends on ``Matte`` and writes the shot's contact sheet from the
  written frames.
- Job parameters: ``Python`` (the runtime's interpreter on the worker), ``Backend``,
  ``Device``, ``Weights`` (when the shot names a weights file; otherwise each worker uses the
  weights shipped in its install, whose id every output records), and the folders as PATH
  parameters (``PlateDir``, ``OutputDir``, ``AlphaDir``, ``LogDir``, ``SheetFile``,
  ``OcioConfig``) so a farm's path mapping rewrites them per worker OS. The file names
  (``plate.####.exr``) stay literal in the commands.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .. import __version__
from ..atomic import atomic_path
from .chunks import FarmError, frames_text, shot_frames, split_frames
from .render_args import ChunkValues, render_command, sheet_command
from .shots import Shot

SPEC = "jobtemplate-2023-09"
RENDER_STEP, SHEET_STEP, CHUNK_PARAM = "Matte", "ContactSheet", "Frames"


def _path_param(name: str, kind: str, flow: str, description: str) -> dict[str, Any]:
    return {"name": name, "type": "PATH", "objectType": kind, "dataFlow": flow,
            "description": description}


def _split(path: str) -> tuple[str, str]:
    folder, name = os.path.split(path)
    return folder or ".", name


def sheet_path(shot: Shot) -> str:
    """Where the contact sheet goes: the shot's ``preview``, else beside its frames."""
    if shot.settings.preview:
        return shot.settings.preview
    return os.path.join(_split(shot.settings.output)[0], f"{shot.name}_contact_sheet.png")


def job_template(shot: Shot, chunks: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The template and the values of its parameters for this shot."""
    s = shot.settings
    plate_dir, plate_name = _split(s.input)
    out_dir, out_name = _split(s.output)
    params: list[dict[str, Any]] = [
        {"name": "Python", "type": "STRING", "minLength": 1,
         "description": "the Python on each worker that has memmatte and its runtime "
                        "installed (a path, or a name on PATH)"},
        {"name": "Backend", "type": "STRING", "allowedValues": ["torch", "onnx"],
         "default": s.backend, "description": "runtime: torch, or onnx (ONNX Runtime)"},
        {"name": "Device", "type": "STRING", "minLength": 1, "default": s.device,
         "description": "auto, cpu, cuda, cuda:N or mps"},
        _path_param("PlateDir", "DIRECTORY", "IN", f"folder of the plate {plate_name}"),
        _path_param("OutputDir", "DIRECTORY", "OUT", f"folder of the mattes {out_name}"),
        _path_param("LogDir", "DIRECTORY", "OUT", "one JSON-lines progress log per chunk"),
        _path_param("SheetFile", "FILE", "OUT", "the shot's contact sheet (PNG)"),
    ]
    values: dict[str, Any] = {"Backend": s.backend, "Device": s.device,
                              "PlateDir": plate_dir, "OutputDir": out_dir,
                              "LogDir": os.path.join(out_dir, "logs"),
                              "SheetFile": sheet_path(shot)}
    v = ChunkValues(python="{{Param.Python}}", input=f"{{{{Param.PlateDir}}}}/{plate_name}",
                    output=f"{{{{Param.OutputDir}}}}/{out_name}",
                    frames=f"{{{{Task.Param.{CHUNK_PARAM}}}}}",
                    log=f"{{{{Param.LogDir}}}}/chunk-{{{{Task.Param.{CHUNK_PARAM}}}}}.jsonl",
                    backend="{{Param.Backend}}", device="{{Param.Device}}")
    if s.alpha_out:
        alpha_dir, alpha_name = _split(s.alpha_out)
        params.append(_path_param("AlphaDir", "DIRECTORY", "OUT", f"folder of {alpha_name}"))
        values["AlphaDir"] = alpha_dir
        v.alpha_out = f"{{{{Param.AlphaDir}}}}/{alpha_name}"
    if s.weights:
        params.append(_path_param("Weights", "FILE", "IN", "weights file (.safetensors for "
                                  "torch, an exported .onnx for onnx)"))
        values["Weights"] = s.weights
        v.weights = "{{Param.Weights}}"
    if s.ocio and s.ocio.startswith("ocio://"):
        v.ocio = s.ocio  # a built-in config: the same on every worker, nothing to map
    elif s.ocio:
        params.append(_path_param("OcioConfig", "FILE", "IN", "the OCIO config"))
        values["OcioConfig"] = s.ocio
        v.ocio = "{{Param.OcioConfig}}"
    # memmatte render opens its --log before it writes a frame, so the folders must exist
    # first: once per worker session, before its first chunk.
    folders = ["{{Param.LogDir}}", "{{Param.OutputDir}}"] + (
        ["{{Param.AlphaDir}}"] if s.alpha_out else [])
    make_folders = {"name": "Folders", "script": {"actions": {"onEnter": {
        "command": v.python,
        "args": ["-c", "import os, sys; [os.makedirs(d, exist_ok=True) for d in sys.argv[1:]]",
                 *folders]}}}}
    render = {
        "name": RENDER_STEP,
        "stepEnvironments": [make_folders],
        "parameterSpace": {"taskParameterDefinitions": [
            {"name": CHUNK_PARAM, "type": "STRING", "range": chunks}]},
        "script": {"actions": {"onRun": {
            # memmatte render has no clean stop: a cancelled chunk is ended at once, which
            # loses nothing (finished frames are complete files; a rerun resumes).
            "command": v.python, "args": render_command(s, v)[1:],
            "cancelation": {"mode": "TERMINATE"}}}},
    }
    sheet = {
        "name": SHEET_STEP,
        "dependencies": [{"dependsOn": RENDER_STEP}],
        "script": {"actions": {"onRun": {
            "command": v.python, "args": sheet_command(s, v, "{{Param.SheetFile}}")[1:]}}},
    }
    template = {
        "specificationVersion": SPEC,
        "name": f"memmatte {shot.name}",
        "description": f"memmatte {__version__}: {s.input} -> {s.output}, "
                       f"{len(chunks)} chunks",
        "parameterDefinitions": params,
        "steps": [render, sheet],
    }
    return template, values


def check_template(template: dict[str, Any], where: str) -> None:
    """Validate with the OpenJD model itself, so a bundle that a farm would refuse is never
    written."""
    from openjd.model import DecodeValidationError, decode_job_template

    try:
        decode_job_template(template=template)
    except DecodeValidationError as exc:
        raise FarmError(f"{where}: the OpenJD template does not validate: {exc}") from exc


def _write_yaml(path: Path, data: Any) -> None:
    import yaml

    with atomic_path(path) as tmp:
        tmp.write_text(yaml.safe_dump(data, sort_keys=False, width=100), encoding="utf-8")


def write_bundle(shot: Shot, folder: Path, chunk_size: int, python: str) -> Path:
    """``folder/template.yaml`` and ``folder/parameter_values.yaml`` for one shot."""
    frames = shot_frames(shot.settings.to_dict(), f"shot {shot.name}")
    chunks = [frames_text(c) for c in split_frames(frames, chunk_size)]
    template, values = job_template(shot, chunks)
    check_template(template, f"shot {shot.name}")
    values = {"Python": python, **values}
    folder.mkdir(parents=True, exist_ok=True)
    _write_yaml(folder / "template.yaml", template)
    _write_yaml(folder / "parameter_values.yaml",
                {"parameterValues": [{"name": k, "value": v} for k, v in values.items()]})
    return folder


def write_bundles(shots: list[Shot], out: Path, chunk_size: int, python: str) -> list[Path]:
    """One bundle folder per shot: ``out/<shot name>/``."""
    names = [s.name for s in shots]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise FarmError(f"shot names {twice} appear more than once; each shot's bundle is a "
                        "folder named after it, so give the shots distinct names")
    return [write_bundle(s, out / s.name, chunk_size, python) for s in shots]
