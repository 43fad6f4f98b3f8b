"""Config cache and processor cache of :mod:`memmatte.color`, in one place.

Both are process-wide and thread-safe. Configs are loaded once per path (or ``ocio://`` URI);
CPU processors are built once per ``(config cache id, source, destination, fast)``. Nothing
here runs per frame or per pixel: a :class:`~memmatte.color.ColorTransform` asks for its
processors once, when it is made, and keeps them.

:func:`clear_caches` empties both (tests; a host that edited a config file on disk).
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import NamedTuple

import PyOpenColorIO as OCIO

from .errors import ColorError

_lock = threading.RLock()
_configs: dict[str, OCIO.Config] = {}

#: Processors kept at most; the oldest unused ones go first. Each (config, pair) is a handful,
#: so this only matters to a host that edits its config again and again in one session.
MAX_PROCESSORS = 256
_processors: OrderedDict[tuple[str, str, str, bool], "CachedProcessor"] = OrderedDict()

_F = OCIO.OptimizationFlags
#: OCIO's default optimisation minus its fast log/exp/pow approximations (~2e-5 error near 1.0).
PRECISE_FLAGS = _F(_F.OPTIMIZATION_DEFAULT.value & ~_F.OPTIMIZATION_FAST_LOG_EXP_POW.value)
FAST_FLAGS = _F.OPTIMIZATION_DEFAULT


class CachedProcessor(NamedTuple):
    cpu: OCIO.CPUProcessor
    is_noop: bool


def config_key(path: str) -> str:
    """Cache key of a config path: ``ocio://`` URIs as given, files as absolute paths."""
    if path.startswith("ocio://"):
        return path
    return os.path.abspath(os.path.expanduser(path))


def load_config(path: str, where: str) -> OCIO.Config:
    """The config at ``path`` (a file or an ``ocio://`` URI), loaded and validated once.

    ``where`` says where the path came from ("explicit path", "$OCIO", ...) for messages.
    """
    key = config_key(path)
    with _lock:
        cached = _configs.get(key)
        if cached is not None:
            return cached
        if not key.startswith("ocio://") and not os.path.isfile(key):
            what = "is a directory, not a config file" if os.path.isdir(key) else "does not exist"
            raise ColorError(f"OCIO config '{path}' ({where}) {what}")
        try:
            config = OCIO.Config.CreateFromFile(key)
        except Exception as exc:  # OCIO.Exception and friends
            raise ColorError(f"cannot load OCIO config '{path}' ({where}): {exc}") from exc
        try:
            config.validate()
        except Exception as exc:
            raise ColorError(f"invalid OCIO config '{path}' ({where}): {exc}") from exc
        _configs[key] = config
        return config


def _build_cpu_processor(config: OCIO.Config, src: str, dst: str, fast: bool) -> CachedProcessor:
    """Build one float32 CPU processor. The only place that does; tests spy on it."""
    processor = config.getProcessor(src, dst)
    flags = FAST_FLAGS if fast else PRECISE_FLAGS
    cpu = processor.getOptimizedCPUProcessor(OCIO.BIT_DEPTH_F32, OCIO.BIT_DEPTH_F32, flags)
    return CachedProcessor(cpu=cpu, is_noop=bool(processor.isNoOp()))


def cpu_processor(config: OCIO.Config, cache_id: str, src: str, dst: str, fast: bool) -> CachedProcessor:
    """The cached CPU processor ``src -> dst`` of ``config`` (whose cache id is ``cache_id``)."""
    key = (cache_id, src, dst, bool(fast))
    with _lock:
        cached = _processors.get(key)
        if cached is not None:
            _processors.move_to_end(key)
            return cached
        try:
            built = _build_cpu_processor(config, src, dst, bool(fast))
        except ColorError:
            raise
        except Exception as exc:
            raise ColorError(f"OCIO cannot convert '{src}' -> '{dst}': {exc}") from exc
        _processors[key] = built
        while len(_processors) > MAX_PROCESSORS:
            _processors.popitem(last=False)
        return built


def clear_caches() -> None:
    """Forget every loaded config and built processor (the next use loads/builds again)."""
    with _lock:
        _configs.clear()
        _processors.clear()


def cache_sizes() -> tuple[int, int]:
    """``(configs, processors)`` currently cached; for tests and diagnostics."""
    with _lock:
        return len(_configs), len(_processors)
