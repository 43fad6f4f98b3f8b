"""The ``probe`` request: what a source holds, so a host UI can fill its knobs (frame range,
size, layers, colour spaces of the config) without loading pixels into the host."""
from __future__ import annotations

from typing import Any

from ..protocol.errors import JobError


def probe(request: dict[str, Any]) -> dict[str, Any]:
    from ..color import colorspace_names, network_space, resolve_config, role_names
    from ..io import is_video, read_parts
    from ..pipeline.source import SequenceSource, open_source

    path = request.get("input")
    if not isinstance(path, str) or not path:
        raise JobError("probe needs 'input': a frame pattern, an image or a movie",
                       option="input")
    layer = request.get("layer")
    source = open_source(path, layer)
    try:
        first = source.read(source.first_frame)
        parts = ([("", ("R", "G", "B"))] if is_video(path)
                 else read_parts(source.file_of(source.first_frame)))
    finally:
        source.close()
    cfg = resolve_config(request.get("ocio"))
    net = network_space(cfg.config, None)
    roles = role_names(cfg.config)
    default = roles.get("scene_linear", net) if source.linear else net
    w = first.data_window
    return {
        "input": path, "frames": source.frames, "first": source.frames[0],
        "last": source.frames[-1], "sequence": isinstance(source, SequenceSource),
        "width": w.width, "height": w.height,
        "display": [first.display_window.width, first.display_window.height],
        "channels": list(first.channels),
        "layers": [{"part": name, "channels": list(ch)} for name, ch in parts],
        "config": cfg.origin, "colorspaces": colorspace_names(cfg.config), "roles": roles,
        "default_colorspace": default, "network_space": net,
    }

