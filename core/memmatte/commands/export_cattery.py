"""``memmatte export --format cattery``: the network as one TorchScript module for Nuke.

Nuke's Inference node runs a TorchScript model with one input tensor and one output tensor,
frame by frame, without state. The finite memory window (DESIGN invariant 1) makes that
enough: frame t depends on frames t, t-1 and t-2 only, so the model takes them stacked and
computes the memory entries of t-1 and t-2 itself.

    input   1x9xHxW  network-space RGB of frames t, t-1, t-2 (channels 0-2, 3-5, 6-8)
    output  1x4xHxW  premultiplied foreground (RGB) and alpha

At a shot's start the gizmo feeds frame t in place of the missing predecessors (the engine's
``window_indices``). ``downsample_ratio`` is a plain float attribute (0: auto, long side near
512 px), so CatFileCreator can expose it as a knob. Nothing is tied to a device or a dtype:
the module follows what Nuke moves it to (GPU, half precision).

The module is built from the network's own submodules; only the attention and the guided
filter's last step are written out here in basic operations (matmul + softmax instead of
``scaled_dot_product_attention``, whole-frame interpolation instead of the banded CPU
path), so older TorchScript runtimes have every operator. Parity with the engine is tested
(``tests/test_cattery.py``).
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import __version__
from ..atomic import atomic_path
from ..engine.backend import AUTO_LONG_SIDE
from ..model import MemMatte
from ..model.encoder import IMAGENET_MEAN, IMAGENET_STD, TAPS
from ..protocol.errors import SettingsError
from ..weights import WeightsInfo

FORMAT = "memmatte-cattery"
FORMAT_VERSION = "1"
INPUT_CHANNELS = 9
OUTPUT_CHANNELS = 4
# The Inference node's channel lists (CatFileCreator "Channels In" / "Channels Out"): the
# gizmo copies frames t-1 and t-2 into these layers.
CHANNELS_IN = ("rgba.red,rgba.green,rgba.blue,"
               "mm_prev1.red,mm_prev1.green,mm_prev1.blue,"
               "mm_prev2.red,mm_prev2.green,mm_prev2.blue")
CHANNELS_OUT = "rgba.red,rgba.green,rgba.blue,rgba.alpha"


class CatteryMatte(nn.Module):
    """Stateless MemMatte: three stacked frames in, premultiplied foreground + alpha out.

    Example:
        >>> from memmatte.model import MemMatte
        >>> m = CatteryMatte(MemMatte().eval())
        >>> m(torch.rand(1, 9, 64, 96)).shape
        torch.Size([1, 4, 64, 96])
    """

    def __init__(self, model: MemMatte, downsample_ratio: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= downsample_ratio <= 1.0:
            raise SettingsError(f"--downsample-ratio must be 0 (auto) or in (0, 1], got "
                                f"{downsample_ratio}", option="downsample_ratio")
        model = model.float().eval().cpu()
        c = model.config
        if c.memory_frames != 2:
            raise ValueError(f"the Cattery model takes frames t, t-1, t-2: memory_frames must "
                             f"be 2, got {c.memory_frames}")
        self.downsample_ratio = float(downsample_ratio)
        self.long_side = float(AUTO_LONG_SIDE)
        features = list(model.backbone.features)
        bounds = [0] + [t + 1 for t in TAPS]
        self.stage1 = nn.Sequential(*features[bounds[0]:bounds[1]])
        self.stage2 = nn.Sequential(*features[bounds[1]:bounds[2]])
        self.stage3 = nn.Sequential(*features[bounds[2]:bounds[3]])
        self.stage4 = nn.Sequential(*features[bounds[3]:bounds[4]])
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.aspp = model.aspp
        self.has_memory = model.memory is not None
        if model.memory is not None:
            self.key = model.memory.key
            self.value = model.memory.value
            self.readout = model.memory.readout
            self.delta = model.memory.delta
        else:  # unused placeholders, so the scripted forward type-checks
            self.key = nn.Conv2d(c.aspp_channels, c.key_channels, 1)
            self.value = nn.Conv2d(c.aspp_channels, c.value_channels, 1)
            self.readout = nn.Conv2d(c.value_channels, c.aspp_channels, 1)
            self.delta = False
        self.key_scale = 1.0 / math.sqrt(c.key_channels)
        self.decoder = model.decoder
        self.project = model.project
        self.box_filter = model.refiner.box_filter
        self.dgf = model.refiner.conv

    # -- pieces -----------------------------------------------------------------------------
    def ratio_for(self, height: int, width: int) -> float:
        ratio = self.downsample_ratio
        if ratio <= 0.0:
            ratio = min(self.long_side / float(max(height, width)), 1.0)
        # As the engine does: the ratio rounded to float32 decides the sampling positions.
        return float(torch.tensor(ratio, dtype=torch.float32).item())

    def attend(self, query: Tensor, keys: Tensor, values: Tensor) -> Tensor:
        """query (N, Ck, h, w); keys (N, M, Ck, h, w); values (N, M, Cv, h, w)."""
        n, ck, h, w = query.shape
        cv = values.shape[2]
        q = query.flatten(2).transpose(1, 2)                       # N, hw, Ck
        k = keys.transpose(1, 2).flatten(2)                        # N, Ck, M*hw
        v = values.transpose(1, 2).flatten(2).transpose(1, 2)      # N, M*hw, Cv
        weights = torch.softmax(torch.bmm(q, k) * self.key_scale, dim=-1)
        return torch.bmm(weights, v).transpose(1, 2).reshape(n, cv, h, w)

    def fuse(self, f4: Tensor, n: int) -> Tensor:
        """Frame t's 1/16 features (the first n of f4) fused with what t-1, t-2 say."""
        if not self.has_memory:
            return f4[:n]
        key = self.key(f4)
        value = self.value(f4)
        own_k, own_v = key[:n], value[:n]
        keys = torch.stack([key[n:2 * n], key[2 * n:]], 1)
        values = torch.stack([value[n:2 * n], value[2 * n:]], 1)
        read = self.attend(own_k, keys, values)
        if self.delta:
            read = read - self.attend(own_k, own_k.unsqueeze(1).expand_as(keys),
                                      own_v.unsqueeze(1).expand_as(values))
            return f4[:n] + F.conv2d(read, self.readout.weight)
        return f4[:n] + self.readout(read)

    def refine(self, src: Tensor, src_sm: Tensor, out: Tensor, hidden: Tensor
               ) -> tuple[Tensor, Tensor]:
        """The Deep Guided Filter, whole-frame form."""
        x = torch.cat([src_sm, src_sm.mean(dim=1, keepdim=True)], dim=1)
        mean_x = self.box_filter(x)
        mean_y = self.box_filter(out)
        cov_xy = self.box_filter(x * out) - mean_x * mean_y
        var_x = self.box_filter(x * x) - mean_x * mean_x
        a = self.dgf(torch.cat([cov_xy, var_x, hidden], dim=1))
        b = mean_y - a * mean_x
        size = [src.shape[2], src.shape[3]]
        a = F.interpolate(a, size=size, mode="bilinear", align_corners=False)
        b = F.interpolate(b, size=size, mode="bilinear", align_corners=False)
        fine = torch.addcmul(b, a, torch.cat([src, src.mean(dim=1, keepdim=True)], dim=1))
        return (fine[:, :3] + src).clamp(0.0, 1.0), fine[:, 3:4].clamp(0.0, 1.0)

    # -- the model --------------------------------------------------------------------------
    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != 9:
            raise RuntimeError("memmatte: expected an Nx9xHxW input (RGB of frames t, t-1, "
                               "t-2)")
        n = x.shape[0]
        height, width = x.shape[2], x.shape[3]
        frames = torch.cat([x[:, 0:3], x[:, 3:6], x[:, 6:9]], 0)   # t, t-1, t-2
        ratio = self.ratio_for(height, width)
        if ratio < 1.0:
            small = F.interpolate(frames, scale_factor=[ratio, ratio], mode="bilinear",
                                  align_corners=False, recompute_scale_factor=False)
        else:
            small = frames
        h = (small - self.mean) / self.std
        f1 = self.stage1(h)
        f2 = self.stage2(f1)
        f3 = self.stage3(f2)
        f4 = self.aspp(self.stage4(f3))
        fused = self.fuse(f4, n)
        src, src_sm = frames[:n], small[:n]
        state: Optional[Tuple[Tensor, Tensor, Tensor, Tensor]] = None
        if self.decoder.recurrent:
            # A decoder window: the states start at t-2 and pass through t-1, each decoding
            # its own unfused features (model.MemMatte.window_states).
            for k in (2, 1):
                a, b = k * n, (k + 1) * n
                _, state = self.decoder.states(self.decoder.image_pyramid(small[a:b]), f1[a:b],
                                               f2[a:b], f3[a:b], f4[a:b], state)
        pyramid = self.decoder.image_pyramid(src_sm)
        hidden = self.decoder(pyramid, f1[:n], f2[:n], f3[:n], fused, state)
        out = self.project(hidden)
        if src_sm.shape[2] != height or src_sm.shape[3] != width:
            fgr, pha = self.refine(src, src_sm, out, hidden)
        else:
            fgr, pha = (out[:, :3] + src).clamp(0.0, 1.0), out[:, 3:4].clamp(0.0, 1.0)
        return torch.cat([fgr * pha, pha], 1)


def scripted(model: MemMatte, downsample_ratio: float = 0.0) -> torch.jit.ScriptModule:
    with torch.inference_mode(False), torch.no_grad():
        module = CatteryMatte(model, downsample_ratio).eval()
        return torch.jit.script(module)


def metadata(info: WeightsInfo, model: MemMatte) -> dict[str, str]:
    return {"format": FORMAT, "format_version": FORMAT_VERSION,
            "memmatte:version": __version__, "memmatte:weights": info.weights_id,
            "memmatte:config": json.dumps(model.config.to_dict(), sort_keys=True),
            "memmatte:source": Path(info.path).name,
            "input": "1x9xHxW: network-space RGB of frames t, t-1, t-2",
            "output": "1x4xHxW: premultiplied foreground RGB, alpha",
            "channels_in": CHANNELS_IN, "channels_out": CHANNELS_OUT,
            "torch": torch.__version__}


def export_cattery(model: MemMatte, info: WeightsInfo, path: str | Path,
                   downsample_ratio: float = 0.0) -> Path:
    """Write the TorchScript model (fp32, CPU; Nuke moves it) atomically, with memmatte
    metadata in the archive's ``extra/memmatte.json``."""
    path = Path(path)
    module = scripted(model, downsample_ratio)
    extra = {"memmatte.json": json.dumps(metadata(info, model), indent=1, sort_keys=True)}
    with atomic_path(path) as tmp:
        torch.jit.save(module, str(tmp), _extra_files=extra)
    return path


def read_metadata(path: str | Path) -> dict[str, str]:
    extra = {"memmatte.json": ""}
    torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    return dict(json.loads(extra["memmatte.json"]))


def cattery_steps(path: str | Path) -> str:
    """What to do in Nuke with the written model (printed by ``memmatte export``)."""
    path = Path(path)
    cat = path.with_suffix(".cat")
    return f"""Make the .cat in Nuke (14 or later) from {path}:
  scripted: in Nuke's Script Editor
      import memmatte_nuke.cattery as c; c.make_cat({str(path)!r}, {str(cat)!r})
  by hand: Nodes > Other > CatFileCreator, then
      Torchscript File  {path}
      Cat File          {cat}
      Channels In       {CHANNELS_IN}
      Channels Out      {CHANNELS_OUT}
      Model Id          memmatte
      Output Scale      1
    drag a Floating Point Slider into the panel, name it downsample_ratio (range 0-1;
    0 = auto), press Create .cat file.
  Then use plugin/nuke/cattery/MemoryMatteCattery.gizmo (its model knob names the .cat):
  it converts the plate to the network space, feeds frames t, t-1, t-2 through TimeOffset
  and Copy nodes, and brings the foreground back to the working space."""
