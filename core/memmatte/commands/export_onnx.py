"""``memmatte export --format onnx``: the network as an ONNX graph for ONNX Runtime.

One graph per frame, keeping the finite window: inputs are the frame, the downsample ratio
and the memory entries (keys, values) of the frames it reads; outputs are the foreground,
alpha and the frame's own entry, which the caller keeps for the next two frames. So playback
runs the graph once per frame, and a host needs no torch. Height, width and the ratio are
dynamic. The guided filter is in the graph; at ratio 1 its result is not used (as in torch).
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import __version__
from ..atomic import atomic_path
from ..model import MemMatte
from ..weights import WeightsInfo

OPSET = 17
FORMAT = "memmatte-onnx"
FORMAT_VERSION = "1"


class ResizeByRatio(torch.autograd.Function):
    """Bilinear resize by a ratio given as a tensor: in the graph a Resize whose scales input
    is [1, 1, r, r], sampling exactly where torch's interpolate does with a float scale."""

    @staticmethod
    def forward(ctx, src: Tensor, ratio: Tensor) -> Tensor:  # type: ignore[override]
        r = float(ratio.reshape(-1)[0])
        return F.interpolate(src, scale_factor=(r, r), mode="bilinear", align_corners=False,
                             recompute_scale_factor=False)

    @staticmethod
    def symbolic(g, src, ratio):  # type: ignore[no-untyped-def]
        ones = g.op("Constant", value_t=torch.tensor([1.0, 1.0]))
        scales = g.op("Concat", ones, ratio, ratio, axis_i=0)
        roi = g.op("Constant", value_t=torch.tensor([], dtype=torch.float32))
        return g.op("Resize", src, roi, scales, mode_s="linear",
                    coordinate_transformation_mode_s="pytorch_half_pixel")


class FrameStep(nn.Module):
    """The exported computation: one frame, given its memory."""

    def __init__(self, model: MemMatte) -> None:
        super().__init__()
        self.model = model

    def forward(self, src: Tensor, downsample_ratio: Tensor, keys: Tensor | None = None,
                values: Tensor | None = None) -> tuple[Tensor, ...]:
        m = self.model
        src_sm = ResizeByRatio.apply(src, downsample_ratio)
        feats = m.encode(src_sm)
        fused = m.fuse(feats, keys, values)
        out, hidden, _ = m.decode_low(src_sm, feats, fused)
        fgr_dgf, pha_dgf = m.refiner(src, src_sm, out, hidden)
        # A graph has no branch on sizes: both results exist, Where picks (same size at 1).
        plain = F.interpolate(out, size=src.shape[2:], mode="nearest")
        fgr_plain, pha_plain = m.unrefined(plain, src)
        refine = downsample_ratio < 1.0
        fgr = torch.where(refine, fgr_dgf, fgr_plain)
        pha = torch.where(refine, pha_dgf, pha_plain)
        if feats.memory is None:
            return fgr, pha
        return fgr, pha, feats.memory.key, feats.memory.value


def export_onnx(model: MemMatte, info: WeightsInfo, path: str | Path) -> Path:
    """Write the ONNX graph of ``model`` (fp32) atomically, with memmatte metadata."""
    import onnx

    path = Path(path)
    model = model.float().eval().cpu()
    # A fresh wrapper is in training mode, and the exporter restores the wrapper's mode on
    # every submodule afterwards: put it in eval first, or BatchNorm ends up training.
    step = FrameStep(model).eval()
    c = model.config
    h, w = 144, 256
    src = torch.rand(1, 3, h, w)
    ratio = torch.tensor([0.5])
    names_in = ["src", "downsample_ratio"]
    names_out = ["fgr", "pha"]
    args: tuple[Tensor, ...] = (src, ratio)
    dynamic = {"src": {2: "height", 3: "width"}, "fgr": {2: "height", 3: "width"},
               "pha": {2: "height", 3: "width"}}
    if model.memory is not None:
        hm, wm = 5, 8  # (144 * 0.5) / 16 rounded up, (256 * 0.5) / 16
        args += (torch.rand(1, c.memory_frames, c.key_channels, hm, wm),
                 torch.rand(1, c.memory_frames, c.value_channels, hm, wm))
        names_in += ["keys", "values"]
        names_out += ["key", "value"]
        for name in ("keys", "values", "key", "value"):
            dynamic[name] = {3: "mem_height", 4: "mem_width"} if name.endswith("s") else {
                2: "mem_height", 3: "mem_width"}
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
