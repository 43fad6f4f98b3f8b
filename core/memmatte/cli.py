"""The ``memmatte`` command: eval, bench, demo, convert, info."""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from . import __version__


def positive_ratio(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {value}")
    return value


def add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--weights", type=Path, default=None,
                   help="weights file (default: the weights shipped in the package)")
    p.add_argument("--downsample-ratio", type=positive_ratio, default=None,
                   help="network resolution / input resolution (default: long side ~512 px)")
    p.add_argument("--memory", choices=("attention", "none"), default=None,
                   help="memory variant (default: the weights' own)")


def load_matter(args: argparse.Namespace):  # -> ClipMatter
    from .infer import ClipMatter
    from .weights import load_weights

    model, _ = load_weights(args.weights, memory=args.memory)
    return ClipMatter(model, args.downsample_ratio)


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluate import evaluate, format_result

    result = evaluate(load_matter(args), args.data, args.out, hr=args.scorer == "hr",
                      progress=None if args.quiet else lambda m: print(m, file=sys.stderr),
                      sheet_rows=args.sheet)
    print(format_result(result))
    if args.json:
        payload = {"clips": [asdict(c) for c in result.clips], "summary": result.summary()}
        args.json.write_text(json.dumps(payload, indent=1))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import format_report, mac_report, time_sizes
    from .weights import load_weights

    model, _ = load_weights(args.weights, memory=args.memory)
    macs = mac_report(model)
    timings = []
    if not args.macs:
        for threads in args.threads:
            timings += time_sizes(model, threads, frames=args.frames)
    if args.json:
        print(json.dumps({"macs": macs, "timings": [asdict(t) for t in timings]}, indent=1))
    else:
        print("\n".join(format_report(macs, timings)))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    sheet = run_demo(load_matter(args), args.out)
    print(f"wrote {args.out}/pha, fgr, rgba and {sheet}")
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    from .weights import (convert_rvm_onnx, convert_torchvision, load_weights,
                          save_weights)

    base = load_weights(args.base)[0] if args.base else None
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
    add_model_options(p)
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("demo", help="matte the bundled sample frames")
    p.add_argument("--out", type=Path, default=Path("demo_out"))
    add_model_options(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("convert", help="published weights -> memmatte weights")
    p.add_argument("source", choices=("rvm-onnx", "torchvision"))
    p.add_argument("file", type=Path)
    p.add_argument("-o", "--out", type=Path, required=True)
    p.add_argument("--base", type=Path, help="start from these weights (default: fresh init)")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("info", help="show a weights file's metadata")
    p.add_argument("weights", type=Path, nargs="?")
    p.set_defaults(func=cmd_info)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .imageio8 import FrameError
    from .weights import ConversionError, WeightsError

    try:
        return int(args.func(args))
    except (WeightsError, ConversionError, FrameError, FileNotFoundError) as exc:
        print(f"memmatte {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
