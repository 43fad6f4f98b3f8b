"""Up-sampling decoder (paper section 3.2) and output block (3.3).

Each up-sampling block doubles the resolution, concatenates the encoder skip feature and the
average-pooled image at that scale, reduces channels with a 3x3 conv, then merges them with a
gated block whose untouched half is the residual path.
"""
from __future__ import annotations

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


class GatedBlock(nn.Module):
    """Refines half the channels through a gate, passes the other half through unchanged.

    out = [a, sigmoid(gate(b)) * tanh(candidate(b))] for x = [a, b]. This is what the
    published ConvGRU decoder computes on a shot's first frame (zero state), so its weights
    initialise this block exactly; temporal context comes from the memory block instead.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.half = channels // 2
        rest = channels - self.half
        self.gate = nn.Conv2d(rest, rest, 3, padding=1)
        self.candidate = nn.Conv2d(rest, rest, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        a, b = x[:, : self.half], x[:, self.half :]
        return torch.cat([a, torch.sigmoid(self.gate(b)) * torch.tanh(self.candidate(b))], 1)


class UpsamplingBlock(nn.Module):
    def __init__(self, cin: int, cskip: int, cimg: int, cout: int) -> None:
        super().__init__()
        self.conv = conv_bn_relu(cin + cskip + cimg, cout)
        self.refine = GatedBlock(cout)

    def forward(self, x: Tensor, skip: Tensor, img: Tensor) -> Tensor:
        x = torch.cat([upsample_to(x, skip), skip, img], dim=1)
        return self.refine(self.conv(x))


class OutputBlock(nn.Module):
    """Full resolution: previous output + image, two 3x3 conv/BN/ReLU layers."""

    def __init__(self, cin: int, cimg: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(conv_bn_relu(cin + cimg, cout), conv_bn_relu(cout, cout))

    def forward(self, x: Tensor, img: Tensor) -> Tensor:
        return self.conv(torch.cat([upsample_to(x, img), img], dim=1))


class Decoder(nn.Module):
    """Features (1/2, 1/4, 1/8 skips; fused 1/16) + image -> hidden features at full size."""

    def __init__(self, skip_channels: tuple[int, int, int], bottleneck: int,
                 widths: tuple[int, int, int, int]) -> None:
        super().__init__()
        s1, s2, s3 = skip_channels
        w3, w2, w1, w0 = widths
        self.pool = nn.AvgPool2d(2, 2, ceil_mode=True, count_include_pad=False)
        self.bottleneck = GatedBlock(bottleneck)
        self.decode3 = UpsamplingBlock(bottleneck, s3, 3, w3)
        self.decode2 = UpsamplingBlock(w3, s2, 3, w2)
        self.decode1 = UpsamplingBlock(w2, s1, 3, w1)
        self.decode0 = OutputBlock(w1, 3, w0)

    def image_pyramid(self, img: Tensor) -> list[Tensor]:
        """The image at 1/1, 1/2, 1/4, 1/8 and 1/16."""
        levels = [img]
        for _ in range(4):
            levels.append(self.pool(levels[-1]))
        return levels

    def forward(self, pyramid: list[Tensor], f1: Tensor, f2: Tensor, f3: Tensor,
                fused: Tensor) -> Tensor:
        x = self.decode3(self.bottleneck(fused), f3, pyramid[3])
        x = self.decode2(x, f2, pyramid[2])
        x = self.decode1(x, f1, pyramid[1])
        return self.decode0(x, pyramid[0])
