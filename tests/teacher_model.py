"""The published RVM ONNX model for tests that need it (the Makefile fetches it)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest


def require_rvm_onnx() -> Path:
    """The published file; a test that needs it fails (never skips) without it."""
    value = os.environ.get("MEMMATTE_RVM_ONNX")
    if not value:
        pytest.fail("MEMMATTE_RVM_ONNX is not set: run `make test`, which fetches "
                    "rvm_mobilenetv3_fp32.onnx and points MEMMATTE_RVM_ONNX at it")
    path = Path(value)
    if not path.is_file():
        pytest.fail(f"MEMMATTE_RVM_ONNX={value} is not a file: run `make test`, which "
                    "fetches rvm_mobilenetv3_fp32.onnx")
    return path
