"""The worker's events and the host's requests: JSON objects, one per line, versioned.

Every event carries ``"v"`` (``PROTOCOL_VERSION``) and ``"event"``; in ``--serve`` mode it
also carries the ``"id"`` of the request it answers. A request's last event is ``result``.

Events, in the order a render sends them:
  accepted      at once, before anything heavy loads: {pid, version, protocol, job}
  setup         while loading: {stage: one of SETUP_STAGES, message}
  start         {total, path}: frames to compute
  skip          {frame, path, key}: a frame on disk whose cache key matches (resume)
  frame         {frame, done, total, fps, eta_s, path, key}: the file is complete on disk
  done | cancelled   {done, total, fps}
  error         {code, message, path?, frame?, option?}  (codes: ``errors.CODES``)
  result        {ok, cancelled, written, skipped, seconds, code?, error?}: the last one
Answers of their own: ``ready`` (serve mode is listening), ``capabilities``, ``probe``.

Requests (``--serve``, on stdin): {"id": ..., "op": OP, ...}
  render        {settings}: a range (settings.frames), as a job would
  frame         {settings, frame}: one frame, on demand; predecessors come from the warm cache
  probe         {input, layer?, ocio?}: what a source holds, for host UIs
  capabilities  {}
  cancel        {target?}: stop the running request (default: whatever runs) after its frame
  shutdown      {}: finish, answer, exit 0
"""
from __future__ import annotations

import json
from typing import Any

PROTOCOL_VERSION = 1

ACCEPTED, SETUP, START, SKIP, FRAME = "accepted", "setup", "start", "skip", "frame"
DONE, CANCELLED, ERROR, RESULT = "done", "cancelled", "error", "result"
READY, CAPABILITIES, PROBE = "ready", "capabilities", "probe"
EVENTS = (ACCEPTED, SETUP, START, SKIP, FRAME, DONE, CANCELLED, ERROR, RESULT, READY,
          CAPABILITIES, PROBE)
SETUP_STAGES = ("source", "colour", "runtime", "weights", "engine", "ready")

OPS = ("render", "frame", "probe", "capabilities", "cancel", "shutdown")

# Exit codes of ``python -m memmatte.worker``.
EXIT_OK, EXIT_FAILED, EXIT_BAD_JOB, EXIT_CANCELLED = 0, 1, 2, 3


def event(kind: str, **fields: Any) -> dict[str, Any]:
    """An event as sent; fields that are None are left out."""
    assert kind in EVENTS, kind
    return {"v": PROTOCOL_VERSION, "event": kind,
            **{k: v for k, v in fields.items() if v is not None}}


def encode(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":")) + "\n"


def decode(line: str) -> dict[str, Any] | None:
    """A protocol message from a line, or None for anything else (a library printing to
    stdout must not break the host)."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
