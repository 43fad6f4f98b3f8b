"""Lite R-ASPP (Howard et al. 2019): a 1x1 branch gated by a global-context branch."""
from __future__ import annotations

from torch import Tensor, nn


class LRASPP(nn.Module):
    def __init__(self, cin: int = 960, cout: int = 128) -> None:
        super().__init__()
        self.aspp1 = nn.Sequential(
            nn.Conv2d(cin, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        )
        self.aspp2 = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(cin, cout, 1, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.aspp1(x) * self.aspp2(x)
