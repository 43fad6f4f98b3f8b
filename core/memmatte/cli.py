"""The ``memmatte`` command: render, queue, eval, bench, demo, convert, info."""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

from . import __version__
from .protocol.errors import BAD_INPUT_CODES, MemmatteError, from_os_error
from .protocol.settings import RenderSettings, add_options, from_args


def add_model_options(p: argparse.ArgumentParser) -> None:
    add_options(p, ("weights", "downsample_ratio", "memory", "backend"))


def load_matter(args: argparse.Namespace):  # -> PushMatter
    from .engine.factory import make_backend
    from .engine.push import PushMatter

    weights = str(args.weights) if args.weights else None
    backend = make_backend(args.backend, weights, getattr(args, "device", "auto"), args.memory)
    return PushMatter(backend, args.downsample_ratio)


def render_settings(args: argparse.Namespace) -> RenderSettings:
    return from_args(args)


def cmd_render(args: argparse.Namespace) -> int:
    from .pipeline import Renderer
    from .commands.progress_bar import ProgressBar

    renderer = Renderer(render_settings(args))
    try:
        if args.log:  # appended to: never an input frame or an output
            renderer.refuse_overwrites([("log", args.log)])
        if args.dry_run:
            print("\n".join(renderer.plan_lines()))
            return 0
        bar = ProgressBar()
        log = open(args.log, "a", encoding="utf-8") if args.log else None

        def show(p) -> None:  # Progress
            if log is not None:
                log.write(json.dumps({"time": round(time.time(), 3), **p.to_dict()}) + "\n")
                log.flush()
            if p.event == "frame" and not args.quiet:
                bar.update(p.done, p.total, p.fps, p.eta_s)

        try:
            result = renderer.run(show)
        finally:
            if log is not None:
                log.close()
    finally:
        renderer.close()
    print(f"wrote {len(result.written)} frames to {args.output}"
          + (f", kept {len(result.skipped)} already written" if result.skipped else "")
          + f" in {result.seconds:.1f} s")
    return 0


def cmd_queue(args: argparse.Namespace) -> int:
    from .commands.queue import format_summary, run_queue

    def show(name: str, event: dict) -> None:
        if event.get("event") == "frame" and not args.quiet:
            print(f"{name}: frame {event.get('frame')} ({event.get('done')}/"
                  f"{event.get('total')})", file=sys.stderr)

    result = run_queue(args.shots, show)
    print(format_summary(result))
    return 1 if result.failed else 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .commands.evaluate import evaluate, format_result

    result = evaluate(load_matter(args), args.data, args.out, hr=args.scorer == "hr",
                      progress=None if args.quiet else lambda m: print(m, file=sys.stderr),
                      sheet_rows=args.sheet)
    print(format_result(result))
    if args.json:
        payload = {"clips": [asdict(c) for c in result.clips], "summary": result.summary()}
        args.json.write_text(json.dumps(payload, indent=1))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .commands.bench import format_report, mac_report, time_sizes
    from .weights import load_weights

    if args.pipeline:
        from .commands.bench_pipeline import bench_pipeline

        timing = bench_pipeline(frames=args.frames, threads=args.compute_threads,
                                backend=args.backend)
        if args.json:
            print(json.dumps({**asdict(timing), "overlap": timing.overlap}, indent=1))
        else:
            print("\n".join(timing.lines()))
        return 0
    model, _ = load_weights(args.weights if args.backend == "torch" else None,
                            memory=args.memory)
    macs = mac_report(model)
    timings = []
    if not args.macs:
        for threads in args.threads:
            timings += time_sizes(model, threads, frames=args.frames)
            if args.backend == "onnx":
                onnx = str(args.weights) if args.weights else None
                timings += time_sizes(model, threads, frames=args.frames, onnx=onnx or "")
    if args.json:
        print(json.dumps({"macs": macs, "timings": [asdict(t) for t in timings]}, indent=1))
    else:
        print("\n".join(format_report(macs, timings)))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from .train.config import load_config
    from .train.loop import train

    cfg = load_config(args.config)
    if args.steps is not None:
        cfg.train.steps = args.steps
    if args.out is not None:
        cfg.train.out = str(args.out)
    summary = train(cfg, resume=not args.restart)
    if summary:
        print(json.dumps({k: summary[k] for k in ("stage", "steps", "seconds", "validation")},
                         indent=1))
        print(f"wrote {Path(cfg.train.out) / 'weights.safetensors'}")
    return 0


def cmd_label(args: argparse.Namespace) -> int:
    from .train.teacher import label_folder

    names = label_folder(args.teacher, args.clips, args.out, max_frames=args.max_frames,
                         size=args.size, threads=args.threads,
                         progress=None if args.quiet else lambda m: print(m, file=sys.stderr))
    print(f"labelled {len(names)} clips into {args.out}: {', '.join(names)}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .weights import load_weights

    model, info = load_weights(args.weights, memory=args.memory)
    if args.format == "cattery":
        from .commands.export_cattery import cattery_steps, export_cattery

        path = export_cattery(model, info, args.out, args.downsample_ratio)
        print(cattery_steps(path))
    else:
        from .commands.export_onnx import export_onnx

        path = export_onnx(model, info, args.out)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) from {info.path} "
          f"(weights id {info.weights_id})")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .commands.demo import demo_settings, run_demo

    settings = demo_settings(args.out, str(args.weights) if args.weights else None,
                             args.device, args.downsample_ratio, args.memory)
    settings.backend = args.backend
    result = run_demo(settings)
    print(f"wrote {len(result.written)} frames: {settings.output} (premultiplied RGBA, "
          f"ACEScg), {settings.alpha_out}, and {settings.preview}")
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    from .weights import (convert_rvm_onnx, convert_torchvision, load_weights,
                          save_weights)

    from .model import MemMatte, ModelConfig

    if args.base and args.decoder_memory:
        raise SystemExit("memmatte convert: --decoder-memory is the base's architecture when "
                         "--base is given; give one of them")
    base = (load_weights(args.base)[0] if args.base else
            MemMatte(ModelConfig(decoder_memory=args.decoder_memory or "window")))
    convert = convert_rvm_onnx if args.source == "rvm-onnx" else convert_torchvision
    model, report = convert(args.file, base)
    save_weights(model, args.out, {"name": args.out.stem, "conversion": report.to_dict(),
                                   "training": {"status": "converted, not trained"}})
    print(report.summary())
    print(f"wrote {args.out}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from .weights import default_weights_path, read_info

    info = read_info(args.weights or default_weights_path())
    print(json.dumps({"path": info.path, "weights_id": info.weights_id,
                      **info.metadata}, indent=1))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="memmatte", description=__doc__)
    parser.add_argument("--version", action="version", version=f"memmatte {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("render", help="matte a plate: frame pattern, image or video -> EXRs")
    add_options(p)  # every render setting, from memmatte.protocol
    p.add_argument("--dry-run", action="store_true", help="show the plan, render nothing")
    p.add_argument("--log", type=Path, help="append progress events to this file (JSON lines)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("queue", help="render the shots of a TOML file, in order")
    p.add_argument("shots", type=Path)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_queue)

    p = sub.add_parser("eval", help="matte and score a benchmark-style folder of clips")
    p.add_argument("data", type=Path, help="DATA with <clip>/com/ frames (+ pha/, fgr/)")
    p.add_argument("--out", type=Path, required=True, help="where <clip>/pha, fgr go")
    p.add_argument("--scorer", choices=("lr", "hr"), default="lr",
                   help="the benchmark's low- or high-resolution scorer (default lr)")
    p.add_argument("--json", type=Path, help="also write per-frame scores as JSON")
    p.add_argument("--sheet", type=int, default=0, metavar="ROWS",
                   help="write OUT/<clip>/contact_sheet.png with ROWS evenly spaced frames")
    p.add_argument("--quiet", action="store_true")
    add_model_options(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("bench", help="parameters, GMACs and CPU ms per frame")
    p.add_argument("--macs", action="store_true", help="compute figures only, no timing")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--threads", type=lambda s: [int(x) for x in s.split(",")],
                   default=[1, 2], help="comma-separated torch thread counts (default 1,2)")
    p.add_argument("--frames", type=int, default=5, help="timed frames per size")
    p.add_argument("--compute-threads", type=int, default=None,
                   help="with --pipeline: torch threads (default: all cores but two)")
    p.add_argument("--pipeline", action="store_true",
                   help="end-to-end, I/O-only and compute-only fps on a generated 4K EXR "
                        "sequence")
    add_model_options(p)
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("demo", help="the bundled sample plate through the whole pipeline")
    p.add_argument("--out", type=Path, default=Path("demo_out"))
    add_options(p, ("device",))
    add_model_options(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("convert", help="published weights -> memmatte weights")
    p.add_argument("source", choices=("rvm-onnx", "torchvision"))
    p.add_argument("file", type=Path)
    p.add_argument("-o", "--out", type=Path, required=True)
    p.add_argument("--base", type=Path, help="start from these weights (default: fresh init)")
    p.add_argument("--decoder-memory", choices=("window", "none"),
                   help="fresh init only: window (default) keeps RVM's ConvGRUs whole, their "
                        "state rebuilt over t-2, t-1; none keeps their first-frame part")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("train", help="train or fine-tune the network (configs/*.toml)")
    p.add_argument("--config", type=Path, required=True, help="a training config (TOML)")
    p.add_argument("--steps", type=int, help="override [train] steps")
    p.add_argument("--out", type=Path, help="override [train] out (run folder)")
    p.add_argument("--restart", action="store_true",
                   help="ignore a checkpoint in the run folder (default: resume from it)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("label", help="teacher pseudo-labels for real clips (training data)")
    p.add_argument("clips", type=Path, nargs="+", help="folders of frames or video files")
    p.add_argument("--teacher", type=Path, required=True,
                   help="rvm_mobilenetv3_fp32.onnx (make teacher fetches it)")
    p.add_argument("--out", type=Path, required=True, help="label folder (<clip>/com,fgr,pha)")
    p.add_argument("--max-frames", type=int, help="frames per clip at most")
    p.add_argument("--size", type=int, help="long side of the stored frames")
    p.add_argument("--threads", type=int, help="teacher threads (default: all cores)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_label)

    p = sub.add_parser("export", help="the network as an ONNX graph for ONNX Runtime, or a "
                       "TorchScript model for Nuke's Cattery (--format cattery)")
    p.add_argument("--format", choices=("onnx", "cattery"), default="onnx")
    p.add_argument("-o", "--out", type=Path, required=True,
                   help="the .onnx (or, for cattery, .pt) file to write")
    p.add_argument("--downsample-ratio", type=float, default=0.0,
                   help="cattery: the model's default ratio (0: auto, long side ~512 px); "
                        "a knob in Nuke")
    p.add_argument("--weights", type=Path, default=None,
                   help="weights file (default: the weights shipped in the package)")
    p.add_argument("--memory", choices=("attention", "none"), default=None,
                   help="memory variant (default: the weights' own)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("info", help="show a weights file's metadata")
    p.add_argument("weights", type=Path, nargs="?")
    p.set_defaults(func=cmd_info)
    from .farm.commands import add_farm_parser  # memmatte farm openjd|opencue|sheet
    add_farm_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Every error a user can fix is a MemmatteError; the others listed here are not ours.
    errors: tuple[type[BaseException], ...] = (MemmatteError, FileNotFoundError)
    if args.command in ("train", "label"):
        from .train.config import ConfigError
        from .train.teacher import TeacherError

        errors += (ConfigError, TeacherError)
    if args.command in ("render", "demo", "eval", "bench"):
        from .engine.onnx_backend import OnnxModelError

        errors += (OnnxModelError,)
    try:
        return int(args.func(args))
    except errors as exc:
        print(f"memmatte {args.command}: error: {exc}", file=sys.stderr)
        # 2: the input or the options are wrong (do not retry); 1: the run failed (the disk,
        # permissions, the machine: a retry may succeed).
        code = getattr(exc, "code", None)
        return 1 if isinstance(code, str) and code not in BAD_INPUT_CODES else 2
    except OSError as exc:  # what the OS refused outside memmatte's own file handling
        print(f"memmatte {args.command}: error: {from_os_error(exc, 'failed')}",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
