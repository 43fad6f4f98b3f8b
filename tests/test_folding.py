"""BatchNorms folded into their convolutions for inference: same outputs, the source untouched."""
from __future__ import annotations

import torch
from torch import nn

from memmatte.model.folding import fold_batch_norms
from memmatte.weights import load_weights


def test_the_shipped_network_folds_every_batch_norm_and_keeps_its_outputs() -> None:
    model, _ = load_weights()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    folded = fold_batch_norms(model)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 54
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    src = torch.rand(1, 2, 3, 96, 160, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        want, got = model.eval()(src, 0.5), folded(src, 0.5)
    for name in ("fgr", "pha"):
        diff = (getattr(got, name) - getattr(want, name)).abs().max().item()
        assert 0 < diff <= 1e-4, name  # folded: not the same arithmetic, the same result


def test_only_a_convolution_run_right_before_its_batch_norm_is_folded() -> None:
    class Branches(nn.Module):  # registration order is not run order here: left alone
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.bn = nn.Conv2d(3, 3, 1), nn.BatchNorm2d(3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(x) + self.bn(x)

    net = nn.Sequential(nn.Conv2d(3, 3, 1), nn.ReLU(), nn.BatchNorm2d(3), Branches(),
                        nn.Conv2d(3, 3, 1, bias=False), nn.BatchNorm2d(3))
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
    net.eval()
    folded = fold_batch_norms(net)
    kinds = [type(m).__name__ for m in folded]
    assert kinds == ["Conv2d", "ReLU", "BatchNorm2d", "Branches", "Conv2d", "Identity"]
    assert isinstance(folded[3].bn, nn.BatchNorm2d)
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        assert torch.allclose(folded(x), net(x), atol=1e-5)
