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
        # The strip-wise form only pays off where memory bandwidth is the limit (CPU), and it
        # cannot be differentiated.
        if fine_src.device.type == "cpu" and not torch.onnx.is_in_onnx_export() and not (
                torch.is_grad_enabled() and (a.requires_grad or fine_src.requires_grad)):
            return apply_coefficients(fine_src, a, b)
        return apply_coefficients_reference(fine_src, a, b)

def _axis_weights(size_in: int, size_out: int, device: torch.device
                  ) -> tuple[Tensor, Tensor, Tensor]:
    """Bilinear (align_corners=False) source indices and weights along one axis, as
    ``F.interpolate`` computes them: src = (dst + 0.5) * in / out - 0.5, clamped at 0."""
    scale = size_in / size_out
    pos = ((torch.arange(size_out, dtype=torch.float64, device=device) + 0.5) * scale - 0.5
           ).clamp_min(0.0)
    i0 = pos.floor().long().clamp_max(size_in - 1)
    i1 = (i0 + 1).clamp_max(size_in - 1)
    return i0, i1, (pos - i0).to(torch.float32)


def apply_coefficients(fine_src: Tensor, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """Final foreground and alpha at full resolution from low-resolution A and b.

    fgr = clamp((A + 1) * src + b), alpha = clamp(A * grey + b): the foreground residual's
    "+ src" folded into A. Output rows that interpolate between the same two low-resolution
    rows are done together, so the upsampled A and b never exist at full size: at 4K this
    reads the plate once and writes the result once, where whole-frame ops stream eight
    full-size planes through memory. Inference only (writes into a preallocated output);
    ``apply_coefficients_reference`` is the differentiable form.
    """
    n, c, h, w = a.shape
    height, width = fine_src.shape[2:]
    dev = fine_src.device
    y0, y1, wy = _axis_weights(h, height, dev)
    one = torch.zeros(1, c, 1, 1, dtype=a.dtype, device=dev)
    one[:, :3] = 1.0
    # Horizontal pass at low height, for A and b together: (n, 2c, h, width). With the height
    # unchanged, interpolate's rows are exact copies, so only the columns are resampled.
    ab = F.interpolate(torch.cat([a + one, b], dim=1), (h, width), mode="bilinear",
                       align_corners=False)
    delta = ab[:, :, 1:] - ab[:, :, :-1] if h > 1 else torch.zeros_like(ab)
    wy = wy.to(ab.dtype)
    out = torch.empty(n, c, height, width, dtype=fine_src.dtype, device=dev)
    # Runs of output rows sharing their low-resolution row pair (about height / h rows).
    y0_list = y0.tolist()
    starts = [0] + [r for r in range(1, height) if y0_list[r] != y0_list[r - 1]] + [height]
    for r0, r1 in zip(starts[:-1], starts[1:]):
        i = y0_list[r0]
        d = delta[:, :, min(i, delta.shape[2] - 1)].unsqueeze(2)
        coef = torch.addcmul(ab[:, :, i].unsqueeze(2), d, wy[r0:r1].view(1, 1, -1, 1))
        if int(y1[r0]) == i:  # clamped at the last row: no interpolation
            coef = ab[:, :, i].unsqueeze(2).expand(-1, -1, r1 - r0, -1)
        x = with_grey(fine_src[:, :, r0:r1])
        torch.addcmul(coef[:, c:], coef[:, :c], x, out=out[:, :, r0:r1])
    out.clamp_(0.0, 1.0)
    return out[:, :3], out[:, 3:4]


def apply_coefficients_reference(fine_src: Tensor, a: Tensor, b: Tensor
                                 ) -> tuple[Tensor, Tensor]:
    """The same as ``apply_coefficients`` with whole-frame ops (differentiable)."""
    size = fine_src.shape[2:]
    a = F.interpolate(a, size, mode="bilinear", align_corners=False)
    b = F.interpolate(b, size, mode="bilinear", align_corners=False)
    out = torch.addcmul(b, a, with_grey(fine_src))
    return (out[:, :3] + fine_src).clamp(0.0, 1.0), out[:, 3:4].clamp(0.0, 1.0)
