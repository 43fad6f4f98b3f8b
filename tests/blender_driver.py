"""Run inside a bpy venv's Python (``tests/test_blender.py`` starts it): install the built
extension zip, make a Memory Matte node, compute, cancel, render an animation headless, and
write what happened to a JSON report. Only bpy and the standard library are used here; the
test compares the pixels in its own Python."""
from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import bpy

PACKAGE = "bl_ext.user_default.memory_matte"
report: dict[str, Any] = {"version": list(bpy.app.version), "steps": []}


def step(name: str) -> None:
    report["steps"].append(name)
    print(f"[driver] {name}", flush=True)


def install(zip_path: str) -> Any:
    step("install")
    result = bpy.ops.extensions.package_install_files(
        filepath=zip_path, repo="user_default", enable_on_install=True)
    report["install"] = sorted(result)
    report["enabled"] = PACKAGE in bpy.context.preferences.addons
    report["heavy_modules"] = sorted(m for m in ("torch", "onnxruntime", "OpenImageIO",
                                                 "PyOpenColorIO", "av", "memmatte")
                                     if m in sys.modules)
    report["extension_modules"] = sorted(m for m in sys.modules if m.startswith(PACKAGE))
    return importlib.import_module(PACKAGE)


class Layout:
    """Stands in for ``bpy.types.UILayout`` (none exists without a window): records what is
    drawn and checks that every property and operator drawn exists."""

    def __init__(self, calls: list[str] | None = None) -> None:
        self.calls = [] if calls is None else calls
        self.enabled = True

    def _sub(self, *args: Any, **kw: Any) -> Layout:
        return Layout(self.calls)

    row = column = box = _sub

    def prop(self, data: Any, name: str, **kw: Any) -> None:
        assert name in data.bl_rna.properties, f"no property {name} on {data}"
        self.calls.append(f"prop:{name}")

    def template_ID(self, data: Any, name: str, **kw: Any) -> None:
        assert name in data.bl_rna.properties, f"no property {name}"
        opener = kw.get("open", "")
        if opener:
            module, op = opener.split(".")
            assert hasattr(getattr(bpy.ops, module), op), opener
        self.calls.append(f"template_ID:{name}")

    def operator(self, idname: str, **kw: Any) -> Any:
        module, op = idname.split(".")
        getattr(getattr(bpy.ops, module), op).get_rna_type()  # raises if unknown
        self.calls.append(f"operator:{idname}")
        return type("Props", (), {})()

    def label(self, text: str = "", **kw: Any) -> None:
        self.calls.append(f"label:{text}")

    def progress(self, **kw: Any) -> None:
        self.calls.append("progress")


def fresh_tree(compat: Any) -> Any:
    scene = bpy.context.scene
    tree = compat.compositor_tree(scene)
    for node in list(tree.nodes):  # 4.x starts with Render Layers: nothing 3-D renders here
        tree.nodes.remove(node)
    r = scene.render
    r.resolution_x, r.resolution_y, r.resolution_percentage = 480, 270, 100
    r.use_compositing, r.use_sequencer = True, False
    return tree


def output_to(tree: Any, compat: Any, socket: Any) -> None:
    target = compat.result_socket(tree)
    for link in list(target.links):
        tree.links.remove(link)
    tree.links.new(socket, target)


def main(cfg: dict[str, Any]) -> None:
    ext = install(cfg["zip"])
    compat = importlib.import_module(PACKAGE + ".compat")
    service = importlib.import_module(PACKAGE + ".service")
    settings_mod = importlib.import_module(PACKAGE + ".settings")

    step("preferences")
    prefs = bpy.context.preferences.addons[PACKAGE].preferences
    prefs.python = ""
    try:
        report["check_without_python"] = sorted(bpy.ops.memmatte.check_runtime())
    except RuntimeError as exc:  # an operator reporting an error raises it here
        report["check_without_python"] = str(exc)
    report["report_without_python"] = json.loads(prefs.runtime_report)
    prefs.python = cfg["python"]
    report["check"] = sorted(bpy.ops.memmatte.check_runtime())
    report["capabilities"] = json.loads(prefs.runtime_report)

    step("node")
    tree = fresh_tree(compat)
    image = bpy.data.images.load(cfg["plate_first"])
    image.source = "SEQUENCE"
    image.colorspace_settings.name = cfg["colorspace"]
    node = tree.nodes.new("CompositorNodeMemoryMatte")
    report["problem_without_source"] = node.problem
    node.image = image
    node.frame_start = 1
    node.backend, node.device = "onnx", "cpu"
    node.downsample_ratio = cfg["ratio"]
    report["node"] = {"type": node.bl_idname, "label": node.bl_label, "problem": node.problem,
                      "outputs": [s.name for s in node.outputs],
                      "inner": node.node_tree.name if node.node_tree else None}
    plan = settings_mod.plan(node)
    report["settings"] = plan.settings
    report["folder"] = plan.folder
    report["user_folder"] = bpy.utils.extension_path_user(PACKAGE, create=False)
    results = importlib.import_module(PACKAGE + ".results")
    node.downsample_ratio = 0.25  # other settings: other results, read from elsewhere
    report["other_folder"] = settings_mod.plan(node).folder
    report["other_reads"] = bpy.path.abspath(results.result_node(node).image.filepath)
    node.downsample_ratio = cfg["ratio"]
    report["reads"] = bpy.path.abspath(results.result_node(node).image.filepath)
    report["reader"] = {k: getattr(results.result_node(node), k) for k in (
        "frame_start", "frame_offset", "frame_duration", "use_auto_refresh")}

    step("draw")
    ui = importlib.import_module(PACKAGE + ".ui")
    drawn = Layout()
    ui.draw_node(node, bpy.context, drawn, sidebar=True)
    node.source_type = "CLIP"
    ui.draw_node(node, bpy.context, drawn)
    node.source_type = "IMAGE"
    ui.draw_preferences(prefs, bpy.context, drawn)
    report["drawn"] = drawn.calls
    menu = compat.add_menu()
    report["menu"] = menu.__name__
    report["in_menu"] = ui.draw_add_menu in getattr(menu.draw, "_draw_funcs", ())

    step("clip")  # a Movie Clip of the same sequence names the same input
    node.clip = bpy.data.movieclips.load(cfg["plate_first"])
    node.source_type = "CLIP"
    report["clip"] = {"source": node.clip.source, "problem": node.problem,
                      "input": settings_mod.plan(node).settings["input"]}
    node.source_type = "IMAGE"

    step("compute")
    t0 = time.monotonic()
    report["compute"] = sorted(bpy.ops.memmatte.compute(tree=tree.name, node=node.name))
    report["compute_s"] = round(time.monotonic() - t0, 2)
    report["status"], report["progress"] = node.status, node.progress
    report["computed"] = sorted(os.listdir(plan.folder))
    report["recompute"] = sorted(bpy.ops.memmatte.compute(tree=tree.name, node=node.name))
    report["recompute_status"] = node.status

    step("cancel")  # what Esc in the modal operator does, on settings not computed yet
    other = dict(plan.settings, input=cfg["long_plate"], downsample_ratio=1.0,
                 output=os.path.join(cfg["work"], "cancel", "m.####.exr"))
    comp = service.Computation(cfg["python"], other)
    deadline = time.monotonic() + 300
    while comp.progress.done < 1 and not comp.progress.finished and time.monotonic() < deadline:
        time.sleep(0.01)
    comp.cancel()
    final = comp.wait(120)
    report["cancel"] = {"state": final.state, "written": list(final.written),
                        "total": final.total, "message": final.message}

    step("render")
    # Before the render: the third result is gone, the fourth plate frame is touched (its
    # result is stale: the key knows the source's mtime); the first two must be reused.
    names = report["computed"]
    os.remove(os.path.join(plan.folder, names[2]))
    stale = os.path.join(os.path.dirname(cfg["plate_first"]), cfg["last_plate_name"])
    st = os.stat(stale)
    os.utime(stale, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    mtimes = {n: os.stat(os.path.join(plan.folder, n)).st_mtime_ns for n in names
              if os.path.exists(os.path.join(plan.folder, n))}
    set_alpha = compat.set_alpha_node(tree, replace=True)
    tree.links.new(node.outputs["Foreground"], set_alpha.inputs["Image"])
    tree.links.new(node.outputs["Alpha"], set_alpha.inputs["Alpha"])
    output_to(tree, compat, set_alpha.outputs["Image"])
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = 1, cfg["frames"]
    fmt = scene.render.image_settings
    if hasattr(fmt, "media_type"):
        fmt.media_type = "IMAGE"
    fmt.file_format, fmt.color_mode, fmt.color_depth = "OPEN_EXR", "RGBA", "32"
    scene.render.filepath = os.path.join(cfg["out"], "render_####")
    t0 = time.monotonic()
    bpy.ops.render.render(animation=True)
    report["render_s"] = round(time.monotonic() - t0, 2)
    report["after_render"] = sorted(os.listdir(plan.folder))
    report["rewritten"] = sorted(n for n in names if os.stat(os.path.join(
        plan.folder, n)).st_mtime_ns != mtimes.get(n))
    report["rendered"] = sorted(os.listdir(cfg["out"]))
    report["ocio"] = compat.ocio_config_path()

    if cfg.get("picture"):
        step("picture")
        picture(tree, compat, node, scene, cfg["picture"])
    service.SERVICE.stop()
    bpy.ops.preferences.addon_disable(module=PACKAGE)
    report["disabled"] = PACKAGE not in bpy.context.preferences.addons
    del ext


def picture(tree: Any, compat: Any, node: Any, scene: Any, path: str) -> None:
    """The node's foreground over a checkerboard, through the compositor, as a PNG."""
    w, h, size = 480, 270, 16
    checker = bpy.data.images.new("checker", w, h, float_buffer=True)
    checker.colorspace_settings.name = "Linear Rec.709"
    pixels = []
    for y in range(h):
        for x in range(w):
            v = 0.45 if ((x // size) + (y // size)) % 2 else 0.18
            pixels += (v, v, v, 1.0)
    checker.pixels.foreach_set(pixels)
    checker.update()
    background = tree.nodes.new("CompositorNodeImage")
    background.image = checker
    over, bg_in, fg_in = compat.alpha_over_node(tree)
    tree.links.new(background.outputs["Image"], bg_in)
    tree.links.new(node.outputs["Foreground"], fg_in)
    output_to(tree, compat, over.outputs["Image"])
    fmt = scene.render.image_settings
    if hasattr(fmt, "media_type"):
        fmt.media_type = "IMAGE"
    fmt.file_format, fmt.color_mode, fmt.color_depth = "PNG", "RGB", "8"
    scene.view_settings.view_transform = "Standard"
    for name in dir(scene.render):  # no date or render time in the file: same bytes each run
        if name.startswith("use_stamp_"):
            setattr(scene.render, name, False)
    scene.frame_set(1)
    scene.render.filepath = path
    bpy.ops.render.render(write_still=True)
    report["picture"] = path if os.path.isfile(path) else None


if __name__ == "__main__":
    cfg = json.loads(Path(sys.argv[sys.argv.index("--") + 1]).read_text())
    try:
        main(cfg)
    except Exception:
        report["error"] = traceback.format_exc()
    Path(cfg["report"]).write_text(json.dumps(report, indent=1, default=str))
    sys.stdout.flush()
    os._exit(0)  # bpy's exit handlers can take long; the report is written
