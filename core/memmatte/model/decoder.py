"""Up-sampling decoder (paper section 3.2) and output block (3.3).

Each up-sampling block doubles the resolution, concatenates the encoder skip feature and the
average-pooled image at that scale, reduces channels with a 3x3 conv, then merges them with a
gated block whose untouched half is the residual path.

With ``window`` (``ModelConfig.decoder_memory``) the gated blocks are convolutional GRUs
whose state never outlives the memory window: frame t's state is rebuilt from zero over
frames t-2 and t-1 (their own encoder features), so the output still depends on frames
t-2..t only (DESIGN invariant 1) while the decoder sees the previous *mattes'* history at
1/16, 1/8, 1/4 and 1/2, where holes and background flicker live.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def conv_bn_relu(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


def upsample_to(x: Tensor, like: Tensor) -> Tensor:
    """Bilinear x2, cropped to ``like``: encoder sizes round up, so 2x can overshoot by one."""
    x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
    return x[:, :, : like.shape[2], : like.shape[3]]


# The convolutions a recurrent gated block adds, which read the state.
STATE_PARTS = ("gate_state", "reset", "candidate_state")


class GatedBlock(nn.Module):
    """Refines half the channels through a gate, passes the other half through unchanged.

    out = [a, sigmoid(gate(b)) * tanh(candidate(b))] for x = [a, b]. This is what the
    published ConvGRU decoder computes on a shot's first frame (zero state), so its weights
    initialise this block exactly.

    ``recurrent``: the block is the whole GRU, with a state h of the refined half's shape:
    z = sigmoid(gate(b) + gate_state(h)), r = sigmoid(reset([b, h])),
    c = tanh(candidate(b) + candidate_state(r * h)), h' = (1 - z) h + z c; the block returns
    [a, h'] and h' is the next frame's state. Without a state (None) it is the gated block
    above exactly, whatever the state weights are.
    """

    def __init__(self, channels: int, recurrent: bool = False) -> None:
        super().__init__()
        self.half = channels // 2
        rest = channels - self.half
        self.gate = nn.Conv2d(rest, rest, 3, padding=1)
        self.candidate = nn.Conv2d(rest, rest, 3, padding=1)
        self.recurrent = recurrent
        # None where not recurrent (not absent): TorchScript then drops the state branch.
        self.gate_state = nn.Conv2d(rest, rest, 3, padding=1, bias=False) if recurrent else None
        self.reset = nn.Conv2d(2 * rest, rest, 3, padding=1) if recurrent else None
        self.candidate_state = (nn.Conv2d(rest, rest, 3, padding=1, bias=False) if recurrent
                                else None)

    def forward(self, x: Tensor, state: Optional[Tensor] = None) -> Tensor:
        a, b = x[:, : self.half], x[:, self.half :]
        if state is None:
            return torch.cat([a, torch.sigmoid(self.gate(b)) * torch.tanh(self.candidate(b))], 1)
        # Written as TorchScript refines optional submodules: test each, then call it.
        if self.gate_state is not None and self.reset is not None \
                and self.candidate_state is not None:
            z = torch.sigmoid(self.gate(b) + self.gate_state(state))
            r = torch.sigmoid(self.reset(torch.cat([b, state], 1)))
            c = torch.tanh(self.candidate(b) + self.candidate_state(r * state))
            return torch.cat([a, state + z * (c - state)], 1)
        raise ValueError("a state was given to a gated block without state weights")

    def next_state(self, out: Tensor) -> Tensor:
        """The state the next frame starts from: the refined half of this block's output."""
        return out[:, self.half :]


class UpsamplingBlock(nn.Module):
    def __init__(self, cin: int, cskip: int, cimg: int, cout: int,
                 recurrent: bool = False) -> None:
        super().__init__()
        self.conv = conv_bn_relu(cin + cskip + cimg, cout)
        self.refine = GatedBlock(cout, recurrent)

    def forward(self, x: Tensor, skip: Tensor, img: Tensor, state: Optional[Tensor] = None
                ) -> Tensor:
        x = torch.cat([upsample_to(x, skip), skip, img], dim=1)
        return self.refine(self.conv(x), state)


class OutputBlock(nn.Module):
    """Full resolution: previous output + image, two 3x3 conv/BN/ReLU layers."""

    def __init__(self, cin: int, cimg: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(conv_bn_relu(cin + cimg, cout), conv_bn_relu(cout, cout))

    def forward(self, x: Tensor, img: Tensor) -> Tensor:
        return self.conv(torch.cat([upsample_to(x, img), img], dim=1))


# Decoder states of one frame: the refined halves at 1/16, 1/8, 1/4 and 1/2.
States = Tuple[Tensor, Tensor, Tensor, Tensor]


class Decoder(nn.Module):
    """Features (1/2, 1/4, 1/8 skips; fused 1/16) + image -> hidden features at full size."""

    def __init__(self, skip_channels: tuple[int, int, int], bottleneck: int,
                 widths: tuple[int, int, int, int], recurrent: bool = False) -> None:
        super().__init__()
        s1, s2, s3 = skip_channels
        w3, w2, w1, w0 = widths
        self.recurrent = recurrent
        self.pool = nn.AvgPool2d(2, 2, ceil_mode=True, count_include_pad=False)
        self.bottleneck = GatedBlock(bottleneck, recurrent)
        self.decode3 = UpsamplingBlock(bottleneck, s3, 3, w3, recurrent)
        self.decode2 = UpsamplingBlock(w3, s2, 3, w2, recurrent)
        self.decode1 = UpsamplingBlock(w2, s1, 3, w1, recurrent)
        self.decode0 = OutputBlock(w1, 3, w0)

    def image_pyramid(self, img: Tensor) -> list[Tensor]:
        """The image at 1/1, 1/2, 1/4, 1/8 and 1/16."""
        levels = [img]
        for _ in range(4):
            levels.append(self.pool(levels[-1]))
        return levels

    def states(self, pyramid: List[Tensor], f1: Tensor, f2: Tensor, f3: Tensor,
               fused: Tensor, state: Optional[States] = None) -> Tuple[Tensor, States]:
        """The 1/2 output and the states after this frame (the output block is not run: a
        predecessor in the window only hands its states on)."""
        s4: Optional[Tensor] = None
        s3: Optional[Tensor] = None
        s2: Optional[Tensor] = None
        s1: Optional[Tensor] = None
        if state is not None:
            s4, s3, s2, s1 = state
        x4 = self.bottleneck(fused, s4)
        x3 = self.decode3(x4, f3, pyramid[3], s3)
        x2 = self.decode2(x3, f2, pyramid[2], s2)
        x1 = self.decode1(x2, f1, pyramid[1], s1)
        return x1, (self.bottleneck.next_state(x4), self.decode3.refine.next_state(x3),
                    self.decode2.refine.next_state(x2), self.decode1.refine.next_state(x1))

    def forward(self, pyramid: List[Tensor], f1: Tensor, f2: Tensor, f3: Tensor,
                fused: Tensor, state: Optional[States] = None) -> Tensor:
        x1, _ = self.states(pyramid, f1, f2, f3, fused, state)
        return self.decode0(x1, pyramid[0])
