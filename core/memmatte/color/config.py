"""Which OCIO config memmatte uses, and where it came from.

Resolution order (DESIGN.md invariant 2), first match wins:

1. an explicit path or ``ocio://`` URI from the user (``--ocio``, a job field);
2. the host's config (the Blender/Nuke adapters pass theirs);
3. ``$OCIO`` (when set and non-empty);
4. the built-in ``ocio://default`` (today the ACES CG config).

``$OCIO`` being unset must not mean "no colour management" (OCIO's own raw fallback): the
network needs sRGB-encoded input, so memmatte falls back to a real built-in config instead.

A path that is given but cannot be used is an error, never a silent fall-through to the next
source: a typo in ``--ocio`` or ``$OCIO`` would otherwise change colours without a word.

>>> src = resolve_config()                      # doctest: +SKIP
>>> src.origin                                  # doctest: +SKIP
'built-in ocio://default'
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import PyOpenColorIO as OCIO

from . import _cache
from .errors import ColorError

BUILTIN_CONFIG = "ocio://default"
ENV_VAR = "OCIO"


@dataclass(frozen=True)
class ConfigSource:
    """A resolved OCIO config and a human-readable note of where it came from.

    ``origin`` is for logs, job reports and error messages, e.g. ``"explicit /show/config.ocio"``,
    ``"$OCIO=/studio/aces.ocio"``, ``"host config (Nuke)"``, ``"built-in ocio://default"``.
    """

    config: OCIO.Config = field(repr=False)
    origin: str

    @property
    def cache_id(self) -> str:
        """OCIO's cache id of the config (content + context): equal ids give equal processors."""
        return str(self.config.getCacheID())

    @property
    def name(self) -> str:
        """The config's own ``name:`` field (may be empty)."""
        return str(self.config.getName() or "")


def _describe_host(host_config: object) -> str:
    name = ""
    if isinstance(host_config, OCIO.Config):
        name = str(host_config.getName() or "")
    return f"host config {name!r}" if name else "host config"


def resolve_config(path: str | os.PathLike[str] | None = None, host_config: object = None) -> ConfigSource:
    """Resolve the OCIO config to use (explicit > host > ``$OCIO`` > built-in).

    Args:
        path: a config file or an ``ocio://`` URI given by the user; ``None``/``""`` = not given.
        host_config: the host application's config: an ``OCIO.Config`` object (used as is, not
            cached, not re-validated: the host already runs on it) or the path of the host's
            config file (loaded through the cache like an explicit path).

    Returns:
        A :class:`ConfigSource`. Files and URIs are loaded once per process (thread-safe).

    Raises:
        ColorError: the chosen path is missing, is not a file, or does not parse/validate;
            the message names the path, where it came from, and OCIO's error.
        TypeError: ``host_config`` is neither an ``OCIO.Config`` nor a path.
    """
    if path is not None and os.fspath(path) != "":
        p = os.fspath(path)
        return ConfigSource(_cache.load_config(p, "explicit path"), f"explicit {p}")

    if host_config is not None:
        if isinstance(host_config, OCIO.Config):
            return ConfigSource(host_config, _describe_host(host_config))
        if isinstance(host_config, (str, os.PathLike)):
            p = os.fspath(host_config)
            return ConfigSource(_cache.load_config(p, "host config"), f"host config {p}")
        raise TypeError(
            f"host_config must be a PyOpenColorIO.Config or a config path, "
            f"got {type(host_config).__name__}"
        )

    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return ConfigSource(_cache.load_config(env, f"${ENV_VAR}"), f"${ENV_VAR}={env}")

    return ConfigSource(_cache.load_config(BUILTIN_CONFIG, "built-in"), f"built-in {BUILTIN_CONFIG}")


def as_config(config: OCIO.Config | ConfigSource) -> OCIO.Config:
    """The ``OCIO.Config`` inside ``config`` (a ConfigSource or a bare config)."""
    if isinstance(config, ConfigSource):
        return config.config
    if isinstance(config, OCIO.Config):
        return config
    raise TypeError(f"expected a PyOpenColorIO.Config or ConfigSource, got {type(config).__name__}")


__all__ = ["BUILTIN_CONFIG", "ConfigSource", "ColorError", "as_config", "resolve_config"]
