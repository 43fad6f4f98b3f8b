"""memmatte.train.losses: the paper's training losses (section 5.2), checked by hand values."""
from __future__ import annotations

import pytest
import torch

from memmatte.model.network import MattingOutput
from memmatte.train.losses import (
    TERMS,
    aggregation_loss,
    alpha_loss,
    area_downsample,
    composition_loss,
    gaussian_blur,
    laplacian_loss,
    laplacian_pyramid,
    matting_losses,
    pyr_up,
    temporal_loss,
)


def clip(b: int = 2, t: int = 3, h: int = 32, w: int = 48, seed: int = 0
         ) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, t, 3, h, w, generator=g), torch.rand(b, t, 1, h, w, generator=g)


def exact(fgr: torch.Tensor, pha: torch.Tensor, lr: bool = True) -> MattingOutput:
    """A prediction equal to the truth, the low-resolution head included (1/16 size)."""
    if not lr:
        return MattingOutput(fgr.clone(), pha.clone(), None, None, None)
    size = (-(-pha.shape[-2] // 16), -(-pha.shape[-1] // 16))
    return MattingOutput(fgr.clone(), pha.clone(), area_downsample(fgr, size),
                         area_downsample(pha, size), None)


def checker(h: int, w: int) -> torch.Tensor:
    i, j = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    return ((-1.0) ** (i + j)).float()


# ------------------------------------------------------------------ each term on its own


@pytest.mark.parametrize("shape", [(2, 3, 32, 48), (1, 1, 37, 23), (1, 2, 5, 3), (1, 2, 1, 1)])
def test_every_term_zero_when_prediction_is_truth(shape: tuple[int, int, int, int]) -> None:
    fgr, pha = clip(*shape)
    losses = matting_losses(exact(fgr, pha), fgr, pha)
    expected = set(TERMS) - ({"tem"} if shape[1] == 1 else set())
    assert set(losses) == expected | {"total"}
    for name, value in losses.items():
        assert value.dtype == torch.float32
        assert float(value) == pytest.approx(0.0, abs=1e-7), name


def test_alpha_l1_of_a_constant_offset() -> None:
    _, pha = clip()
    assert float(alpha_loss(pha + 0.125, pha)) == pytest.approx(0.125, abs=1e-6)
    assert float(alpha_loss(pha - 0.25, pha)) == pytest.approx(0.25, abs=1e-6)


def test_pyramid_of_a_constant_has_only_the_coarsest_level() -> None:
    for h, w in [(64, 64), (37, 23), (5, 3), (1, 7)]:
        levels = laplacian_pyramid(torch.full((1, 1, h, w), 0.7), residual=True)
        assert len(levels) == 6
        for band in levels[:5]:
            assert float(band.abs().max()) < 1e-6
        assert torch.allclose(levels[5], torch.full_like(levels[5], 0.7))
    # so a constant offset costs nothing in L_lap (L_alpha sees it)
    _, pha = clip(h=37, w=23)
    assert float(laplacian_loss(pha + 0.3, pha)) == pytest.approx(0.0, abs=1e-6)


def test_pyramid_sizes_and_reconstruction_on_odd_sizes() -> None:
    x = torch.rand(3, 1, 37, 23, dtype=torch.float64)
    levels = laplacian_pyramid(x, residual=True)
    assert [tuple(b.shape[-2:]) for b in levels] == [(37, 23), (19, 12), (10, 6), (5, 3),
                                                     (3, 2), (2, 1)]
    current = levels[-1]
    for band in reversed(levels[:-1]):
        current = band + pyr_up(current, (band.shape[2], band.shape[3]))
    assert torch.allclose(current, x, atol=1e-12)


def test_blur_kernel_is_binomial_with_reflect_padding() -> None:
    impulse = torch.zeros(1, 1, 9, 9)
    impulse[0, 0, 4, 4] = 1.0
    k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16
    assert torch.allclose(gaussian_blur(impulse)[0, 0, 2:7, 2:7], torch.outer(k, k))
    edge = torch.zeros(1, 1, 1, 9)
    edge[0, 0, 0, 1] = 1.0  # reflect: pixel 1 is also seen at index -1
    row = gaussian_blur(edge)[0, 0, 0]
    assert float(row[0]) == pytest.approx(8 / 16)  # 4/16 from index 1, 4/16 from index -1


def test_laplacian_of_a_checkerboard_is_the_finest_band_only() -> None:
    # The kernel [1,4,6,4,1] cancels the Nyquist pattern exactly (1-4+6-4+1 = 0) and reflect
    # padding keeps its parity, so the whole error sits in band 1 (weight 2^0 = 1).
    for h, w in [(32, 32), (37, 23), (4, 3)]:
        error = 0.1 * checker(h, w)[None, None]
        bands = laplacian_pyramid(error)
        assert torch.allclose(bands[0], error, atol=1e-7)
        assert all(float(b.abs().max()) < 1e-7 for b in bands[1:])
        true = torch.full((1, 1, 1, h, w), 0.5)
        assert float(laplacian_loss(true + error[None], true)) == pytest.approx(0.1, abs=1e-6)


def test_laplacian_levels_weigh_two_to_the_level() -> None:
    pred, true = torch.rand(2, 1, 1, 40, 40), torch.rand(2, 1, 1, 40, 40)
    bands = laplacian_pyramid(pred - true)
    by_hand = sum(2 ** s * float(b.abs().mean()) for s, b in enumerate(bands))
    assert float(laplacian_loss(pred, true)) == pytest.approx(by_hand, rel=1e-6)
    # The same value as the difference of the two pyramids (the pyramid is linear).
    two = sum(2 ** s * float((p - t).abs().mean()) for s, (p, t) in
              enumerate(zip(laplacian_pyramid(pred), laplacian_pyramid(true))))
    assert float(laplacian_loss(pred, true)) == pytest.approx(two, rel=1e-5)


def test_composition_is_foreground_l1_weighted_by_true_alpha() -> None:
    fgr, _ = clip()
    pha = torch.zeros(2, 3, 1, 32, 48)
    pha[..., :24] = 1.0  # half the picture is foreground
    assert float(composition_loss(fgr + 0.2, fgr, pha)) == pytest.approx(0.1, abs=1e-6)
    # where the truth is transparent the foreground colour does not count
    wrong = fgr.clone()
    wrong[..., 24:] = 1.0 - wrong[..., 24:]
    assert float(composition_loss(wrong, fgr, pha)) == 0.0
    assert float(composition_loss(fgr + 0.2, fgr, torch.full_like(pha, 0.5))) == \
        pytest.approx(0.1, abs=1e-6)


def test_aggregation_compares_against_area_averaged_truth() -> None:
    fgr = torch.zeros(1, 2, 3, 32, 32)
    pha = torch.zeros(1, 2, 1, 32, 32)
    pha[..., :16] = 1.0  # left half opaque
    fgr[:, :, 0] = 1.0  # red foreground
    down = area_downsample(pha, (2, 2))
    assert torch.equal(down[0, 0, 0], torch.tensor([[1.0, 0.0], [1.0, 0.0]]))
    # a 2x2 head predicting zeros: alpha is off by 0.5 on average, red by 1 in a third of
    # the channels
    zero_pha, zero_fgr = torch.zeros(1, 2, 1, 2, 2), torch.zeros(1, 2, 3, 2, 2)
    assert float(aggregation_loss(zero_fgr, zero_pha, fgr, pha)) == pytest.approx(0.5 + 1 / 3)
    # averaging, not sampling: a 3x3 block pattern on 9x9 averages to 1/9 per block
    dots = torch.zeros(1, 1, 1, 9, 9)
    dots[..., 1::3, 1::3] = 1.0
    assert torch.allclose(area_downsample(dots, (3, 3)), torch.full((1, 1, 1, 3, 3), 1 / 9))


def test_temporal_loss_on_a_three_frame_ramp() -> None:
    true_fgr = torch.full((1, 3, 3, 4, 4), 0.5)
    true_pha = torch.zeros(1, 3, 1, 4, 4)
    ramp = torch.tensor([0.0, 0.1, 0.2]).view(1, 3, 1, 1, 1).expand(1, 3, 1, 4, 4)
    # predicted alpha rises by 0.1 per frame, the truth is still: (0.1)^2 per step
    assert float(temporal_loss(true_fgr, ramp, true_fgr, true_pha)) == pytest.approx(0.01)
    # a ramp that follows the truth's own ramp costs nothing, even if offset
    assert float(temporal_loss(true_fgr, ramp + 0.3, true_fgr, ramp)) == \
        pytest.approx(0.0, abs=1e-12)
    # one jump of 0.1 out of two steps, in the foreground this time
    step = torch.tensor([0.5, 0.6, 0.6]).view(1, 3, 1, 1, 1).expand(1, 3, 3, 4, 4)
    assert float(temporal_loss(step, true_pha, true_fgr, true_pha)) == pytest.approx(0.005)
    with pytest.raises(ValueError, match="T >= 2"):
        temporal_loss(true_fgr[:, :1], true_pha[:, :1], true_fgr[:, :1], true_pha[:, :1])


# ------------------------------------------------------------------ matting_losses


def test_total_is_the_sum_and_terms_match_the_functions() -> None:
    fgr, pha = clip(seed=1)
    pred_fgr, pred_pha = clip(seed=2)
    pred = exact(pred_fgr, pred_pha)
    losses = matting_losses(pred, fgr, pha)
    assert float(losses["total"]) == pytest.approx(sum(float(losses[k]) for k in TERMS),
                                                   rel=1e-6)
    assert float(losses["alpha"]) == pytest.approx(float(alpha_loss(pred_pha, pha)))
    assert float(losses["lap"]) == pytest.approx(float(laplacian_loss(pred_pha, pha)))
    assert float(losses["com"]) == pytest.approx(float(composition_loss(pred_fgr, fgr, pha)))
    assert float(losses["tem_agg"]) == pytest.approx(
        float(aggregation_loss(pred.lr_fgr, pred.lr_pha, fgr, pha)))
    assert float(losses["tem"]) == pytest.approx(
        float(temporal_loss(pred_fgr, pred_pha, fgr, pha)))


def test_weights_scale_terms_and_zero_drops_them() -> None:
    fgr, pha = clip(seed=1)
    pred = exact(*clip(seed=2))
    plain = matting_losses(pred, fgr, pha)
    scaled = matting_losses(pred, fgr, pha, weights={"alpha": 2.0, "lap": 0.5, "tem": 0.0})
    assert float(scaled["alpha"]) == pytest.approx(2 * float(plain["alpha"]))
    assert float(scaled["lap"]) == pytest.approx(0.5 * float(plain["lap"]))
    assert float(scaled["com"]) == pytest.approx(float(plain["com"]))
    assert "tem" not in scaled
    assert float(scaled["total"]) == pytest.approx(
        float(plain["total"]) + float(plain["alpha"]) - 0.5 * float(plain["lap"])
        - float(plain["tem"]), rel=1e-5)
    with pytest.raises(ValueError, match="unknown loss weights"):
        matting_losses(pred, fgr, pha, weights={"alhpa": 1.0})
    with pytest.raises(ValueError, match="must be >= 0"):
        matting_losses(pred, fgr, pha, weights={"lap": -1.0})
    nothing = matting_losses(pred, fgr, pha, weights={k: 0.0 for k in TERMS})
    assert set(nothing) == {"total"} and float(nothing["total"]) == 0.0


def test_which_terms_appear() -> None:
    fgr, pha = clip()
    pred = exact(*clip(seed=3), lr=False)
    assert set(matting_losses(pred, fgr, pha)) == {"alpha", "lap", "com", "tem", "total"}
    assert "tem" not in matting_losses(exact(*clip(seed=3)), fgr, pha, temporal=False)
    # single frames (B, C, H, W): no time axis, no temporal term
    frame = matting_losses(exact(fgr[:, 0], pha[:, 0]), fgr[:, 0] + 0.1, pha[:, 0])
    assert set(frame) == {"alpha", "lap", "com", "tem_agg", "total"}
    assert float(frame["com"]) == pytest.approx(0.1 * float(pha[:, 0].mean()), rel=1e-5)


def test_gradients_reach_every_prediction() -> None:
    fgr, pha = clip(t=3, h=37, w=29)  # odd sizes
    p_fgr, p_pha = clip(t=3, h=37, w=29, seed=5)
    lr_fgr, lr_pha = torch.rand(2, 3, 3, 3, 2), torch.rand(2, 3, 1, 3, 2)
    leaves = [x.requires_grad_() for x in (p_fgr, p_pha, lr_fgr, lr_pha)]
    losses = matting_losses(MattingOutput(p_fgr, p_pha, lr_fgr, lr_pha, None), fgr, pha)
    losses["total"].backward()
    for leaf in leaves:
        assert leaf.grad is not None
        assert torch.isfinite(leaf.grad).all() and float(leaf.grad.abs().sum()) > 0
    # each term on its own reaches the prediction it is about
    p_pha.grad = None
    matting_losses(MattingOutput(p_fgr, p_pha, None, None, None), fgr, pha,
                   weights={"alpha": 0, "com": 0, "tem": 0})["total"].backward()
    assert float(p_pha.grad.abs().sum()) > 0


def test_half_precision_predictions_give_float32_losses() -> None:
    fgr, pha = clip()
    pred = exact(fgr.half(), pha.half())
    losses = matting_losses(pred, fgr, pha)
    assert all(v.dtype == torch.float32 for v in losses.values())
    assert float(losses["total"]) < 1e-2


def test_shape_mismatch_is_reported() -> None:
    fgr, pha = clip()
    with pytest.raises(ValueError, match="differ in shape"):
        matting_losses(exact(fgr[:, :2], pha[:, :2]), fgr, pha)
    with pytest.raises(ValueError, match=r"expected \(B, T, C, H, W\)"):
        matting_losses(exact(fgr, pha), fgr[0, 0, 0], pha)


def test_flicker_is_the_l1_temporal_error_of_alpha_and_off_by_default() -> None:
    fgr, pha = clip(t=3)
    # Alpha that steps by +0.01, then -0.01, over a truth that does not move: the squared
    # L_tem sees 1e-4, the L1 term sees the 0.01 the flicker figure measures.
    still = pha[:, :1].expand_as(pha).contiguous()
    offsets = torch.tensor([0.0, 0.01, 0.0]).view(1, 3, 1, 1, 1)
    pred = MattingOutput(fgr.clone(), still + offsets, None, None, None)
    plain = matting_losses(pred, fgr, still)
    assert "flicker" not in plain
    weighted = matting_losses(pred, fgr, still, weights={"flicker": 2.0})
    assert float(weighted["flicker"]) == pytest.approx(2 * 0.01, rel=1e-4)
    assert float(weighted["tem"]) == pytest.approx(1e-4, rel=1e-3)
    assert float(weighted["total"]) == pytest.approx(float(plain["total"]) + 0.02, rel=1e-4)
    single = matting_losses(exact(fgr[:, 0], pha[:, 0]), fgr[:, 0], pha[:, 0],
                            weights={"flicker": 1.0})
    assert "flicker" not in single


def test_solid_weighs_only_the_error_where_the_truth_is_exactly_0_or_1() -> None:
    truth = torch.tensor([0.0, 1.0, 0.5, 1.0 / 255.0]).view(1, 1, 1, 1, 4)
    fgr = torch.zeros(1, 1, 3, 1, 4)
    error = torch.tensor([0.1, -0.2, 0.3, 0.4]).view(1, 1, 1, 1, 4)
    pred = MattingOutput(fgr, truth + error, None, None, None)
    assert "solid" not in matting_losses(pred, fgr, truth)
    weighted = matting_losses(pred, fgr, truth, weights={"solid": 3.0})
    # Only the first two pixels are solid (0 and 1); one 8-bit step above 0 is not.
    assert float(weighted["solid"]) == pytest.approx(3.0 * (0.1 + 0.2) / 4, rel=1e-5)


def test_solid_balanced_weighs_background_and_interior_alike() -> None:
    # Three exact zeros (error 0.1 each), one exact one (error 0.4), one edge pixel (ignored).
    truth = torch.tensor([0.0, 0.0, 0.0, 1.0, 0.5]).view(1, 1, 1, 1, 5)
    error = torch.tensor([0.1, 0.1, 0.1, -0.4, 0.3]).view(1, 1, 1, 1, 5)
    fgr = torch.zeros(1, 1, 3, 1, 5)
    pred = MattingOutput(fgr, truth + error, None, None, None)
    terms = matting_losses(pred, fgr, truth, weights={"solid_balanced": 2.0, "solid": 1.0})
    assert float(terms["solid_balanced"]) == pytest.approx(2.0 * (0.1 + 0.4) / 2, rel=1e-5)
    assert float(terms["solid"]) == pytest.approx((0.3 + 0.4) / 5, rel=1e-5)
