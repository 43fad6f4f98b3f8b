"""A shot as an OpenCue job, built and serialised with pyoutline as ``cuerun`` submits it.

The outline has a layer ``matte`` over the shot's frames with the chunk size, so Cuebot cuts
the same chunks as the OpenJD bundle, and a one-frame layer ``sheet`` that waits for all of
it. On a render node RQD runs ``pycuerun <session>/outline.yaml -e <first frame>-matte``;
pyoutline loads the outline, finds the chunk that starts at that frame and calls
:meth:`RenderChunks._execute`, which runs ``memmatte render --frames <chunk> --resume``.
OpenCue has no path mapping: the paths are the ones the nodes see.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..atomic import atomic_path
from .chunks import FarmError, frames_text, shot_frames, split_frames
from .openjd import sheet_path
from .render_args import ChunkValues, render_command, sheet_command
from .shots import Shot

try:
    import outline
    from outline.cuerun import OutlineLauncher
    from outline.layer import Layer
    from outline.modules.shell import ShellCommand
except ImportError as exc:  # pragma: no cover - named in the error below
    raise FarmError("memmatte farm opencue needs pyoutline: pip install 'memmatte[farm]' "
                    f"(or opencue-pyoutline) ({exc})") from exc

RENDER_LAYER, SHEET_LAYER = "matte", "sheet"
FRAMES = "{frames}"  # replaced by each chunk's --frames value on the node


class RenderChunks(Layer):
    """A layer whose every OpenCue frame renders one chunk with a single ``memmatte render``
    (a ``Shell`` layer would run its command once per frame of the chunk)."""

    def __init__(self, name: str, **args: object) -> None:
        super().__init__(name, **args)
        self.require_arg("render")
        self.require_arg("folders")

    def _execute(self, frames) -> None:  # frames: FileSequence.FrameSet, this chunk's frames
        chunk = frames_text(sorted(int(f) for f in frames))
        for folder in self.get_arg("folders"):  # render opens its --log before any frame
            os.makedirs(folder, exist_ok=True)
        # A failed render raises ShellCommandFailureException carrying its exit status, which
        # pycuerun exits with: 2 (a bad setting, file or frame) stays 2 for the wrangler.
        self.system([a.replace(FRAMES, chunk) for a in self.get_arg("render")])


def build_outline(shot: Shot, chunk_size: int, python: str, show: str | None = None,
                  log_dir: str | None = None) -> outline.Outline:
    s = shot.settings
    frames = shot_frames(s.to_dict(), f"shot {shot.name}")
    split_frames(frames, chunk_size)  # refuses a bad chunk size with the option's name
    logs = log_dir or os.path.join(os.path.dirname(s.output), "logs")
    v = ChunkValues(python=python, input=s.input, output=s.output, frames=FRAMES,
                    log=os.path.join(logs, f"chunk-{FRAMES}.jsonl"), backend=s.backend,
                    device=s.device, alpha_out=s.alpha_out, weights=s.weights, ocio=s.ocio)
    ol = outline.Outline(f"memmatte_{shot.name}", shot=shot.name,
                         show=show or outline.config.get("outline", "default_show"))
    folders = [logs, os.path.dirname(s.output)] + (
        [os.path.dirname(s.alpha_out)] if s.alpha_out else [])
    matte = RenderChunks(RENDER_LAYER, render=render_command(s, v), folders=folders,
                         range=frames_text(frames), chunk=chunk_size)
    ol.add_layer(matte)
    sheet = ShellCommand(SHEET_LAYER, command=sheet_command(s, v, sheet_path(shot)))
    sheet.depend_all(matte)
    ol.add_layer(sheet)
    return ol


def serialize(ol: outline.Outline, session_dir: Path) -> tuple[str, Path]:
    """The job spec XML that ``cuerun`` sends to Cuebot, and the outline file the nodes load
    (pyoutline serialises it into a session folder under ``session_dir``)."""
    outline.config.set("outline", "session_dir", str(session_dir))
    launcher = OutlineLauncher(ol, backend="cue")
    spec = launcher.serialize(use_pycuerun=True)
    return spec, Path(ol.get_path())


def write_outlines(shots: list[Shot], out: Path, chunk_size: int, python: str,
                   show: str | None = None) -> list[tuple[Path, Path]]:
    """``out/<shot>.cuejob.xml`` per shot, sessions under ``out/sessions`` (which the render
    nodes must see: put ``out`` on shared storage)."""
    written = []
    out.mkdir(parents=True, exist_ok=True)
    for shot in shots:
        spec, outline_file = serialize(build_outline(shot, chunk_size, python, show),
                                       out.resolve() / "sessions")
        path = out / f"{shot.name}.cuejob.xml"
        with atomic_path(path) as tmp:
            tmp.write_text(spec, encoding="utf-8")
        written.append((path, outline_file))
    return written
