"""memmatte.io: plates in and out (OpenImageIO), frame patterns and ranges, movies (PyAV).

Groups: windows and plates / EXR reading (windows, layers, parts, tiled, deep) / round trips
(geometry, metadata, precision, compression, preview formats) / robustness (missing, damaged,
truncated files, each read in a subprocess so a crash or hang fails the test) / frames /
video.
"""
from __future__ import annotations

import json
import pickle
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

from memmatte.io import (
    EXR_COMPRESSIONS,
    FramePattern,
    Plate,
    PlateError,
    VideoReader,
    Window,
    format_frames,
    fps_to_rational,
    is_video,
    parse_frames,
    read_image,
    require_frames,
    timecode_from_string,
    timecode_to_string,
    write_image,
)

DATA = Path(__file__).parent / "data"
EXR = DATA / "exr"
MOVIE = DATA / "video" / "carphone_pristine.mp4"


def oiio_write(path: Path, pixels: np.ndarray, channels: tuple[str, ...], fmt: str,
               **attrs: object) -> None:
    """Write a test input with OpenImageIO directly (independent of write_image)."""
    spec = oiio.ImageSpec(pixels.shape[1], pixels.shape[0], pixels.shape[2], fmt)
    spec.channelnames = channels
    spec.alpha_channel = channels.index("A") if "A" in channels else -1
    for key, value in attrs.items():
        spec.attribute(key, value)
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec), out.geterror()
    assert out.write_image(pixels), out.geterror()
    out.close()


def gradient(h: int, w: int, c: int, scale: float = 1.0) -> np.ndarray:
    """Smooth test pixels (lossy codecs behave on them) with a distinct ramp per channel."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    chans = [(xx / w + k * yy / h) * scale / (1 + k) for k in range(c)]
    return np.stack(chans, axis=2).astype(np.float32)


# --- windows and plates ------------------------------------------------------------------------

def test_window_geometry() -> None:
    display = Window(0, 0, 100, 50)
    data = Window(-10, -5, 120, 60)
    assert data.contains(display) and not display.contains(data)
    assert (data.x_end, data.y_end, data.shape) == (110, 55, (60, 120))
    assert display.intersection(Window(90, 40, 20, 20)) == Window(90, 40, 10, 10)
    assert display.intersection(Window(200, 0, 5, 5)).is_empty
    assert display.union(Window(-5, 0, 5, 1)) == Window(-5, 0, 105, 50)
    assert str(data) == "120x60-10-5"
    with pytest.raises(ValueError, match="negative"):
        Window(0, 0, -1, 5)


def test_plate_rgb_and_alpha_by_name() -> None:
    px = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    w = Window(0, 0, 3, 2)
    # Alphabetical order, as EXR stores it: rgb() must still pick R, G, B by name.
    plate = Plate(px, ("A", "B", "G", "R"), w, w, 1.0, {}, "x.exr")
    np.testing.assert_array_equal(plate.rgb(), px[:, :, [3, 2, 1]])
    np.testing.assert_array_equal(plate.alpha(), px[:, :, 0])
    assert plate.rgb().dtype == np.float32


@pytest.mark.parametrize("names", [("Y",), ("Y", "A"), ("channel0",), ("",)])
def test_plate_grey_is_replicated(names: tuple[str, ...]) -> None:
    px = np.random.default_rng(0).random((4, 5, len(names)), dtype=np.float32)
    w = Window(0, 0, 5, 4)
    plate = Plate(px, names, w, w, 1.0, {}, "grey.png")
    rgb = plate.rgb()
    assert rgb.shape == (4, 5, 3)
    for k in range(3):
        np.testing.assert_array_equal(rgb[:, :, k], px[:, :, 0])
    assert (plate.alpha() is not None) == ("A" in names)


def test_plate_without_colour_names_the_file_and_the_channels() -> None:
    w = Window(0, 0, 2, 2)
    plate = Plate(np.zeros((2, 2, 2), np.float32), ("G", "Z"), w, w, 1.0, {}, "/s/depth.exr")
    with pytest.raises(PlateError, match=r"/s/depth\.exr.*G, Z.*R, G and B"):
        plate.rgb()
    assert plate.alpha() is None


def test_plate_checks_its_shape() -> None:
    w = Window(0, 0, 3, 2)
    with pytest.raises(PlateError, match="channel names"):
        Plate(np.zeros((2, 3, 4), np.float32), ("R", "G", "B"), w, w, 1.0, {}, "a.exr")
    with pytest.raises(PlateError, match="data window"):
        Plate(np.zeros((3, 3, 3), np.float32), ("R", "G", "B"), w, w, 1.0, {}, "a.exr")


def test_plate_error_message_and_pickling() -> None:
    err = PlateError("cannot read", path="/s/plate.1001.exr", frame=1001)
    assert str(err) == "/s/plate.1001.exr (frame 1001): cannot read"
    again = pickle.loads(pickle.dumps(err))
    assert (str(again), again.path, again.frame) == (str(err), err.path, 1001)
    assert isinstance(err, ValueError)


# --- EXR reading -------------------------------------------------------------------------------

@pytest.mark.parametrize("name, data, display, aspect", [
    ("t01.exr", Window(0, 0, 400, 300), Window(0, 0, 400, 300), 1.0),
    ("t07.exr", Window(0, 0, 400, 300), Window(-40, -40, 481, 371), 1.0),
    ("t08.exr", Window(30, 40, 400, 300), Window(0, 0, 501, 401), 1.0),
    ("t15.exr", Window(0, 0, 400, 300), Window(-40, -40, 481, 371), 1.5),
    ("grid-overscan.exr", Window(-250, -250, 1500, 1500), Window(0, 0, 1000, 1000), 1.0),
])
def test_read_keeps_windows_and_pixel_aspect(name: str, data: Window, display: Window,
                                             aspect: float) -> None:
    plate = read_image(EXR / name)
    assert plate.data_window == data
    assert plate.display_window == display
    assert plate.pixel_aspect == pytest.approx(aspect)
    assert plate.pixels.shape[:2] == data.shape and plate.pixels.dtype == np.float32
    assert plate.rgb().shape == (data.height, data.width, 3)
    assert plate.path == str(EXR / name)


def test_read_matches_openimageio_and_mixed_channel_types() -> None:
    # Half R, G, B and a float Z in one file, data window inside a larger display window.
    plate = read_image(EXR / "v1.7.test.1.exr")
    assert plate.channels == ("R", "G", "B", "Z")
    assert plate.data_window == Window(20, 20, 178, 155)
    ref = oiio.ImageBuf(str(EXR / "v1.7.test.1.exr")).get_pixels(oiio.FLOAT)
    np.testing.assert_array_equal(plate.pixels, ref)


@pytest.mark.parametrize("name", ["GammaChart.exr", "comp_dwaa_v2.exr",
                                  "lineOrder_decreasing.exr"])
def test_read_compression_variants(name: str) -> None:
    plate = read_image(EXR / name)
    ref = oiio.ImageBuf(str(EXR / name)).get_pixels(oiio.FLOAT)
    np.testing.assert_array_equal(plate.pixels, ref)
    assert np.isfinite(plate.rgb()).all()


def test_read_single_y_channel_exr() -> None:
    plate = read_image(EXR / "GrayRampsHorizontal.exr")
    assert plate.channels == ("Y",)
    rgb = plate.rgb()
    np.testing.assert_array_equal(rgb[:, :, 0], rgb[:, :, 2])


def test_read_tiled_multiresolution_gives_level_zero() -> None:
    plate = read_image(EXR / "Bonita.exr")
    assert plate.channels == ("R", "G", "B")
    assert plate.pixels.shape == (832, 550, 3)
    ref = oiio.ImageBuf(str(EXR / "Bonita.exr"), 0, 0).get_pixels(oiio.FLOAT)
    np.testing.assert_array_equal(plate.pixels, ref)


MULTIPART = EXR / "multipart.0001.exr"


def test_multipart_default_is_first_part_with_rgb() -> None:
    plate = read_image(MULTIPART)
    assert plate.channels == ("R", "G", "B", "A")
    assert plate.data_window == Window(654, 245, 877, 876)          # part 0, rgba_right
    assert plate.display_window == Window(0, 0, 2048, 1556)


def test_multipart_select_by_name_or_index() -> None:
    left = read_image(MULTIPART, layer="rgba_left")
    assert left.data_window == Window(688, 245, 877, 876)
    assert left.layer == "rgba_left"
    by_index = read_image(MULTIPART, part=4)
    np.testing.assert_array_equal(left.pixels, by_index.pixels)
    depth = read_image(MULTIPART, part=1)
    assert depth.channels == ("Z",)
    with pytest.raises(PlateError, match=r"multipart\.0001\.exr.*no usable colour"):
        depth.rgb()


def test_multipart_bad_choice_lists_what_exists() -> None:
    with pytest.raises(PlateError, match=r"multipart\.0001\.exr.*'nope'.*'rgba_left'"):
        read_image(MULTIPART, layer="nope")
    with pytest.raises(PlateError, match=r"multipart\.0001\.exr.*valid parts are 0-9"):
        read_image(MULTIPART, part=10)


def test_multipart_first_rgb_part_is_not_always_part_zero(tmp_path: Path) -> None:
    path = tmp_path / "parts.exr"
    mask_spec = oiio.ImageSpec(8, 6, 1, "half")
    mask_spec.channelnames = ("mask",)
    mask_spec.attribute("oiio:subimagename", "matte")
    rgb_spec = oiio.ImageSpec(8, 6, 3, "half")
    rgb_spec.attribute("oiio:subimagename", "beauty")
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), (mask_spec, rgb_spec))
    out.write_image(np.zeros((6, 8, 1), np.float32))
    assert out.open(str(path), rgb_spec, "AppendSubimage")
    out.write_image(np.full((6, 8, 3), 0.25, np.float32))
    out.close()
    plate = read_image(path)
    assert plate.channels == ("R", "G", "B")
    assert (plate.rgb() == 0.25).all()
    assert read_image(path, layer="matte").channels == ("mask",)


def test_named_layers(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    names = ("R", "G", "B", "A", "diffuse.R", "diffuse.G", "diffuse.B", "diffuse.A",
             "spec.R", "spec.G", "spec.B")
    px = rng.random((5, 7, len(names)), dtype=np.float32)
    write_image(tmp_path / "layers.exr", px, names, half=False)

    base = read_image(tmp_path / "layers.exr")
    assert base.channels == ("R", "G", "B", "A") and base.layer == ""
    np.testing.assert_array_equal(base.rgb(), px[:, :, :3])

    diffuse = read_image(tmp_path / "layers.exr", layer="diffuse")
    assert diffuse.channels == ("R", "G", "B", "A") and diffuse.layer == "diffuse"
    np.testing.assert_array_equal(diffuse.rgb(), px[:, :, 4:7])
    np.testing.assert_array_equal(diffuse.alpha(), px[:, :, 7])

    spec = read_image(tmp_path / "layers.exr", layer="spec")
    assert spec.channels == ("R", "G", "B") and spec.alpha() is None
    np.testing.assert_array_equal(spec.rgb(), px[:, :, 8:11])
    assert read_image(tmp_path / "layers.exr", layer="rgba").channels == ("R", "G", "B", "A")
    with pytest.raises(PlateError, match=r"layers\.exr.*'diffuse'.*'spec'"):
        read_image(tmp_path / "layers.exr", layer="specular")


def test_layers_only_file_picks_first_layer_with_colour(tmp_path: Path) -> None:
    names = ("depth.Z", "beauty.R", "beauty.G", "beauty.B")
    px = gradient(4, 6, 4)
    write_image(tmp_path / "aov.exr", px, names, half=False)
    plate = read_image(tmp_path / "aov.exr")
    assert plate.layer == "beauty" and plate.channels == ("R", "G", "B")
    np.testing.assert_array_equal(plate.rgb(), px[:, :, 1:4])


def test_deep_exr_is_refused_clearly() -> None:
    with pytest.raises(PlateError, match=r"11\.deep\.exr: deep images are not supported"):
        read_image(EXR / "11.deep.exr")


def test_exr_uint_channel_keeps_integer_values(tmp_path: Path) -> None:
    ids = np.arange(6 * 9, dtype=np.uint32).reshape(6, 9, 1) * 1000 + 7
    spec = oiio.ImageSpec(9, 6, 1, "uint")
    spec.channelnames = ("id",)
    out = oiio.ImageOutput.create(str(tmp_path / "id.exr"))
    assert out.open(str(tmp_path / "id.exr"), spec)
    out.write_image(ids)
    out.close()
    plate = read_image(tmp_path / "id.exr")
    assert plate.pixels.dtype == np.float32
    np.testing.assert_array_equal(plate.pixels, ids.astype(np.float32))


def test_nan_and_inf_survive_reading(tmp_path: Path) -> None:
    px = gradient(9, 11, 4)
    px[1, 2, 0], px[3, 4, 1], px[5, 6, 2], px[7, 8, 3] = np.nan, np.inf, -np.inf, np.nan
    for fmt in ("half", "float"):
        path = tmp_path / f"bad_values_{fmt}.exr"
        oiio_write(path, px, ("R", "G", "B", "A"), fmt)
        got = read_image(path).pixels
        np.testing.assert_array_equal(np.isnan(got), np.isnan(px))
        np.testing.assert_array_equal(np.isinf(got), np.isinf(px))
        assert got[3, 4, 1] == np.inf and got[5, 6, 2] == -np.inf


# --- round trips -------------------------------------------------------------------------------

def overscan_plate() -> Plate:
    src = read_image(EXR / "grid-overscan.exr")
    src.pixel_aspect = 2.0
    src.metadata.update({"smpte:TimeCode": "01:02:03:04", "framesPerSecond": 24000 / 1001,
                         "custom:shot": "sq010_sh020", "custom:count": 42,
                         "custom:gain": 1.5})
    return src


@pytest.mark.parametrize("half", [True, False])
def test_exr_round_trip_keeps_geometry_and_metadata(tmp_path: Path, half: bool) -> None:
    src = overscan_plate()
    out = tmp_path / "matte.1001.exr"
    extra = {"memmatte:version": "0.1.0", "memmatte:weights": "default.safetensors",
             "memmatte:settings": json.dumps({"downsample_ratio": "auto"})}
    write_image(out, src.pixels, src.channels, like=src, half=half, metadata=extra)

    got = read_image(out)
    assert got.data_window == Window(-250, -250, 1500, 1500)
    assert got.display_window == Window(0, 0, 1000, 1000)
    assert got.pixel_aspect == 2.0
    assert got.metadata["smpte:TimeCode"] == "01:02:03:04"
    assert got.metadata["framesPerSecond"] == pytest.approx(24000 / 1001, abs=1e-12)
    assert got.metadata["custom:shot"] == "sq010_sh020"
    assert got.metadata["custom:count"] == 42 and got.metadata["custom:gain"] == 1.5
    for key, value in extra.items():
        assert got.metadata[key] == value
    assert got.metadata["compression"] == "zip"
    np.testing.assert_array_equal(got.pixels, src.pixels)  # the source is half already
    spec = oiio.ImageInput.open(str(out)).spec()
    assert spec.format == ("half" if half else "float")
    # The timecode and frame rate are stored with the types Nuke and OpenEXR read.
    tc = next(a for a in spec.extra_attribs if a.name == "smpte:TimeCode")
    fps = next(a for a in spec.extra_attribs if a.name == "framesPerSecond")
    assert tc.type == oiio.TypeTimeCode and fps.type == oiio.TypeRational
    assert fps.value == (24000, 1001)


def test_round_trip_without_like_has_origin_windows(tmp_path: Path) -> None:
    px = gradient(23, 37, 3)
    write_image(tmp_path / "plain.exr", px, ("R", "G", "B"), half=False)
    got = read_image(tmp_path / "plain.exr")
    assert got.data_window == got.display_window == Window(0, 0, 37, 23)
    assert got.alpha() is None
    np.testing.assert_array_equal(got.pixels, px)


def test_highlights_and_negatives_float_exact_half_within_precision(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    px = (rng.standard_normal((19, 29, 4)) * 50).astype(np.float32)   # |x| up to ~250
    px[0, 0] = [1e4, -3.5, 65000.0, 0.0]
    px[1, 1] = [1e-3, -1e-5, 1.0000001, 7.25]
    write_image(tmp_path / "f.exr", px, ("R", "G", "B", "A"), half=False)
    np.testing.assert_array_equal(read_image(tmp_path / "f.exr").pixels, px)
    write_image(tmp_path / "h.exr", px, ("R", "G", "B", "A"), half=True)
    got = read_image(tmp_path / "h.exr").pixels
    # Exactly what rounding to half gives: nothing clamped to [0, 1], no extra loss.
    np.testing.assert_array_equal(got, px.astype(np.float16).astype(np.float32))
    assert got.max() > 1000 and got.min() < -100


@pytest.mark.parametrize("compression", EXR_COMPRESSIONS)
def test_every_compression_round_trips(tmp_path: Path, compression: str) -> None:
    px = gradient(45, 67, 4, scale=4.0) - 0.5     # smooth, with values below 0 and above 1
    path = tmp_path / f"c_{compression}.exr"
    write_image(path, px, ("R", "G", "B", "A"), compression=compression)
    got = read_image(path)
    assert got.metadata["compression"] == compression
    expected = px.astype(np.float16).astype(np.float32)
    if compression in ("none", "rle", "zips", "zip", "piz", "pxr24"):   # lossless for half
        np.testing.assert_array_equal(got.pixels, expected)
    else:                                                                # b44, dwa: lossy
        assert np.abs(got.pixels - expected).mean() < 0.02 * np.abs(expected).mean()


def test_compression_level_and_invalid_names(tmp_path: Path) -> None:
    px = gradient(8, 8, 3)
    write_image(tmp_path / "d.exr", px, ("R", "G", "B"), compression="dwaa:45")
    assert read_image(tmp_path / "d.exr").metadata["compression"].startswith("dwaa")
    for bad in ("zipx", "lzw", "piz:3", "dwaa:high"):
        with pytest.raises(PlateError, match=r"x\.exr.*none, rle, zips, zip, piz, pxr24, b44, "
                                             r"b44a, dwaa, dwab"):
            write_image(tmp_path / "x.exr", px, ("R", "G", "B"), compression=bad)
    assert not (tmp_path / "x.exr").exists()


@pytest.mark.parametrize("suffix, fmt, bits, tol", [
    (".png", "uint16", 16, 0.5 / 65535),
    (".tif", "uint16", 16, 0.5 / 65535),
    (".jpg", "uint8", 8, None),             # lossy: judged on the mean error
    (".dpx", "uint16", 10, 1 / 1023),       # OpenImageIO truncates 16 -> 10 bits
])
def test_preview_formats_bit_depth_and_values(tmp_path: Path, suffix: str, fmt: str, bits: int,
                                              tol: float | None) -> None:
    px = gradient(23, 37, 3)                 # 37x23: not a multiple of 16 on either side
    px[0, 0] = [2.0, -1.0, 0.5]              # integer formats clamp
    path = tmp_path / f"preview{suffix}"
    write_image(path, px, ("R", "G", "B"))
    spec = oiio.ImageInput.open(str(path)).spec()
    assert spec.format == fmt
    if suffix == ".dpx":
        assert spec.get_int_attribute("oiio:BitsPerSample") == bits
    got = read_image(path)
    assert got.pixels.shape == (23, 37, 3)
    error = np.abs(got.rgb() - np.clip(px, 0, 1))
    if tol is None:
        assert error.mean() < 0.01
    else:  # rounded to the nearest level, clamped to [0, 1]
        assert error.max() <= tol + 1e-6


@pytest.mark.parametrize("suffix, fmt, scale", [(".png", "uint16", 65535), (".png", "uint8", 255),
                                                (".tif", "uint16", 65535), (".tif", "uint8", 255)])
def test_integer_inputs_normalised_one_channel(tmp_path: Path, suffix: str, fmt: str,
                                               scale: int) -> None:
    h, w = 17, 33
    levels = (np.arange(h * w).reshape(h, w, 1) * 97 % (scale + 1)).astype(np.float32) / scale
    path = tmp_path / f"grey_{fmt}{suffix}"
    oiio_write(path, levels, ("Y",), fmt)
    plate = read_image(path)
    assert plate.channels == ("Y",)
    np.testing.assert_allclose(plate.pixels, levels, atol=1e-6)
    rgb = plate.rgb()
    assert rgb.shape == (h, w, 3)
    np.testing.assert_array_equal(rgb[:, :, 1], plate.pixels[:, :, 0])


def test_sixteen_bit_rgba_tiff_and_float_tiff(tmp_path: Path) -> None:
    px = gradient(21, 35, 4)
    oiio_write(tmp_path / "c16.tif", px, ("R", "G", "B", "A"), "uint16")
    np.testing.assert_allclose(read_image(tmp_path / "c16.tif").pixels, px, atol=1 / 65535)
    px[0, 0, 0] = 3.0
    oiio_write(tmp_path / "c32.tif", px, ("R", "G", "B", "A"), "float")
    np.testing.assert_array_equal(read_image(tmp_path / "c32.tif").pixels, px)


def test_write_checks_its_inputs(tmp_path: Path) -> None:
    px = gradient(6, 8, 3)
    with pytest.raises(PlateError, match=r"out\.gif: cannot write \.gif; valid extensions"):
        write_image(tmp_path / "out.gif", px, ("R", "G", "B"))
    with pytest.raises(PlateError, match=r"out\.exr.*4 channel names"):
        write_image(tmp_path / "out.exr", px, ("R", "G", "B", "A"))
    like = read_image(EXR / "t08.exr")
    with pytest.raises(PlateError, match=r"out\.exr: pixels are 8x6 but the data window"):
        write_image(tmp_path / "out.exr", px, ("R", "G", "B"), like=like)
    with pytest.raises(PlateError, match=r"out\.exr.*HH:MM:SS:FF"):
        write_image(tmp_path / "out.exr", px, ("R", "G", "B"),
                    metadata={"smpte:TimeCode": "1:2:3"})
    with pytest.raises(PlateError, match=r"out\.exr.*cannot be stored"):
        write_image(tmp_path / "out.exr", px, ("R", "G", "B"), metadata={"bad": object()})
    assert list(tmp_path.iterdir()) == []


def test_failed_write_leaves_existing_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "preview.png"
    write_image(path, gradient(6, 8, 3), ("R", "G", "B"))
    before = path.read_bytes()
    with pytest.raises(PlateError, match=r"preview\.png: cannot write"):
        # PNG holds at most 4 channels: OpenImageIO refuses while the temporary file is open.
        write_image(path, gradient(6, 8, 7), tuple("RGBAXYZ"))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["preview.png"]


def test_timecode_and_frame_rate_conversions() -> None:
    assert timecode_to_string(timecode_from_string("23:59:59:29")) == "23:59:59:29"
    assert timecode_to_string(timecode_from_string("10:00:00;02")) == "10:00:00;02"
    assert timecode_from_string("01:02:03:04") == 0x01020304
    for bad in ("1:2:3:4", "24:00:00:00", "00:60:00:00", "aa:bb:cc:dd"):
        with pytest.raises(ValueError):
            timecode_from_string(bad)
    assert fps_to_rational(25.0) == (25, 1)
    assert fps_to_rational(23.976) == (24000, 1001)
    assert fps_to_rational(59.94) == (60000, 1001)
    assert fps_to_rational(12.5) == (25, 2)


# --- robustness: missing, not an image, truncated, damaged -------------------------------------

def test_missing_folder_and_non_image_files(tmp_path: Path) -> None:
    with pytest.raises(PlateError, match=r"nope\.exr: file does not exist"):
        read_image(tmp_path / "nope.exr")
    with pytest.raises(PlateError, match="is a folder"):
        read_image(tmp_path)
    (tmp_path / "notes.exr").write_text("not an image")
    with pytest.raises(PlateError, match=r"notes\.exr: not a readable image: .*"):
        read_image(tmp_path / "notes.exr")


DAMAGED = sorted((EXR / "damaged").glob("*.exr"))
INVALID = [EXR / n for n in (
    "invalid.exr", "comp_early_eof_piz.exr", "comp_bad_bounds_piz.exr",
    "comp_bad_neg_bounds_pxr24.exr", "comp_bad_pos_bounds_piz.exr",
    "comp_bad_pos_bounds_pxr24.exr", "comp_short_decode_piz.exr", "comp_invalid_unknown.exr",
    "invalid_shared_attrs_multipart.exr", "tiled.exr")]

# Reads each path given and prints one JSON result per path; any crash, hang or exception other
# than PlateError shows up as a bad exit status or a timeout in the parent.
_READER = """
import json, sys
from memmatte.io import PlateError, read_image
for path in sys.argv[1:]:
    try:
        plate = read_image(path)
        shape_ok = plate.pixels.shape[:2] == plate.data_window.shape
        print(json.dumps({"path": path, "ok": True, "shape_ok": shape_ok}), flush=True)
    except PlateError as exc:
        print(json.dumps({"path": path, "ok": False, "error": str(exc)}), flush=True)
"""


def read_in_subprocess(*paths: Path, timeout: float = 20.0) -> list[dict[str, object]]:
    try:
        run = subprocess.run([sys.executable, "-c", _READER, *map(str, paths)],
                             capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"reading {[p.name for p in paths]} hung (> {timeout} s)")
    assert run.returncode == 0, (f"reading {[p.name for p in paths]} crashed or raised something "
                                 f"other than PlateError (exit {run.returncode}):\n{run.stderr}")
    assert "pending error" not in run.stderr, run.stderr
    results = [json.loads(line) for line in run.stdout.splitlines()]
    assert [r["path"] for r in results] == [str(p) for p in paths]
    return results


def check_read_or_plate_error(result: dict[str, object]) -> None:
    if result["ok"]:
        assert result["shape_ok"]
    else:
        assert str(result["path"]) in str(result["error"]), result["error"]


@pytest.mark.parametrize("path", DAMAGED + INVALID, ids=lambda p: p.name[:40])
def test_damaged_and_invalid_files_fail_cleanly(path: Path, tmp_path: Path) -> None:
    # Also without the extension, as the fuzzed files are stored upstream: OpenImageIO then
    # probes every reader instead of going straight to OpenEXR's.
    bare = tmp_path / path.stem
    shutil.copyfile(path, bare)
    for result in read_in_subprocess(path, bare):
        check_read_or_plate_error(result)


def test_damaged_set_is_present() -> None:
    assert len(DAMAGED) >= 10 and all(p.exists() for p in INVALID)


def test_truncated_files_fail_cleanly(tmp_path: Path) -> None:
    paths = []
    for name, fraction in (("t08.exr", 0.5), ("multipart.0001.exr", 0.3), ("Bonita.exr", 0.6),
                           ("grid-overscan.exr", 0.02)):
        data = (EXR / name).read_bytes()
        cut = tmp_path / f"cut_{name}"
        cut.write_bytes(data[:int(len(data) * fraction)])
        paths.append(cut)
    write_image(tmp_path / "p.png", gradient(40, 50, 3), ("R", "G", "B"))
    png = (tmp_path / "p.png").read_bytes()
    (tmp_path / "cut_p.png").write_bytes(png[:len(png) // 2])
    paths.append(tmp_path / "cut_p.png")
    for result in read_in_subprocess(*paths):
        assert not result["ok"], f"{result['path']} read although truncated"
        check_read_or_plate_error(result)


# --- frame patterns and ranges -----------------------------------------------------------------

@pytest.mark.parametrize("text, padding, frame, name", [
    ("/s/plate.####.exr", 4, 1001, "plate.1001.exr"),
    ("/s/plate.#.exr", 1, 7, "plate.7.exr"),
    ("/s/plate.%04d.exr", 4, 12, "plate.0012.exr"),
    ("/s/plate.%d.exr", 0, 12, "plate.12.exr"),
    ("/s/plate.@@@@@.exr", 5, 1001, "plate.01001.exr"),
    ("/s/plate.$F4.exr", 4, 3, "plate.0003.exr"),
    ("/s/plate.$F.exr", 0, 3, "plate.3.exr"),
    ("/s/plate_####_v2.dpx", 4, 10001, "plate_10001_v2.dpx"),
    ("/s/plate.####.exr", 4, -5, "plate.-005.exr"),
])
def test_pattern_tokens(text: str, padding: int, frame: int, name: str) -> None:
    pattern = FramePattern.parse(text)
    assert pattern.padding == padding and not pattern.is_single
    assert pattern.path(frame) == Path("/s") / name
    assert pattern.frame_of(name) == frame


def test_single_image_and_bad_patterns() -> None:
    single = FramePattern.parse("/s/still.exr")
    assert single.is_single and single.path(1001) == Path("/s/still.exr")
    with pytest.raises(PlateError, match=r"more than one frame token \(####, %04d\)"):
        FramePattern.parse("/s/a.####.%04d.exr")
    with pytest.raises(PlateError, match="folder"):
        FramePattern.parse("/s/v####/plate.####.exr")
    with pytest.raises(PlateError, match="valid forms"):
        FramePattern.parse("")


def test_scan_finds_exact_spellings_only(tmp_path: Path) -> None:
    for name in ("plate.1001.exr", "plate.1002.exr", "plate.1004.exr", "plate.10000.exr",
                 "plate.01003.exr", "plate.1005.exr.tmp", "other.1006.exr", "plate.10x7.exr",
                 "plate.-005.exr"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "plate.1008.exr").mkdir()
    pattern = FramePattern.parse(tmp_path / "plate.####.exr")
    assert pattern.scan() == [-5, 1001, 1002, 1004, 10000]
    assert FramePattern.parse(tmp_path / "missing" / "plate.####.exr").scan() == []


@pytest.mark.parametrize("text, frames", [
    ("1001-1005", [1001, 1002, 1003, 1004, 1005]),
    ("1001-1010x3", [1001, 1004, 1007, 1010]),
    ("1001-1008X4", [1001, 1005]),
    ("7", [7]),
    ("1, 3-4,10-14x2", [1, 3, 4, 10, 12, 14]),
    ("5,3,5,4", [3, 4, 5]),
    ("-5--1", [-5, -4, -3, -2, -1]),
    ("-2-1", [-2, -1, 0, 1]),
    ("-3", [-3]),
    (" 1001-1002  1010 ", [1001, 1002, 1010]),
])
def test_parse_frames(text: str, frames: list[int]) -> None:
    assert parse_frames(text) == frames


@pytest.mark.parametrize("text, bad", [
    ("", "empty"), ("abc", "'abc'"), ("1001-", "'1001-'"), ("10-5", "ends before"),
    ("1-10x0", "step"), ("1..5", "'1..5'"), ("1001-1100x", "'1001-1100x'"),
    ("1-5000000", "more than"),
])
def test_parse_frames_errors_name_the_text_and_show_valid_forms(text: str, bad: str) -> None:
    with pytest.raises(PlateError) as info:
        parse_frames(text)
    message = str(info.value)
    assert bad in message
    if bad != "more than":
        assert "1001-1100x2" in message


def test_require_frames_lists_missing_as_ranges(tmp_path: Path) -> None:
    present = [f for f in range(1001, 1013) if f not in (1003, 1004, 1005, 1010)]
    for f in present:
        (tmp_path / f"plate.{f}.exr").write_bytes(b"")
    pattern = FramePattern.parse(tmp_path / "plate.####.exr")
    require_frames(pattern, present)                               # all there: no error
    with pytest.raises(PlateError) as info:
        require_frames(str(tmp_path / "plate.####.exr"), range(1001, 1013))
    message = str(info.value)
    assert "4 of 12 frames are missing: 1003-1005, 1010" in message
    assert "plate.####.exr" in message
    assert "1001-1002, 1006-1009, 1011-1012" in message            # what is on disk
    with pytest.raises(PlateError, match="does not exist"):
        require_frames(tmp_path / "nowhere" / "plate.####.exr", [1])
    with pytest.raises(PlateError, match=r"still\.exr: file does not exist"):
        require_frames(tmp_path / "still.exr", [1])


def test_format_frames() -> None:
    assert format_frames([5, 1, 2, 3, 9, 10]) == "1-3, 5, 9-10"
    assert format_frames(range(0, 100, 2), limit=3) == "0, 2, 4, ... (47 more ranges)"
    assert format_frames([]) == ""


# --- video ---------------------------------------------------------------------------------------

def test_is_video() -> None:
    assert is_video("a/b/shot.MP4") and is_video("x.mov") and is_video("x.mkv")
    assert is_video(Path("x.avi")) and not is_video("plate.####.exr")


def test_video_properties() -> None:
    with VideoReader(MOVIE) as video:
        assert video.frame_count == len(video) == 120
        assert video.fps == pytest.approx(30000 / 1001)
        assert video.size == (176, 144)
        frame = video.read(0)
        assert frame.shape == (144, 176, 3) and frame.dtype == np.float32
        assert 0.0 <= frame.min() and frame.max() <= 1.0 and frame.std() > 0.05


def test_video_sequential_and_random_access_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    with VideoReader(MOVIE) as video:
        seeks = []
        original = video._seek_and_read
        monkeypatch.setattr(video, "_seek_and_read", lambda i: seeks.append(i) or original(i))
        frames = list(video)
        assert len(frames) == 120
        assert seeks == [0], "sequential reading must not seek"
        assert not np.array_equal(frames[0], frames[60])
    order = [119, 0, 64, 63, 65, 100, 1] + random.Random(3).sample(range(120), 12)
    with VideoReader(MOVIE) as video:
        for i in order:
            np.testing.assert_array_equal(video.read(i), frames[i], err_msg=f"frame {i}")
        with pytest.raises(PlateError, match=r"carphone_pristine\.mp4 \(frame 120\).*0-119"):
            video.read(120)
    with pytest.raises(PlateError, match="closed"):
        video.read(0)


def test_video_errors(tmp_path: Path) -> None:
    with pytest.raises(PlateError, match=r"nope\.mp4: movie file does not exist"):
        VideoReader(tmp_path / "nope.mp4")
    (tmp_path / "fake.mp4").write_bytes(b"\x00" * 1000)
    with pytest.raises(PlateError, match=r"fake\.mp4: not a readable movie"):
        VideoReader(tmp_path / "fake.mp4")
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(MOVIE.read_bytes()[:20000])
    try:
        with VideoReader(cut) as video:  # a truncated movie may open; reading must not crash
            for i in range(video.frame_count):
                video.read(i)
    except PlateError as exc:
        assert "cut.mp4" in str(exc)
