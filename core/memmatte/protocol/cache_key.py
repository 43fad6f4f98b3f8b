"""The cache key of an output frame: a digest of everything that decides its pixels.

A frame on disk is reused (``resume``, a host's cache) only when the key recorded in it
(``memmatte:key``) equals the key of the request. The worker computes it; a host may compute
the source part itself with ``source_stamp`` to tell that a plate changed.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

KEY_ATTRIBUTE = "memmatte:key"
KEY_VERSION = 1  # bump when the meaning of a part changes


def source_stamp(path: str | Path) -> dict[str, Any]:
    """A source frame as the key sees it: where it is, how big, when it was written.
    A missing file stamps as absent (the key then cannot match a written frame)."""
    try:
        st = os.stat(path)
    except OSError:
        return {"path": os.path.abspath(path), "missing": True}
    return {"path": os.path.abspath(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def cache_key(parts: Mapping[str, Any]) -> str:
    """16 hex digits of SHA-256 over the canonical JSON of ``parts``.

    ``parts`` holds the weights id, memory variant, backend, device and precision, ratio,
    colour spaces and config, output type, and the ``source_stamp`` of frames t, t-1, t-2.

    >>> cache_key({"ratio": 0.5}) == cache_key({"ratio": 0.5})
    True
    >>> cache_key({"ratio": 0.5}) == cache_key({"ratio": 0.25})
    False
    """
    text = json.dumps({"key_version": KEY_VERSION, **parts}, sort_keys=True,
                      separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
