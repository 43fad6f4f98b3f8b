"""``memmatte farm``: openjd (job bundles), opencue (outlines), sheet (a job's last step).

``cli.build_parser`` calls :func:`add_farm_parser`; everything else about the farm commands
lives here.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..protocol.errors import MemmatteError

SHOT_HELP = ("a queue file (SHOTS.toml, as memmatte queue reads it); or, for one shot, -- "
             "and the arguments of memmatte render: -- plate.####.exr -o matte.####.exr ...")


def _shots(args: argparse.Namespace):  # -> list[Shot]
    from .shots import shot_from_render_args, shots_from_queue

    # argparse puts everything after "--" into this list, render options included.
    if len(args.shots) == 1 and args.shots[0].endswith(".toml"):
        return shots_from_queue(Path(args.shots[0]))
    return [shot_from_render_args(args.shots, args.name)]


def cmd_openjd(args: argparse.Namespace) -> int:
    from .openjd import write_bundles

    for path in write_bundles(_shots(args), args.out, args.chunk_size, args.python):
        print(f"wrote {path}/template.yaml and parameter_values.yaml")
    return 0


def cmd_opencue(args: argparse.Namespace) -> int:
    from .opencue import write_outlines

    for spec, outline_file in write_outlines(_shots(args), args.out, args.chunk_size,
                                             args.python, args.show):
        print(f"wrote {spec} (outline for the nodes: {outline_file})")
    return 0


def cmd_sheet(args: argparse.Namespace) -> int:
    from .sheet import write_shot_sheet

    path = write_shot_sheet(args.plate, args.output, args.sheet, args.frames, args.ocio,
                            args.layer, args.rows)
    print(f"wrote {path}")
    return 0


def _run(func):  # -> a command function that reports known errors as exit code 2
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except MemmatteError as exc:
            print(f"memmatte farm {args.farm_command}: error: {exc}", file=sys.stderr)
            return 2
    return run


def _add_job_options(p: argparse.ArgumentParser, out_help: str) -> None:
    p.add_argument("shots", nargs="*", metavar="SHOTS.toml | -- RENDER ARGS", help=SHOT_HELP)
    p.add_argument("-o", "--out", type=Path, required=True, help=out_help)
    p.add_argument("--chunk-size", type=int, default=10,
                   help="frames per farm task (default 10); any size gives the same files")
    p.add_argument("--python", default="python3",
                   help="the Python that has memmatte on the render nodes (default python3)")
    p.add_argument("--name", help="job name for a shot given as render arguments (default: "
                   "from the output file name)")


def add_farm_parser(sub) -> None:  # sub: argparse's subparsers action of the memmatte command
    farm = sub.add_parser("farm", help="render farm jobs: OpenJD bundles, OpenCue outlines")
    farm_sub = farm.add_subparsers(dest="farm_command", required=True)

    p = farm_sub.add_parser("openjd", help="an Open Job Description job bundle per shot",
                            description="Write BUNDLE/<shot>/template.yaml and "
                            "parameter_values.yaml: a chunked memmatte render and a contact "
                            "sheet, for deadline bundle submit or openjd run.")
    _add_job_options(p, "folder of the bundles, one subfolder per shot")
    p.set_defaults(func=_run(cmd_openjd))

    p = farm_sub.add_parser("opencue", help="an OpenCue job (pyoutline) per shot",
                            description="Write OUT/<shot>.cuejob.xml (the spec cuerun submits) "
                            "and the outline sessions the render nodes run under OUT/sessions.")
    _add_job_options(p, "folder of the job specs and outline sessions (shared storage)")
    p.add_argument("--show", help="OpenCue show (default: pyoutline's default_show)")
    p.set_defaults(func=_run(cmd_opencue))

    p = farm_sub.add_parser("sheet", help="a shot's contact sheet from its written frames")
    p.add_argument("plate", help="the shot's plate pattern (as given to render)")
    p.add_argument("output", help="the shot's output pattern")
    p.add_argument("sheet", type=Path, help="the PNG to write")
    p.add_argument("--frames", help="the shot's frames (default: all of the plate)")
    p.add_argument("--ocio", help="the OCIO config the render used")
    p.add_argument("--layer", help="EXR layer or part holding the plate")
    p.add_argument("--rows", type=int, default=8, help="frames on the sheet (default 8)")
    p.set_defaults(func=_run(cmd_sheet))
