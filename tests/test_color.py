"""memmatte.color: config resolution, colour-space names, plate <-> network transforms and the
premultiplied foreground of DESIGN.md invariant 2.

Reference values are from the sRGB formula (IEC 61966-2-1), computed here in float64.
"""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import PyOpenColorIO as OCIO
import pytest

import memmatte.color as mc
from memmatte.color import (
    ColorError,
    ColorTransform,
    ConfigSource,
    check_colorspace,
    colorspace_names,
    network_space,
    premultiplied_foreground,
    resolve_config,
)
from memmatte.color import _cache

REPO = Path(__file__).resolve().parents[1]
TEST_CONFIG = REPO / "ocio_configs" / "memmatte-test.ocio"

LIN709 = "Linear Rec.709 (sRGB)"
SRGB = "sRGB Encoded Rec.709 (sRGB)"


def srgb_encode(x: np.ndarray) -> np.ndarray:
    """Reference piecewise sRGB encoding (float64, extends linearly below 0)."""
    x = np.asarray(x, dtype=np.float64)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.abs(x) ** (1 / 2.4) - 0.055)


@pytest.fixture(autouse=True)
def _no_ocio_env(monkeypatch):
    monkeypatch.delenv("OCIO", raising=False)


@pytest.fixture(scope="module")
def builtin() -> ConfigSource:
    return resolve_config("ocio://default")


@pytest.fixture(scope="module")
def acescg_to_net(builtin) -> ColorTransform:
    return ColorTransform.for_plate(builtin, "ACEScg")


# ------------------------------------------------------------------ config resolution


def test_builtin_when_nothing_given():
    src = resolve_config()
    assert src.origin == "built-in ocio://default"
    assert isinstance(src.config, OCIO.Config)
    assert "ACEScg" in colorspace_names(src)


def test_env_beats_builtin(monkeypatch):
    monkeypatch.setenv("OCIO", str(TEST_CONFIG))
    src = resolve_config()
    assert src.origin == f"$OCIO={TEST_CONFIG}"
    assert src.name == "memmatte-test"


def test_host_beats_env(monkeypatch, builtin):
    monkeypatch.setenv("OCIO", str(TEST_CONFIG))
    host = OCIO.Config.CreateFromFile("ocio://studio-config-latest")
    src = resolve_config(None, host_config=host)
    assert src.config is host
    assert src.origin.startswith("host config")


def test_host_config_may_be_a_path():
    src = resolve_config(host_config=str(TEST_CONFIG))
    assert src.name == "memmatte-test"
    assert src.origin == f"host config {TEST_CONFIG}"


def test_explicit_beats_host_and_env(monkeypatch, builtin):
    monkeypatch.setenv("OCIO", "ocio://studio-config-latest")
    src = resolve_config(str(TEST_CONFIG), host_config=builtin.config)
    assert src.name == "memmatte-test"
    assert src.origin == f"explicit {TEST_CONFIG}"
    uri = resolve_config("ocio://cg-config-latest", host_config=builtin.config)
    assert uri.origin == "explicit ocio://cg-config-latest"


def test_empty_explicit_and_env_mean_not_given(monkeypatch):
    monkeypatch.setenv("OCIO", "  ")
    assert resolve_config("").origin == "built-in ocio://default"


def test_bad_host_type():
    with pytest.raises(TypeError, match="host_config"):
        resolve_config(host_config=42)


def test_config_loaded_once_per_path_thread_safe():
    mc.clear_caches()
    results: list[OCIO.Config] = []

    def load():
        results.append(resolve_config(str(TEST_CONFIG)).config)

    threads = [threading.Thread(target=load) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8
    assert all(r is results[0] for r in results)


def test_same_file_other_spelling_hits_cache(monkeypatch):
    first = resolve_config(str(TEST_CONFIG)).config
    monkeypatch.chdir(TEST_CONFIG.parent)
    assert resolve_config("memmatte-test.ocio").config is first
    assert resolve_config("./memmatte-test.ocio").config is first


def test_missing_config_names_path(tmp_path):
    missing = tmp_path / "nope" / "config.ocio"
    with pytest.raises(ColorError, match="does not exist") as info:
        resolve_config(str(missing))
    assert str(missing) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_unparsable_config_names_path_and_error(tmp_path):
    bad = tmp_path / "bad.ocio"
    bad.write_text("ocio_profile_version: 2\nroles: [this is: not valid\n")
    with pytest.raises(ColorError) as info:
        resolve_config(str(bad))
    msg = str(info.value)
    assert str(bad) in msg and "cannot load" in msg and "explicit path" in msg


def test_config_failing_validation_names_path(tmp_path):
    bad = tmp_path / "badrole.ocio"
    bad.write_text(TEST_CONFIG.read_text().replace("scene_linear: Linear", "scene_linear: Nope"))
    with pytest.raises(ColorError, match="invalid OCIO config") as info:
        resolve_config(str(bad))
    assert str(bad) in str(info.value) and "Nope" in str(info.value)


def test_invalid_config_from_env_names_env(monkeypatch, tmp_path):
    bad = tmp_path / "empty.ocio"
    bad.write_text("ocio_profile_version: 2\n")
    monkeypatch.setenv("OCIO", str(bad))
    with pytest.raises(ColorError) as info:
        resolve_config()
    assert str(bad) in str(info.value) and "$OCIO" in str(info.value)


def test_unknown_uri_is_an_error():
    with pytest.raises(ColorError, match="ocio://no-such-config"):
        resolve_config("ocio://no-such-config")


# ------------------------------------------------------------------ colour-space names


def test_unknown_colorspace_lists_valid_names(builtin):
    with pytest.raises(ColorError) as info:
        check_colorspace(builtin, "ACEScgg")
    msg = str(info.value)
    assert msg.startswith("unknown colour space 'ACEScgg' for --colorspace")
    for name in ("ACEScg", LIN709, SRGB, "ACES2065-1", "Raw"):
        assert name in msg
    assert "scene_linear (ACEScg)" in msg and "color_picking" in msg
    assert "did you mean 'ACEScg'" in msg


def test_unknown_colorspace_names_the_option(builtin):
    with pytest.raises(ColorError, match="for --network-colorspace"):
        check_colorspace(builtin, "", what="--network-colorspace")


@pytest.mark.parametrize(
    "name, expected",
    [
        ("ACEScg", "ACEScg"),
        ("acescg", "ACEScg"),
        ("scene_linear", "ACEScg"),
        ("color_picking", SRGB),
        ("data", "Raw"),
        ("lin_ap1", "ACEScg"),
        ("srgb_tx", SRGB),
        ("lin_srgb", LIN709),
    ],
)
def test_roles_and_aliases_resolve_builtin(builtin, name, expected):
    assert check_colorspace(builtin, name) == expected


@pytest.mark.parametrize(
    "name, expected",
    [
        ("scene_linear", "Linear"),
        ("reference", "Linear"),
        ("color_picking", "sRGB"),
        ("data", "Non-Color"),
        ("compositing_log", "Cineon"),
        ("linear", "Linear"),  # nuke-default spelling
        ("Linear Rec.709", "Linear"),  # Blender 4 spelling
        (SRGB, "sRGB"),
        ("raw", "Non-Color"),
    ],
)
def test_roles_and_aliases_resolve_test_config(name, expected):
    assert check_colorspace(resolve_config(str(TEST_CONFIG)), name) == expected


def test_network_space_defaults_and_override(builtin):
    assert network_space(builtin, None) == SRGB
    assert network_space(resolve_config(str(TEST_CONFIG)), None) == "sRGB"
    assert network_space(builtin, "Gamma 2.2 Encoded Rec.709") == "Gamma 2.2 Encoded Rec.709"
    with pytest.raises(ColorError, match="unknown colour space 'nope'"):
        network_space(builtin, "nope")


def test_network_space_fallbacks():
    cfg = OCIO.Config.CreateRaw()
    with pytest.raises(ColorError, match="color_picking") as info:
        network_space(cfg, None)
    assert "raw" in str(info.value)  # lists what there is
    cs = OCIO.ColorSpace(name="Display sRGB-ish", family="Output")
    cfg.addColorSpace(cs)
    assert network_space(cfg, None) == "Display sRGB-ish"


# ------------------------------------------------------------------ transforms


def test_known_srgb_values_builtin(builtin):
    lin = np.array([[[0.18, 1.0, 0.0], [0.0031308, 0.5, 0.01]]], dtype=np.float32)
    for fast in (False, True):
        tr = ColorTransform(builtin, LIN709, SRGB, fast=fast)
        out = tr.to_network(lin)
        assert out.dtype == np.float32 and out.shape == lin.shape
        np.testing.assert_allclose(out, srgb_encode(lin), atol=1e-4)
        assert abs(out[0, 0, 0] - 0.4613) < 1e-4 and abs(out[0, 0, 1] - 1.0) < 1e-4


def test_round_trip_in_network_gamut(acescg_to_net):
    tr = acescg_to_net
    assert (tr.source, tr.destination) == ("ACEScg", SRGB)
    rng = np.random.default_rng(0)
    net = rng.random((64, 48, 3), dtype=np.float32) * 0.999 + 0.0005
    acescg = tr.from_network(net)  # ACEScg values whose network image is inside [0, 1]
    again = tr.from_network(tr.to_network(acescg))
    np.testing.assert_allclose(again, acescg, atol=1e-5, rtol=0)
    np.testing.assert_allclose(tr.to_network(acescg), net, atol=1e-5, rtol=0)


def test_highlights_clamp_and_nonfinite_become_finite(acescg_to_net):
    plate = np.array(
        [
            [[2.0, 2.0, 2.0], [7.5, -0.25, 0.5], [np.nan, np.nan, np.nan]],
            [[np.inf, np.inf, np.inf], [-np.inf, -np.inf, -np.inf], [np.nan, 0.18, np.inf]],
        ],
        dtype=np.float32,
    )
    before = plate.copy()
    out = acescg_to_net.to_network(plate)
    assert np.isfinite(out).all()
    assert out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_array_equal(out[0, 0], [1.0, 1.0, 1.0])  # 2.0 -> 1.353 -> clamped
    np.testing.assert_array_equal(out[1, 0], [1.0, 1.0, 1.0])  # +Inf -> white
    np.testing.assert_array_equal(out[0, 2], [0.0, 0.0, 0.0])  # NaN -> black
    np.testing.assert_array_equal(out[1, 1], [0.0, 0.0, 0.0])  # -Inf -> black
    np.testing.assert_array_equal(plate, before)  # input untouched (NaN == NaN for this assert)


def test_input_not_modified(acescg_to_net):
    plate = np.full((3, 4, 3), 0.5, dtype=np.float32)
    plate[0, 0] = [3.0, -1.0, 0.2]
    keep = plate.copy()
    acescg_to_net.to_network(plate)
    acescg_to_net.from_network(np.clip(plate, 0, 1))
    assert np.array_equal(plate, keep)


def test_accepts_nx3_float64_and_empty(acescg_to_net):
    flat = np.array([[0.2, 0.4, 0.6], [1.0, 1.0, 1.0]], dtype=np.float64)
    out = acescg_to_net.from_network(flat)
    assert out.shape == (2, 3) and out.dtype == np.float32
    img = acescg_to_net.from_network(flat.reshape(1, 2, 3))
    np.testing.assert_array_equal(img.reshape(2, 3), out)
    assert acescg_to_net.to_network(np.zeros((0, 3), np.float32)).shape == (0, 3)


def test_bare_config_object_accepted(builtin):
    tr = ColorTransform(builtin.config, "scene_linear", "color_picking")
    assert tr.origin == "config object" and tr.source == "ACEScg" and not tr.is_identity


def test_shape_errors_say_what_was_expected(acescg_to_net):
    with pytest.raises(ValueError, match=r"expected an array of shape \(H, W, 3\)"):
        acescg_to_net.to_network(np.zeros((4, 4, 4), np.float32))


def test_unknown_space_in_transform(builtin):
    with pytest.raises(ColorError, match="unknown colour space 'ACEScgg' for the plate colour space"):
        ColorTransform.for_plate(builtin, "ACEScgg")


def test_identity_fast_path(builtin, monkeypatch):
    calls = []
    real = _cache._build_cpu_processor
    monkeypatch.setattr(_cache, "_build_cpu_processor", lambda *a: calls.append(a) or real(*a))
    tr = ColorTransform(builtin, SRGB, "srgb_tx")  # same space, two names
    assert tr.is_identity and calls == []
    x = np.array([[[1.5, -0.5, np.nan], [0.25, np.inf, -np.inf]]], dtype=np.float32)
    np.testing.assert_array_equal(tr.to_network(x), [[[1.0, 0.0, 0.0], [0.25, 1.0, 0.0]]])
    y = np.array([[[0.25, 0.5, 0.75]]], dtype=np.float32)
    back = tr.from_network(y)
    assert np.array_equal(back, y) and back is not y


def test_processors_built_once(monkeypatch):
    mc.clear_caches()
    src = resolve_config("ocio://default")
    calls = []
    real = _cache._build_cpu_processor

    def spy(config, s, d, fast):
        calls.append((s, d, fast))
        return real(config, s, d, fast)

    monkeypatch.setattr(_cache, "_build_cpu_processor", spy)
    a = ColorTransform.for_plate(src, "ACEScg")
    b = ColorTransform(src, "lin_ap1", "color_picking")  # same spaces, other names
    assert sorted(calls) == sorted([("ACEScg", SRGB, False), (SRGB, "ACEScg", False)])
    x = np.random.default_rng(1).random((8, 8, 3), dtype=np.float32)
    for _ in range(3):  # per-frame calls build nothing
        a.to_network(x), b.from_network(x)
    assert len(calls) == 2
    ColorTransform(src, "ACEScg", SRGB, fast=True)  # another optimisation: one more forward
    assert len(calls) == 3


# ------------------------------------------------------------------ premultiplied foreground


@pytest.fixture()
def fg_case(acescg_to_net):
    rng = np.random.default_rng(7)
    h, w = 6, 5
    plate = rng.normal(0.3, 1.0, (h, w, 3)).astype(np.float32)
    plate[0, 0] = [7.5, -0.25, 0.0]
    plate[0, 1] = [-0.25, 7.5, 123.0]
    plate[0, 2] = [np.nan, 0.5, np.inf]
    alpha = rng.random((h, w), dtype=np.float32)
    alpha[0, :3] = 1.0
    alpha[1, :] = 0.0
    alpha[2, :2] = 1.0
    fgr = rng.random((h, w, 3), dtype=np.float32)
    fgr[1, 0] = np.nan  # never leaks where alpha is 0
    return plate, fgr, alpha, acescg_to_net


def test_alpha_one_is_plate_bit_exact(fg_case):
    plate, fgr, alpha, tr = fg_case
    out = premultiplied_foreground(plate, fgr, alpha, tr.from_network)
    assert out.dtype == np.float32 and out.shape == plate.shape
    assert np.array_equal(out[0, :2], plate[0, :2])  # 7.5 and -0.25 survive exactly
    hard = alpha == 1.0
    assert np.array_equal(out[hard].view(np.uint32), plate[hard].view(np.uint32))  # NaN/Inf too
    assert np.isnan(out[0, 2, 0]) and np.isinf(out[0, 2, 2])  # documented: plate kept as is


def test_alpha_zero_is_zero(fg_case):
    plate, fgr, alpha, tr = fg_case
    out = premultiplied_foreground(plate, fgr, alpha, tr.from_network)
    assert np.array_equal(out[alpha == 0.0], np.zeros(((alpha == 0.0).sum(), 3), np.float32))


def test_soft_edge_is_alpha_times_converted_fgr(fg_case):
    plate, fgr, alpha, tr = fg_case
    seen = []

    def to_plate(x):
        seen.append(x.shape)
        return tr.from_network(x)

    out = premultiplied_foreground(plate, fgr, alpha, to_plate)
    soft = (alpha > 0) & (alpha < 1)
    assert seen == [(int(soft.sum()), 3)]  # one call, soft pixels only
    expected = alpha[..., None] * tr.from_network(np.nan_to_num(fgr))
    np.testing.assert_allclose(out[soft], expected[soft], atol=1e-6, rtol=0)
    assert np.isfinite(out[~(alpha == 1.0)]).all()


def test_network_nan_never_reaches_output(fg_case):
    plate, fgr, alpha, tr = fg_case
    fgr = fgr.copy()
    fgr[3:, :] = np.nan
    fgr[2, 3] = [np.inf, -np.inf, 2.0]
    out = premultiplied_foreground(plate, fgr, alpha, tr.from_network)
    assert np.isfinite(out[alpha < 1.0]).all()


def test_no_soft_edge_no_conversion_and_alpha_hw1():
    plate = np.full((2, 2, 3), 4.0, np.float32)
    alpha = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)[..., None]

    def boom(x):
        raise AssertionError("to_plate must not be called")

    out = premultiplied_foreground(plate, np.zeros_like(plate), alpha, boom)
    np.testing.assert_array_equal(out[..., 0], [[4.0, 0.0], [0.0, 4.0]])


def test_foreground_shape_errors():
    plate = np.zeros((4, 4, 3), np.float32)
    with pytest.raises(ValueError, match=r"alpha: expected shape \(4, 4\)"):
        premultiplied_foreground(plate, plate, np.zeros((4, 5), np.float32), lambda x: x)
    with pytest.raises(ValueError, match=r"network_fgr: expected shape \(4, 4, 3\)"):
        premultiplied_foreground(plate, plate[:2], np.zeros((4, 4), np.float32), lambda x: x)


# ------------------------------------------------------------------ ocio_configs/


def test_test_config_loads_and_validates():
    cfg = OCIO.Config.CreateFromFile(str(TEST_CONFIG))
    cfg.validate()
    names = colorspace_names(cfg)
    assert names[:2] == ["Linear", "sRGB"] and "Non-Color" in names
    assert cfg.getColorSpace("Non-Color").isData()
    assert (REPO / "ocio_configs" / "README.md").read_text().count("memmatte-test.ocio") >= 1


def test_test_config_srgb_matches_builtin(builtin):
    ours = ColorTransform(resolve_config(str(TEST_CONFIG)), "Linear", "sRGB")
    theirs = ColorTransform(builtin, LIN709, SRGB)
    lin = np.linspace(-0.1, 1.0, 2048, dtype=np.float32).reshape(1, -1, 1).repeat(3, axis=2)
    a, b = ours.to_network(lin), theirs.to_network(lin)
    np.testing.assert_allclose(a, b, atol=1e-4, rtol=0)
    np.testing.assert_allclose(ours.from_network(a), theirs.from_network(a), atol=1e-4, rtol=0)
    np.testing.assert_allclose(a, np.clip(srgb_encode(lin), 0, 1), atol=1e-4)
