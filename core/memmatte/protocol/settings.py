"""The render settings: one typed record, one validator, and the CLI options made from it.

A CLI call, a queue entry, a job file, a host's request and a farm chunk all carry these;
each field's ``Option`` says its flag, help and what values are valid, so every front end
refuses the same values with the same message.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .errors import SettingsError
from .frame_range import parse_frames

BACKENDS = ("torch", "onnx")
DEVICES = ("auto", "cpu", "cuda", "cuda:N", "mps")
MEMORY_VARIANTS = ("attention", "none")
EXR_COMPRESSIONS = ("none", "rle", "zips", "zip", "piz", "pxr24", "b44", "b44a", "dwaa", "dwab")


@dataclass(frozen=True)
class Option:
    help: str
    flag: str = ""  # default: --the-key-name
    kind: type = str  # the JSON type: str, int, float, bool
    choices: tuple[str, ...] = ()  # shown in help and errors
    check: Callable[[Any], str] | None = None  # returns what is wrong, "" if fine
    inverted: str = ""  # a store_false flag (``--float`` sets ``half`` False)
    cli: bool = True


def _meta(help: str, **kw: Any) -> dict[str, Option]:
    return {"option": Option(help, **kw)}


def _ratio(v: float) -> str:
    return "" if 0.0 < v <= 1.0 else f"must be in (0, 1], got {v}"


def _device(v: str) -> str:
    kind, _, index = v.partition(":")
    ok = v in ("auto", "cpu", "mps", "cuda") or (kind == "cuda" and index.isdigit())
    return "" if ok else f"unknown device {v!r}; valid: {', '.join(DEVICES)}"


def _choice(valid: tuple[str, ...]) -> Callable[[str], str]:
    def check(v: str) -> str:
        return "" if v in valid else f"{v!r} is not valid; valid: {', '.join(valid)}"
    return check


def _compression(v: str) -> str:
    name = v.split(":", 1)[0]
    return "" if name in EXR_COMPRESSIONS else (
        f"{v!r} is not an EXR compression; valid: {', '.join(EXR_COMPRESSIONS)}")


def _frames(v: str) -> str:
    try:
        parse_frames(v, SettingsError)
    except SettingsError as exc:
        return exc.detail
    return ""


def _at_least_one(v: int) -> str:
    return "" if v >= 1 else f"must be at least 1, got {v}"


def _not_empty(v: str) -> str:
    return "" if v.strip() else "must not be empty"


@dataclass
class RenderSettings:
    input: str = field(metadata=_meta(
        "plate.####.exr (or %%04d, @@@@, $F4), an image, or a video", check=_not_empty))
    output: str = field(metadata=_meta(
        "output pattern, e.g. matte.####.exr", flag="-o/--output", check=_not_empty))
    frames: str | None = field(default=None, metadata=_meta(
        "1001-1100, 1001-1100x2, 1001,1005 (default: all)", check=_frames))
    colorspace: str | None = field(default=None, metadata=_meta(
        "the plate's colour space (default: scene_linear role for EXR, the network space for "
        "8-bit images and video)"))
    ocio: str | None = field(default=None, metadata=_meta(
        "OCIO config path or ocio:// URI (default: $OCIO, then ocio://default)"))
    network_space: str | None = field(default=None, metadata=_meta(
        "colour space the network sees (default: the config's color_picking role)"))
    weights: str | None = field(default=None, metadata=_meta(
        "weights file (default: the weights shipped in the package)"))
    device: str = field(default="auto", metadata=_meta(
        "auto, cpu, cuda, cuda:N, mps", check=_device))
    downsample_ratio: float | None = field(default=None, metadata=_meta(
        "network resolution / input resolution (default: long side ~512 px)", kind=float,
        check=_ratio))
    memory: str | None = field(default=None, metadata=_meta(
        "memory variant (default: the weights' own)", choices=MEMORY_VARIANTS,
        check=_choice(MEMORY_VARIANTS)))
    resume: bool = field(default=False, metadata=_meta(
        "keep frames already written whose cache key matches these settings", kind=bool))
    alpha_out: str | None = field(default=None, metadata=_meta(
        "also write alpha alone to this pattern"))
    preview: str | None = field(default=None, metadata=_meta(
        "write a contact sheet PNG of the render here"))
    half: bool = field(default=True, metadata=_meta(
        "write float EXRs (default: half)", kind=bool, inverted="--float"))
    compression: str = field(default="zip", metadata=_meta(
        "EXR compression (default zip)", check=_compression))
    layer: str | None = field(default=None, metadata=_meta(
        "EXR layer or part holding the plate"))
    detect_cuts: bool = field(default=False, metadata=_meta(
        "restart the memory at cuts", kind=bool))
    backend: str = field(default="torch", metadata=_meta(
        "runtime: torch (default) or onnx (ONNX Runtime, no torch needed; --weights then "
        "names an exported .onnx)", choices=BACKENDS, check=_choice(BACKENDS)))
    threads: int | None = field(default=None, metadata=_meta(
        "compute threads (default: all cores but the two reading and writing)", kind=int,
        check=_at_least_one))
    shot_start: int | None = field(default=None, metadata=_meta(
        "the shot's first frame: earlier frames are never read (default: the first frame "
        "on disk)", kind=int))

    def __post_init__(self) -> None:
        validate(self)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "settings",
                  extra_keys: tuple[str, ...] = ()) -> RenderSettings:
        """Settings from a plain mapping (a job, a queue entry); ``extra_keys`` are keys the
        caller handles itself, listed as valid in the error message."""
        if not isinstance(data, Mapping):
            raise SettingsError(f"{where}: settings are a mapping, got {type(data).__name__}")
        known = set(KEYS)
        unknown = sorted(set(data) - known)
        if unknown:
            raise SettingsError(f"{where}: unknown keys {unknown}; valid keys: "
                                f"{sorted(known | set(extra_keys))}", option=unknown[0])
        missing = [k for k in ("input", "output") if not data.get(k)]
        if missing:
            raise SettingsError(f"{where}: missing required keys {missing}", option=missing[0])
        try:
            return cls(**data)
        except SettingsError as exc:
            raise SettingsError(f"{where}: {exc.detail}", option=exc.option) from None


KEYS = tuple(f.name for f in fields(RenderSettings))
OPTIONS: dict[str, Option] = {f.name: f.metadata["option"] for f in fields(RenderSettings)}


def flag_of(key: str) -> str:
    opt = OPTIONS[key]
    return opt.inverted or (opt.flag.split("/")[-1] if opt.flag else
                            "--" + key.replace("_", "-"))


def check_value(key: str, value: Any) -> str:
    """What is wrong with ``value`` for ``key`` ("" if nothing); None is always allowed for
    optional keys (the default applies)."""
    opt = OPTIONS[key]
    if value is None:
        return "" if key not in ("input", "output") else "is required"
    want = {str: "a string", int: "a whole number", float: "a number", bool: "true or false"}
    if opt.kind is bool:
        ok = isinstance(value, bool)
    elif opt.kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif opt.kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, str)
    if not ok:
        return f"expected {want[opt.kind]}, got {value!r}"
    return opt.check(value) if opt.check else ""


def validate(s: RenderSettings) -> None:
    """The one place render settings are checked; errors name the key and its flag."""
    for key in KEYS:
        problem = check_value(key, getattr(s, key))
        if problem:
            raise SettingsError(f"{key} ({flag_of(key)}): {problem}", option=key)
    if isinstance(s.downsample_ratio, int):
        s.downsample_ratio = float(s.downsample_ratio)


# -- the command line, made from the options ---------------------------------------------
def _parse(key: str, kind: type) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {kind.__name__}: {text!r}") from None
        problem = check_value(key, value)
        if problem:
            raise argparse.ArgumentTypeError(problem)
        return value
    parse.__name__ = key  # argparse names the option in its message
    return parse


def add_options(parser: argparse.ArgumentParser, keys: Iterable[str] | None = None) -> None:
    """Add the options for ``keys`` (default: all render settings) to ``parser``."""
    for key in keys or KEYS:
        opt = OPTIONS[key]
        if not opt.cli:
            continue
        if key == "input":
            parser.add_argument("input", help=opt.help)
            continue
        default = getattr(DEFAULTS, key)
        if opt.kind is bool:
            action = "store_false" if opt.inverted else "store_true"
            parser.add_argument(flag_of(key), dest=key, action=action, default=default,
                                help=opt.help)
            continue
        names = opt.flag.split("/") if opt.flag else [flag_of(key)]
        parser.add_argument(*names, dest=key, default=default, type=_parse(key, opt.kind),
                            required=key == "output", help=opt.help,
                            choices=list(opt.choices) or None)


def from_args(args: argparse.Namespace) -> RenderSettings:
    """Settings from a namespace that ``add_options`` filled."""
    return RenderSettings(**{k: getattr(args, k) for k in KEYS if hasattr(args, k)})


def to_argv(s: RenderSettings) -> list[str]:
    """``memmatte render`` arguments giving these settings (defaults left out)."""
    argv = [s.input]
    for key in KEYS[1:]:
        value, opt = getattr(s, key), OPTIONS[key]
        if value == getattr(DEFAULTS, key):
            continue
        if opt.kind is bool:
            argv.append(flag_of(key))
        else:
            argv += [flag_of(key), str(value)]
    return argv


DEFAULTS = RenderSettings(input="-", output="-")
