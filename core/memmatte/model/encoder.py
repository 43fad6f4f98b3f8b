"""MobileNetV3-Large feature encoder with torchvision's parameter names.

Parameter names match ``torchvision.models.mobilenet_v3_large().features`` so an ImageNet
state dict loads as it is (prefix ``features.``). The last stage is dilated (output stride 16),
as in the paper, and the classifier is left out.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor, nn

# torchvision's MobileNetV3 BatchNorm settings; converted statistics assume them.
BN_EPS = 0.001
BN_MOMENTUM = 0.01

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Bneck:
    inp: int
    kernel: int
    expanded: int
    out: int
    se: bool
    hswish: bool
    stride: int
    dilation: int = 1


# MobileNetV3-Large (Howard et al. 2019, table 1); the last three blocks are dilated.
LARGE: tuple[Bneck, ...] = (
    Bneck(16, 3, 16, 16, False, False, 1),
    Bneck(16, 3, 64, 24, False, False, 2),
    Bneck(24, 3, 72, 24, False, False, 1),
    Bneck(24, 5, 72, 40, True, False, 2),
    Bneck(40, 5, 120, 40, True, False, 1),
    Bneck(40, 5, 120, 40, True, False, 1),
    Bneck(40, 3, 240, 80, False, True, 2),
    Bneck(80, 3, 200, 80, False, True, 1),
    Bneck(80, 3, 184, 80, False, True, 1),
    Bneck(80, 3, 184, 80, False, True, 1),
    Bneck(80, 3, 480, 112, True, True, 1),
    Bneck(112, 3, 672, 112, True, True, 1),
    Bneck(112, 5, 672, 160, True, True, 2, 2),
    Bneck(160, 5, 960, 160, True, True, 1, 2),
    Bneck(160, 5, 960, 160, True, True, 1, 2),
)
# Indices into ``features`` after which the 1/2, 1/4, 1/8 and 1/16 maps are taken.
TAPS = (1, 3, 6, 16)
FEATURE_CHANNELS = (16, 24, 40, 960)


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round channel counts the way MobileNet does (never more than 10% down)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


class ConvBNAct(nn.Sequential):
    """Conv, BatchNorm, optional activation; indices 0/1/2 mirror torchvision's names."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1,
                 dilation: int = 1, act: type[nn.Module] | None = nn.ReLU) -> None:
        padding = (kernel - 1) // 2 * dilation
        layers: list[nn.Module] = [
            nn.Conv2d(cin, cout, kernel, stride, padding, dilation=dilation, groups=groups,
                      bias=False),
            nn.BatchNorm2d(cout, eps=BN_EPS, momentum=BN_MOMENTUM),
        ]
        if act is not None:
            layers.append(act(inplace=True))
        super().__init__(*layers)


class SqueezeExcitation(nn.Module):
    def __init__(self, channels: int, squeeze: int) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.activation = nn.ReLU(inplace=True)
        self.scale_activation = nn.Hardsigmoid(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        s = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return x * s


class InvertedResidual(nn.Module):
    def __init__(self, cfg: Bneck) -> None:
        super().__init__()
        act = nn.Hardswish if cfg.hswish else nn.ReLU
        # Dilated blocks keep their resolution: dilation replaces the stride.
        stride = 1 if cfg.dilation > 1 else cfg.stride
        self.use_residual = stride == 1 and cfg.inp == cfg.out
        layers: list[nn.Module] = []
        if cfg.expanded != cfg.inp:
            layers.append(ConvBNAct(cfg.inp, cfg.expanded, 1, act=act))
        layers.append(ConvBNAct(cfg.expanded, cfg.expanded, cfg.kernel, stride,
                                groups=cfg.expanded, dilation=cfg.dilation, act=act))
        if cfg.se:
            layers.append(SqueezeExcitation(cfg.expanded, make_divisible(cfg.expanded / 4)))
        layers.append(ConvBNAct(cfg.expanded, cfg.out, 1, act=None))
        self.block = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        y = self.block(x)
        return x + y if self.use_residual else y


class EncoderFeatures(NamedTuple):
    f1: Tensor  # 1/2, 16 channels
    f2: Tensor  # 1/4, 24 channels
    f3: Tensor  # 1/8, 40 channels
    f4: Tensor  # 1/16, 960 channels


class MobileNetV3LargeEncoder(nn.Module):
    """Input: RGB in [0, 1], shape (N, 3, H, W). Output: features at 1/2, 1/4, 1/8, 1/16.

    Example:
        >>> enc = MobileNetV3LargeEncoder().eval()
        >>> [tuple(f.shape) for f in enc(torch.rand(1, 3, 64, 64))]
        [(1, 16, 32, 32), (1, 24, 16, 16), (1, 40, 8, 8), (1, 960, 4, 4)]
    """

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = [ConvBNAct(3, 16, 3, stride=2, act=nn.Hardswish)]
        layers += [InvertedResidual(cfg) for cfg in LARGE]
        layers.append(ConvBNAct(160, 960, 1, act=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1),
                             persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1),
                             persistent=False)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, src: Tensor) -> EncoderFeatures:
        if src.dim() != 4 or src.shape[1] != 3:
            raise ValueError(f"expected src of shape (N, 3, H, W), got {tuple(src.shape)}")
        x = (src - self.mean) / self.std
        taps: list[Tensor] = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in TAPS:
                taps.append(x)
        return EncoderFeatures(*taps)
