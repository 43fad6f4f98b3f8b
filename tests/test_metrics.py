"""memmatte.metrics against values derived by hand (or by deliberately naive code) in this file.

All alpha literals below are exact in binary (multiples of 1/4 etc.) unless they come from
8-bit values, so the hand arithmetic in the comments is exact.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from memmatte.metrics import (
    average_clips,
    conn,
    dtssd,
    fgr_mad,
    fgr_mse,
    grad,
    grad_kernels,
    mad,
    mse,
    score_clip,
    to_unit_float,
)
from memmatte.metrics.alpha import _minmax_stretch


def f32(rows) -> np.ndarray:
    return np.array(rows, dtype=np.float32)


# ---------------------------------------------------------------- MAD / MSE


def test_mad_mse_are_means_scaled_by_1e3():
    pred = f32([[0.5, 0.25], [1.0, 0.0]])
    gt = f32([[0.0, 0.25], [0.5, 0.0]])
    # |p - g| = 0.5, 0, 0.5, 0 -> mean 1.0/4 = 0.25 -> x1e3 = 250
    assert mad(pred, gt) == pytest.approx(250.0)
    # (p - g)^2 = 0.25, 0, 0.25, 0 -> mean 0.5/4 = 0.125 -> x1e3 = 125
    assert mse(pred, gt) == pytest.approx(125.0)


def test_mad_mse_do_not_depend_on_resolution():
    pred = f32([[0.5, 0.25], [1.0, 0.0]])
    gt = f32([[0.0, 0.25], [0.5, 0.0]])
    big_p, big_g = np.tile(pred, (3, 5)), np.tile(gt, (3, 5))
    assert mad(big_p, big_g) == pytest.approx(250.0)
    assert mse(big_p, big_g) == pytest.approx(125.0)


# ---------------------------------------------------------------- dtSSD


def test_dtssd_single_step():
    zeros = np.zeros((2, 2), np.float32)
    pred_t = f32([[0.5, 0.0], [0.0, 0.0]])
    # residual = (p_t - p_prev) - (g_t - g_prev) = [[0.5, 0], [0, 0]]
    # mean of squares = 0.25 / 4 = 0.0625 -> sqrt = 0.25 -> x1e2 = 25
    assert dtssd(pred_t, zeros, zeros, zeros) == pytest.approx(25.0)
    # The same change in the GT cancels: no temporal error.
    assert dtssd(pred_t, zeros, pred_t, zeros) == 0.0


def test_dtssd_first_frame_is_zero_and_averaged_in():
    p0 = np.zeros((2, 2), np.float32)
    p1 = f32([[0.5, 0.0], [0.0, 0.0]])
    p2 = f32([[0.75, 0.25], [0.25, 0.25]])  # p1 + 0.25 everywhere
    g0 = np.full((2, 2), 0.5, np.float32)
    g1 = np.full((2, 2), 0.5, np.float32)  # GT static from 0 to 1
    g2 = np.full((2, 2), 0.25, np.float32)  # GT drops 0.25 while pred rises 0.25
    scores = score_clip([p0, p1, p2], [g0, g1, g2])
    # t=0: 0 by rule.
    # t=1: residual (p1-p0) - 0 = [[0.5,0],[0,0]] -> sqrt(0.25/4) = 0.25 -> 25
    # t=2: residual 0.25 - (-0.25) = 0.5 everywhere -> sqrt(0.25) = 0.5 -> 50
    assert scores["pha_dtssd"] == pytest.approx([0.0, 25.0, 50.0])
    # Reported: (0 + 25 + 50) / 3 = 25, not (25 + 50) / 2 = 37.5.
    assert average_clips([scores])["pha_dtssd"] == pytest.approx(25.0)


# ---------------------------------------------------------------- foreground


def test_fgr_mask_excludes_zero_alpha_and_includes_one_over_255():
    gt_pha = to_unit_float(np.array([[0, 1], [255, 0]], np.uint8))
    gt_fgr = np.zeros((2, 2, 3), np.float32)
    pred_fgr = np.zeros((2, 2, 3), np.float32)
    pred_fgr[0, 0] = 1.0  # alpha 0: must be ignored
    pred_fgr[1, 1] = 1.0  # alpha 0: must be ignored
    pred_fgr[0, 1, 0] = 0.5  # alpha 1/255: scored
    pred_fgr[1, 0, 2] = 0.25  # alpha 1: scored
    # S = {(0,1), (1,0)} -> 6 values: 0.5, 0, 0, 0, 0, 0.25
    # MAD = 0.75 / 6 = 0.125 -> 125
    # MSE = (0.25 + 0.0625) / 6 = 0.3125 / 6 -> 52.0833...
    assert fgr_mad(pred_fgr, gt_fgr, gt_pha) == pytest.approx(125.0)
    assert fgr_mse(pred_fgr, gt_fgr, gt_pha) == pytest.approx(312.5 / 6)


def test_fgr_without_any_foreground_is_nan_without_warning():
    gt_pha = np.zeros((2, 2), np.float32)
    fgr = np.ones((2, 2, 3), np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(fgr_mse(fgr, fgr * 0, gt_pha))
        assert math.isnan(fgr_mad(fgr, fgr * 0, gt_pha))


# ---------------------------------------------------------------- Grad


def test_grad_kernel_shape_norm_and_symmetry():
    kx, ky = grad_kernels()
    # h = ceil(1.4 * sqrt(-2 ln(sqrt(2 pi) * 1.4 * 0.01))) = ceil(1.4 * sqrt(-2 ln 0.035093))
    #   = ceil(1.4 * sqrt(6.6995)) = ceil(3.6237) = 4 -> 9 x 9
    assert kx.shape == (9, 9) and ky.shape == (9, 9)
    assert math.sqrt(float(np.sum(kx**2))) == pytest.approx(1.0, abs=1e-12)
    # Derivative along x: odd in the column index, zero in the centre column.
    np.testing.assert_allclose(kx[:, ::-1], -kx, atol=1e-15)
    np.testing.assert_allclose(kx[:, 4], 0.0, atol=1e-15)
    # Gaussian along y: even in the row index.
    np.testing.assert_allclose(kx[::-1, :], kx, atol=1e-15)
    # G'(u) = -u G(u)/sigma^2 < 0 for u > 0, so the column right of centre is negative.
    assert np.all(kx[:, 5] < 0)
    np.testing.assert_array_equal(ky, kx.T)


def _reference_kernel() -> np.ndarray:
    """Kx written straight from the formula, one entry at a time."""
    s, h = 1.4, 4
    gauss = lambda u: math.exp(-u * u / (2 * s * s)) / (s * math.sqrt(2 * math.pi))  # noqa: E731
    k = [[gauss(i - h) * (-(j - h) * gauss(j - h) / (s * s)) for j in range(9)] for i in range(9)]
    norm = math.sqrt(sum(v * v for row in k for v in row))
    return np.array([[v / norm for v in row] for row in k])


def _reference_grad(pred: np.ndarray, gt: np.ndarray) -> float:
    """Naive double-loop correlation with clamped (replicated) borders, all in float64."""
    kx = _reference_kernel()

    def magnitude(a: np.ndarray) -> np.ndarray:
        rows, cols = a.shape
        out = np.zeros((rows, cols))
        for y in range(rows):
            for x in range(cols):
                sx = sy = 0.0
                for i in range(9):
                    for j in range(9):
                        # Kx at (i, j); Ky = Kx.T at (i, j) is Kx[j, i].
                        v = float(a[min(max(y + i - 4, 0), rows - 1), min(max(x + j - 4, 0), cols - 1)])
                        sx += kx[i, j] * v
                        sy += kx[j, i] * v
                out[y, x] = math.hypot(sx, sy)
        return out

    return float(np.sum((magnitude(gt) - magnitude(pred)) ** 2) / 1e3)


def test_kernel_matches_formula_entry_by_entry():
    np.testing.assert_allclose(grad_kernels()[0], _reference_kernel(), rtol=1e-12, atol=1e-15)


def test_grad_matches_naive_correlation():
    gt = f32([[0.0, 0.0, 0.25, 1.0, 1.0, 1.0],
              [0.0, 0.0, 0.5, 1.0, 1.0, 1.0],
              [0.0, 0.25, 0.75, 1.0, 0.5, 1.0],
              [0.0, 0.5, 1.0, 1.0, 1.0, 1.0],
              [0.0, 0.0, 0.0, 0.25, 0.5, 0.75]])
    pred = f32([[0.0, 0.0, 0.5, 1.0, 1.0, 1.0],
                [0.0, 0.25, 0.5, 0.75, 1.0, 1.0],
                [0.0, 0.25, 0.5, 1.0, 1.0, 1.0],
                [0.25, 0.5, 0.75, 1.0, 1.0, 0.75],
                [0.0, 0.0, 0.25, 0.25, 0.5, 0.5]])
    expected = _reference_grad(pred, gt)
    assert expected > 0
    # Both frames already span exactly [0, 1], so the stretch is the identity here.
    assert grad(pred, gt, stretch=False) == pytest.approx(expected, rel=1e-5)
    assert grad(pred, gt, stretch=True) == pytest.approx(expected, rel=1e-5)
    # Now a prediction spanning [0.25, 0.75]: the LR script stretches it back to [0, 1].
    squeezed = pred * np.float32(0.5) + np.float32(0.25)
    assert grad(squeezed, gt, stretch=True) == pytest.approx(expected, rel=1e-5)
    assert grad(squeezed, gt, stretch=False) == pytest.approx(_reference_grad(squeezed, gt), rel=1e-5)


def test_grad_of_identical_inputs_is_zero():
    a = f32([[0.0, 0.25, 0.5], [1.0, 0.75, 0.5], [0.25, 0.25, 1.0]])
    assert grad(a, a.copy()) == 0.0
    assert grad(a, a.copy(), stretch=False) == 0.0


def test_stretch_is_minmax_and_constant_frames_become_zeros():
    # (x - 0.25) / (0.75 - 0.25): 0.25 -> 0, 0.5 -> 0.5, 0.75 -> 1
    np.testing.assert_array_equal(_minmax_stretch(f32([[0.25, 0.5], [0.75, 0.5]])), f32([[0.0, 0.5], [1.0, 0.5]]))
    const = np.full((3, 3), 0.7, np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 0/0
        out = _minmax_stretch(const)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, np.zeros((3, 3), np.float32))


def test_grad_with_constant_prediction_is_finite_and_equals_gt_gradient_energy():
    gt = f32([[0.0, 0.0, 1.0, 1.0]] * 4)
    const = np.full((4, 4), 0.7, np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = grad(const, gt)
    # A constant frame stretches to zeros, whose gradient is 0: only |grad g|^2 remains.
    assert value == pytest.approx(_reference_grad(np.zeros((4, 4), np.float32), gt), rel=1e-5)
    assert value > 0


def test_grad_stretch_hides_a_global_scale_error():
    gt = f32([[0.0, 0.25, 0.5, 1.0]] * 4)
    half = gt * np.float32(0.5)  # same shape, half the contrast
    assert grad(half, gt, stretch=True) == pytest.approx(0.0, abs=1e-9)
    assert grad(half, gt, stretch=False) > 0


def test_grad_is_a_sum_over_pixels():
    gt = f32([[0.0, 0.0, 1.0, 1.0]] * 4)
    pred = f32([[0.0, 0.5, 0.5, 1.0]] * 4)
    # Every row is the same and the border is replicated, so 4 more identical rows
    # double every per-column sum exactly.
    assert grad(np.tile(pred, (2, 1)), np.tile(gt, (2, 1))) == pytest.approx(2 * grad(pred, gt), rel=1e-6)


# ---------------------------------------------------------------- Conn
# With gt = 1 everywhere, a pixel with pred 0 is outside every M_k, so lambda = 0,
# d_g = 1 -> phi_g = 0, d_p = 0 -> phi_p = 1: each such background pixel adds exactly 1.


def test_conn_uses_only_the_largest_component():
    gt = np.ones((4, 4), np.float32)
    pred = f32([[0.75, 0.0, 0.0, 0.0],
                [0.0, 0.0, 1.0, 1.0],
                [0.0, 0.0, 1.0, 1.0],
                [0.0, 0.0, 0.0, 0.0]])
    # B = {(0,0)} (size 1, first in raster order), A = 2x2 block (size 4) -> Omega_k = A for all k.
    # A: in every Omega_k -> lambda = 1, d = 0 -> phi_g = phi_p = 1 -> 0.
    # B: not in Omega_1 -> lambda = 0; d_g = 1 -> phi_g = 0; d_p = 0.75 -> phi_p = 0.25 -> 0.25.
    #    (Were B counted, lambda_B = tau_7 = 0.7 and it would add 0.3 instead.)
    # 11 background pixels -> 11.  Total 11.25 / 1e3.
    assert conn(pred, gt) == pytest.approx(11.25 / 1e3, rel=1e-6)


def test_conn_is_four_connected():
    gt = np.ones((3, 3), np.float32)
    pred = f32([[0.75, 0.0, 0.0],
                [0.0, 1.0, 1.0],
                [0.0, 0.0, 0.0]])
    # (0,0) touches (1,1) only diagonally: separate 4-components of sizes 1 and 2.
    # (0,0): lambda = 0 -> phi_g = 0, phi_p = 0.25 -> 0.25.   (8-connected it would add 0.3.)
    # (1,1), (1,2): lambda = 1 -> 0.   6 background pixels -> 6.   Total 6.25 / 1e3.
    assert conn(pred, gt) == pytest.approx(6.25 / 1e3, rel=1e-6)


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        # first (0,0) pred 0.75 wins the k=1..5 tie, keeps Omega_6..7 alone:
        #   (0,0): lambda = tau_7 = float32(0.7); d_g = 0.3 -> phi_g = 0.7; d_p = 0.05 -> phi_p = 1 -> 0.3
        #   (2,2): lambda = 0; phi_g = 0; phi_p = 1 - 0.5 = 0.5 -> 0.5; 7 background -> 7.  Total 7.8
        (0.75, 0.5, 7.8),
        # first (0,0) pred 0.5 wins k=1..5; (2,2) pred 0.75 is alone only from k=6:
        #   (0,0): lambda = tau_5 = 0.5; d_g = 0.5 -> phi_g = 0.5; d_p = 0 -> phi_p = 1 -> 0.5
        #   (2,2): not in Omega_1 -> lambda = 0; phi_g = 0; phi_p = 0.25 -> 0.25; + 7.  Total 7.75
        (0.5, 0.75, 7.75),
    ],
)
def test_conn_tie_goes_to_first_component_in_raster_order(first, last, expected):
    gt = np.ones((3, 3), np.float32)
    pred = np.zeros((3, 3), np.float32)
    pred[0, 0], pred[2, 2] = first, last
    assert conn(pred, gt) == pytest.approx(expected / 1e3, rel=1e-6)


@pytest.mark.parametrize(
    ("level", "expected_per_pixel"),
    [
        # pred = k/255 lands on tau; gt = 1. Landing counts as >=, so lambda = pred,
        # d_p = 0 -> phi_p = 1 and d_g = 1 - lambda -> phi_g = lambda: error 1 - lambda.
        # (If it did not count, lambda would be one step lower and the error 0.1 larger.)
        (51, 0.8),
        (102, 0.6),
        (153, 0.4),
        (204, 0.2),
    ],
)
def test_conn_8bit_values_on_a_threshold_count_as_reaching_it(level, expected_per_pixel):
    pred = to_unit_float(np.full((2, 2), level, np.uint8))
    gt = np.ones((2, 2), np.float32)
    assert conn(pred, gt) == pytest.approx(4 * expected_per_pixel / 1e3, rel=1e-6)


def test_conn_compares_float32_alpha_against_float64_thresholds():
    # float32(0.7) = 0.699999988... is below tau_7 = 0.7000000000000001 (float64 arange), so
    # it only reaches tau_6: lambda = float32(0.6); d_g = 1 - 0.6 = 0.4 -> phi_g = 0.6;
    # d_p = 0.1 < 0.15 -> phi_p = 1 -> 0.4 per pixel.  (Comparing in float32 would round
    # tau_7 to float32(0.7), count it as reached and give 0.3 per pixel.)
    pred = np.full((1, 2), 0.7, np.float32)
    gt = np.ones((1, 2), np.float32)
    assert conn(pred, gt) == pytest.approx(2 * 0.4 / 1e3, rel=1e-6)


def test_conn_residual_rule_at_0_15():
    # pred = 0 everywhere -> M_1 empty -> lambda = 0 everywhere, phi_p = 1.
    gt = f32([[0.14, 0.5], [0.15, 0.3]])
    pred = np.zeros((2, 2), np.float32)
    # d_g = 0.14 < 0.15 -> zeroed -> phi_g = 1 -> 0
    # d_g = 0.5 -> phi_g = 0.5 -> 0.5;  d_g = 0.3 -> 0.3
    # d_g = float32(0.15) >= 0.15 -> phi_g = 0.85 -> 0.15
    # total 0.95 / 1e3
    assert conn(pred, gt) == pytest.approx(0.95 / 1e3, rel=1e-6)


def test_conn_of_identical_inputs_is_zero():
    a = f32([[0.0, 0.3, 0.9], [0.5, 1.0, 0.2], [0.7, 0.1, 0.6]])
    assert conn(a, a.copy()) == 0.0


# ---------------------------------------------------------------- clips and pooling


def test_score_clip_keys_lr_and_hr():
    frames = [np.full((4, 4), v, np.float32) for v in (0.0, 0.5)]
    fgrs = [np.zeros((4, 4, 3), np.float32)] * 2
    lr = score_clip(frames, frames, fgrs, fgrs)
    assert list(lr) == ["pha_mad", "pha_mse", "pha_grad", "pha_conn", "pha_dtssd", "fgr_mad", "fgr_mse"]
    assert all(len(v) == 2 for v in lr.values())
    hr = score_clip(frames, frames, fgrs, fgrs, hr=True)
    assert list(hr) == ["pha_mad", "pha_mse", "pha_grad", "pha_dtssd", "fgr_mse"]
    assert list(score_clip(frames, frames)) == ["pha_mad", "pha_mse", "pha_grad", "pha_conn", "pha_dtssd"]


def test_score_clip_hr_grad_is_not_stretched():
    gt = f32([[0.0, 0.25, 0.5, 1.0]] * 4)
    half = gt * np.float32(0.5)
    assert score_clip([half], [gt])["pha_grad"][0] == pytest.approx(0.0, abs=1e-9)
    assert score_clip([half], [gt], hr=True)["pha_grad"][0] > 0


def test_average_clips_per_index_then_over_indices():
    a = {"pha_mad": [1.0, 2.0, 3.0], "fgr_mse": [math.nan, 4.0, 6.0]}
    b = {"pha_mad": [5.0], "fgr_mse": [2.0]}
    out = average_clips([a, b])
    # pha_mad: index 0 -> (1+5)/2 = 3, index 1 -> 2, index 2 -> 3 -> (3+2+3)/3 = 8/3
    # (a plain mean over the 4 frames would be 11/4 = 2.75)
    assert out["pha_mad"] == pytest.approx(8 / 3)
    # fgr_mse: index 0 -> 2 (nan skipped), 1 -> 4, 2 -> 6 -> 4
    assert out["fgr_mse"] == pytest.approx(4.0)


def test_average_clips_equal_lengths_is_plain_mean_and_all_nan_is_nan():
    out = average_clips([{"m": [1.0, 2.0], "f": [math.nan]}, {"m": [3.0, 6.0], "f": [math.nan]}])
    assert out["m"] == pytest.approx(3.0)
    assert math.isnan(out["f"])


def test_average_clips_rejects_mismatched_metrics_and_empty_input():
    with pytest.raises(ValueError, match="expected metrics"):
        average_clips([{"a": [1.0]}, {"b": [1.0]}])
    with pytest.raises(ValueError):
        average_clips([])


# ---------------------------------------------------------------- inputs


def test_to_unit_float_matches_8bit_reading():
    out = to_unit_float(np.array([0, 1, 51, 255], np.uint8))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, np.array([0, 1, 51, 255], np.float32) / np.float32(255))
    assert out[2] == np.float32(0.2) and out[3] == 1.0
    with pytest.raises(ValueError, match="uint8"):
        to_unit_float(np.zeros(3, np.float32))


@pytest.mark.parametrize("metric", [mad, mse, grad, conn])
def test_alpha_metrics_reject_bad_shapes_and_dtypes(metric):
    good = np.zeros((4, 4), np.float32)
    with pytest.raises(ValueError, match=r"expected shape \(4, 4\).*got \(4, 5\)"):
        metric(np.zeros((4, 5), np.float32), good)
    with pytest.raises(ValueError, match=r"shape \(H, W\), got shape \(4, 4, 1\)"):
        metric(good, np.zeros((4, 4, 1), np.float32))
    with pytest.raises(ValueError, match="float32.*float64"):
        metric(np.zeros((4, 4)), good)


def test_foreground_and_clip_inputs_are_validated():
    pha = np.ones((2, 2), np.float32)
    with pytest.raises(ValueError, match=r"expected foreground of shape \(2, 2, 3\).*got \(2, 2\)"):
        fgr_mse(np.zeros((2, 2), np.float32), np.zeros((2, 2, 3), np.float32), pha)
    with pytest.raises(ValueError, match="expected 2 frames"):
        score_clip([pha], [pha, pha])
    with pytest.raises(ValueError, match="both or neither"):
        score_clip([pha], [pha], pred_fgrs=[np.zeros((2, 2, 3), np.float32)])
    with pytest.raises(ValueError, match="pred_prev"):
        dtssd(pha, np.ones((3, 2), np.float32), pha, pha)
