"""``memmatte export --format onnx``: the network as an ONNX graph for ONNX Runtime.

One graph per frame, keeping the finite window: inputs are the frame at network resolution,
the downsample ratio it was brought there by, and the memory entries of the frames it reads
(attention keys and values; for a decoder window their frames at network resolution and
encoder features, ``prev_*``); outputs are the guided filter's coefficients A and b at
network resolution and the frame's own entry, which the caller keeps for the next two frames. Bringing the plate
to network size and the full-resolution pass are the caller's (numpy and a C loop, in bands:
``memmatte.engine.full_resolution``): a graph would stream full-size planes through memory.
So playback runs the graph once per frame on small tensors, and a host needs no torch.
Height, width and the ratio are dynamic. At ratio 1 the graph returns A = 0 and b = the
network's output, so one pass serves both cases.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch
from torch import Tensor, nn

from .. import __version__
from ..atomic import atomic_path
from ..engine.onnx_backend import FORMAT, FORMAT_VERSION
from ..model import FrameContext, MemMatte
from ..weights import WeightsInfo

OPSET = 17
# A decoder window's inputs (N, M, C, h, w) and the frame's own outputs (N, C, h, w), in
# FrameContext's order; the frame's own image is the caller's already.
CONTEXT_INPUTS = ("prev_src", "prev_f1", "prev_f2", "prev_f3", "prev_f4")
CONTEXT_OUTPUTS = (None, "f1", "f2", "f3", "f4")


class FrameStep(nn.Module):
    """The exported computation: one frame, given its memory."""

    def __init__(self, model: MemMatte) -> None:
        super().__init__()
        self.model = model

    def forward(self, src: Tensor, downsample_ratio: Tensor, *memory: Tensor
                ) -> tuple[Tensor, ...]:
        m = self.model
        keys = values = None
        if m.memory is not None:
            keys, values, *memory = memory
        contexts = FrameContext(*memory) if m.decoder.recurrent else None
        feats = m.encode(src)
        out, hidden, _ = m.decode_low(src, feats, m.fuse(feats, keys, values),
                                      m.window_states(contexts))
        # A graph has no branch on the ratio, so the guided filter always runs: at ratio 1,
        # where its result is not used, on the top-left pixel only (Where broadcasts it away).
        refine = downsample_ratio < 1.0
        size = torch._shape_as_tensor(src)[2:]
        keep = torch.where(refine, size, torch.ones_like(size))

        def crop(x: Tensor) -> Tensor:  # a Slice with dynamic ends in the graph
            return x[:, :, : keep[0], : keep[1]]

        a, b = m.refiner.coefficients(crop(src), crop(out), crop(hidden))
        a = torch.where(refine, a, torch.zeros_like(out))
        b = torch.where(refine, b, out)
        own: tuple[Tensor, ...] = ()
        if m.memory is not None:
            own += (feats.memory.key, feats.memory.value)
        if m.decoder.recurrent:
            own += (feats.f1, feats.f2, feats.f3, feats.f4)
        return (a, b, *own)


def export_onnx(model: MemMatte, info: WeightsInfo, path: str | Path) -> Path:
    """Write the ONNX graph of ``model`` (fp32) atomically, with memmatte metadata."""
    import onnx

    path = Path(path)
    model = model.float().eval().cpu()
    # A fresh wrapper is in training mode, and the exporter restores the wrapper's mode on
    # every submodule afterwards: put it in eval first, or BatchNorm ends up training.
    step = FrameStep(model).eval()
    c = model.config
    h, w = 72, 128  # a 144x256 frame at ratio 0.5
    src = torch.rand(1, 3, h, w)
    ratio = torch.tensor([0.5])
    names_in = ["src", "downsample_ratio"]
    names_out = ["coef_a", "coef_b"]
    args: tuple[Tensor, ...] = (src, ratio)
    dynamic = {name: {2: "height", 3: "width"} for name in ("src", "coef_a", "coef_b")}
    if model.memory is not None:
        hm, wm = 5, 8  # 72 / 16 rounded up, 128 / 16
        args += (torch.rand(1, c.memory_frames, c.key_channels, hm, wm),
                 torch.rand(1, c.memory_frames, c.value_channels, hm, wm))
        names_in += ["keys", "values"]
        names_out += ["key", "value"]
        for name in ("keys", "values", "key", "value"):
            dynamic[name] = {3: "mem_height", 4: "mem_width"} if name.endswith("s") else {
                2: "mem_height", 3: "mem_width"}
    if model.decoder.recurrent:
        with torch.no_grad():
            own = model.encode(src)
        levels = (src, own.f1, own.f2, own.f3, own.f4)
        args += tuple(x.unsqueeze(1).expand(-1, c.memory_frames, -1, -1, -1).contiguous()
                      for x in levels)
        names_in += list(CONTEXT_INPUTS)
        names_out += [n for n in CONTEXT_OUTPUTS if n is not None]
        for k, (name_in, name_out) in enumerate(zip(CONTEXT_INPUTS, CONTEXT_OUTPUTS)):
            size = {0: ("height", "width")}.get(k, (f"h{k}", f"w{k}"))
            dynamic[name_in] = {3: size[0], 4: size[1]}
            if name_out is not None:
                dynamic[name_out] = {2: size[0], 3: size[1]}
    with atomic_path(path) as tmp, torch.inference_mode(False), torch.no_grad(), \
            warnings.catch_warnings():
        # Shape checks and the attention scale are constants of the traced graph, as meant.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(step, args, str(tmp), input_names=names_in, output_names=names_out,
                          dynamic_axes=dynamic, opset_version=OPSET, dynamo=False)
        graph = onnx.load(str(tmp))
        meta = {"format": FORMAT, "format_version": FORMAT_VERSION,
                "memmatte:version": __version__, "memmatte:weights": info.weights_id,
                "memmatte:config": json.dumps(c.to_dict(), sort_keys=True),
                "memmatte:source": Path(info.path).name}
        for key, value in meta.items():
            entry = graph.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.save(graph, str(tmp))
    return path
