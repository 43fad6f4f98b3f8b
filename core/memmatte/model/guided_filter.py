"""Deep Guided Filter (Wu et al. 2018): brings low-resolution outputs to plate resolution.

A per-pixel linear model y = A * x + b is fitted at low resolution, where x is the image
(RGB + grey) and y the outputs (foreground residual + alpha); a small network predicts A from
local statistics and the decoder's hidden features; A and b are upsampled and applied to the
full-resolution image.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def with_grey(img: Tensor) -> Tensor:
    return torch.cat([img, img.mean(dim=1, keepdim=True)], dim=1)


class DeepGuidedFilter(nn.Module):
    def __init__(self, hidden: int = 16) -> None:
        super().__init__()
        # Learned (initially a 3x3 mean): published weights train this filter too.
        self.box_filter = nn.Conv2d(4, 4, 3, padding=1, bias=False, groups=4)
        nn.init.constant_(self.box_filter.weight, 1.0 / 9.0)
        self.conv = nn.Sequential(
            nn.Conv2d(4 * 2 + hidden, hidden, 1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, hidden, 1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, 4, 1),
        )

    def coefficients(self, base_src: Tensor, base_out: Tensor, hidden: Tensor
                     ) -> tuple[Tensor, Tensor]:
        """A and b at low resolution; base_out is (N, 4, h, w) = fgr residual + alpha."""
        x = with_grey(base_src)
        mean_x = self.box_filter(x)
        mean_y = self.box_filter(base_out)
        cov_xy = self.box_filter(x * base_out) - mean_x * mean_y
        var_x = self.box_filter(x * x) - mean_x * mean_x
        a = self.conv(torch.cat([cov_xy, var_x, hidden], dim=1))
        b = mean_y - a * mean_x
        return a, b

    def forward(self, fine_src: Tensor, base_src: Tensor, base_out: Tensor, hidden: Tensor
                ) -> tuple[Tensor, Tensor]:
        """Final foreground (base_out's residual + fine_src) and alpha at fine resolution."""
        a, b = self.coefficients(base_src, base_out, hidden)
        return apply_coefficients(fine_src, a, b)


def apply_coefficients(fine_src: Tensor, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """Final foreground and alpha at full resolution from low-resolution A and b, whole-frame
    and differentiable (training, evaluation). The engines do the same per strip in numpy
    (``memmatte.engine.full_resolution``), which never builds the full-size A and b."""
    size = fine_src.shape[2:]
    a = F.interpolate(a, size, mode="bilinear", align_corners=False)
    b = F.interpolate(b, size, mode="bilinear", align_corners=False)
    out = torch.addcmul(b, a, with_grey(fine_src))
    return (out[:, :3] + fine_src).clamp(0.0, 1.0), out[:, 3:4].clamp(0.0, 1.0)
