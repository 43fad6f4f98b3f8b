"""The one thing pyproject.toml cannot say without an experimental table: the C extension.

It is the full-resolution pass's inner loop (memmatte.engine.full_resolution). Every install,
editable ones included, compiles it: a C compiler and Python's headers are needed (gcc and
python3-dev on Debian; Xcode's command-line tools; Visual Studio Build Tools on Windows).
"""
import sys

from setuptools import Extension, setup

FLAGS = [] if sys.platform == "win32" else ["-O3"]  # MSVC's /O2 is already setuptools' default

setup(ext_modules=[Extension("memmatte.engine._full_res", ["core/memmatte/engine/_full_res.c"],
                             extra_compile_args=FLAGS)])
