"""Plate space <-> network space, built once per (config, source, destination).

>>> src = resolve_config()                                             # doctest: +SKIP
>>> tr = ColorTransform.for_plate(src, "ACEScg")                       # doctest: +SKIP
>>> net = tr.to_network(plate_rgb)     # float32 HxWx3 in [0, 1], finite  # doctest: +SKIP
>>> back = tr.from_network(net)        # plate space, not clamped       # doctest: +SKIP

Speed (4K float RGB, one CPU thread of the dev machine, 2026-11): the precise processor
~0.67 s, ``fast=True`` ~0.21 s. ``fast`` uses OCIO's log/exp/pow approximations: ~2e-5 max
error in network space (~1/200 of an 8-bit step; invisible to the network) but a round trip
then only holds to ~4e-5. :meth:`ColorTransform.from_network` is always precise, because its
result goes into the output pixels (and it is only run on the soft edge).
"""
from __future__ import annotations

import numpy as np
import PyOpenColorIO as OCIO

from . import _cache
from .config import ConfigSource, as_config
from .spaces import check_colorspace, network_space

#: What a non-finite plate value becomes before the OCIO transform: NaN -> 0, +-Inf -> +-65504
#: (the largest half float, i.e. the brightest value an EXR half plate can hold), so a +Inf
#: highlight in a linear plate ends up white, not NaN-turned-black after a matrix.
_NONFINITE_LIMIT = np.float32(65504.0)


def _as_rgb(rgb: np.ndarray, what: str) -> np.ndarray:
    """A C-contiguous float32 *copy* of ``rgb`` (shape (..., 3)), safe to transform in place."""
    arr = np.asarray(rgb)
    if arr.ndim < 1 or arr.shape[-1] != 3:
        raise ValueError(f"{what}: expected an array of shape (H, W, 3) or (N, 3), got {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"{what}: expected a float array, got dtype {arr.dtype}")
    return np.array(arr, dtype=np.float32, order="C", copy=True)


def _apply_in_place(cpu: OCIO.CPUProcessor, buf: np.ndarray) -> None:
    """Run ``cpu`` over a C-contiguous float32 (..., 3) buffer in place (PackedImageDesc)."""
    if buf.size == 0:
        return
    if buf.ndim == 3:
        height, width = buf.shape[0], buf.shape[1]
    else:
        height, width = 1, buf.size // 3
    cpu.apply(OCIO.PackedImageDesc(buf, width, height, 3))


def _clamp_unit(buf: np.ndarray) -> None:
    """In place: clamp to [0, 1]; NaN -> 0, -Inf -> 0, +Inf -> 1 (fmax/fmin ignore NaN)."""
    np.fmax(buf, np.float32(0.0), out=buf)
    np.fmin(buf, np.float32(1.0), out=buf)


class ColorTransform:
    """Conversions between a plate's colour space and the network's, for one config.

    Build it once per setup (shot, job, node); its processors come from the process-wide
    processor cache, so two transforms over the same config and spaces share them. Calls are
    thread-safe (OCIO CPU processors are) and never modify their input.

    Args:
        config: the config (a :class:`~memmatte.color.ConfigSource` or an ``OCIO.Config``).
        source: the plate's colour space (name, alias or role).
        destination: the network's colour space (name, alias or role).
        fast: use OCIO's fast pow/log/exp approximations for :meth:`to_network`.

    Raises:
        ColorError: an unknown colour space (message lists the valid names), or OCIO cannot
            build the conversion.
    """

    def __init__(
        self,
        config: OCIO.Config | ConfigSource,
        source: str,
        destination: str,
        *,
        fast: bool = False,
    ) -> None:
        cfg = as_config(config)
        self._origin = config.origin if isinstance(config, ConfigSource) else "config object"
        self._source = check_colorspace(cfg, source, "the plate colour space")
        self._destination = check_colorspace(cfg, destination, "the network colour space")
        self._fast = bool(fast)
        self._to_cpu: OCIO.CPUProcessor | None = None
        self._from_cpu: OCIO.CPUProcessor | None = None
        self._identity = self._source == self._destination
        if not self._identity:
            cache_id = str(cfg.getCacheID())
            fwd = _cache.cpu_processor(cfg, cache_id, self._source, self._destination, self._fast)
            inv = _cache.cpu_processor(cfg, cache_id, self._destination, self._source, False)
            # A no-op conversion (same space under two names, a data space) is the identity.
            self._identity = fwd.is_noop and inv.is_noop
            self._to_cpu, self._from_cpu = fwd.cpu, inv.cpu

    @classmethod
    def for_plate(
        cls,
        config: OCIO.Config | ConfigSource,
        plate_space: str,
        network: str | None = None,
        *,
        fast: bool = False,
    ) -> "ColorTransform":
        """Plate space -> the network space chosen by :func:`~memmatte.color.network_space`
        (``network`` overrides the ``color_picking`` default)."""
        return cls(config, plate_space, network_space(config, network), fast=fast)

    # ------------------------------------------------------------------ properties
    @property
    def source(self) -> str:
        """Canonical name of the plate colour space."""
        return self._source

    @property
    def destination(self) -> str:
        """Canonical name of the network colour space."""
        return self._destination

    @property
    def origin(self) -> str:
        """Where the config came from (:attr:`ConfigSource.origin`)."""
        return self._origin

    @property
    def is_identity(self) -> bool:
        """True when plate and network space are the same (no OCIO call is made)."""
        return self._identity

    @property
    def fast(self) -> bool:
        return self._fast

    def __repr__(self) -> str:
        return (
            f"ColorTransform({self._source!r} -> {self._destination!r}, origin={self._origin!r}, "
            f"identity={self._identity}, fast={self._fast})"
        )

    # ------------------------------------------------------------------ conversions
    def to_network(self, rgb: np.ndarray) -> np.ndarray:
        """Plate-space float RGB (..., 3) -> network-space float32, finite, clamped to [0, 1].

        Any input values are accepted: above 1, negative, NaN, +-Inf. Non-finite plate values
        are made finite first (NaN -> 0, +-Inf -> +-65504) so that they cannot spread through
        the conversion's matrices into the other channels; after the conversion everything is
        clamped to [0, 1] (NaN -> 0, +Inf -> 1, -Inf -> 0). Returns a new array.
        """
        buf = _as_rgb(rgb, "to_network")
        if self._identity or self._to_cpu is None:
            _clamp_unit(buf)
            return buf
        if not np.isfinite(buf).all():  # ~40 ms at 4K; the fix-up only runs on bad frames
            np.nan_to_num(buf, copy=False, nan=0.0, posinf=_NONFINITE_LIMIT, neginf=-_NONFINITE_LIMIT)
        _apply_in_place(self._to_cpu, buf)
        _clamp_unit(buf)
        return buf

    def from_network(self, rgb: np.ndarray) -> np.ndarray:
        """Network-space float RGB (..., 3) -> plate-space float32, not clamped. Returns a new
        array. Feed it finite network values (in [0, 1]); nothing is sanitised here."""
        buf = _as_rgb(rgb, "from_network")
        if self._identity or self._from_cpu is None:
            return buf
        _apply_in_place(self._from_cpu, buf)
        return buf


__all__ = ["ColorTransform"]
