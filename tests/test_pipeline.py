"""From plate to matte: the render pipeline's contract (DESIGN invariants 1-5)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from memmatte.atomic import owner
from memmatte.cli import main
from memmatte.pipeline import RenderSettings, preroll_plan, render

from .plates import DEMO_PLATE, demo_frame, read_exr, write_exr

PLATE = str(DEMO_PLATE / "bedroom.####.exr")


def channel_index(spec, name: str) -> int:
    return list(spec.channelnames).index(name)


@pytest.fixture(scope="module")
def overscan_plate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three ACEScg frames with overscan, highlights above 1 and negatives."""
    folder = tmp_path_factory.mktemp("overscan")
    for frame in (1001, 1002, 1003):
        rgb = demo_frame(frame)
        rgb = np.pad(rgb, ((8, 8), (16, 16), (0, 0)), mode="edge")  # 512x286
        rgb[:, :, 0] *= 3.0  # reds well above 1 where the plate is bright
        rgb[0:20, 0:20] = -0.05
        write_exr(folder / f"ov.{frame}.exr", rgb, origin=(-16, -8), display=(0, 0, 480, 270),
                  extra={"camera": "A001"})
    return folder


def test_acescg_render_keeps_plate_where_alpha_is_one(overscan_plate: Path,
                                                      tmp_path: Path) -> None:
    out = tmp_path / "m.####.exr"
    result = render(RenderSettings(input=str(overscan_plate / "ov.####.exr"), output=str(out),
                                   colorspace="ACEScg", ocio="ocio://default", device="cpu"))
    assert result.written == [1001, 1002, 1003]
    for frame in result.written:
        plate, pspec = read_exr(overscan_plate / f"ov.{frame}.exr")
        matte, mspec = read_exr(tmp_path / f"m.{frame:04d}.exr")
        assert (mspec.x, mspec.y, mspec.width, mspec.height) == (-16, -8, 512, 286)
        assert (mspec.full_x, mspec.full_y, mspec.full_width, mspec.full_height) == (
            0, 0, 480, 270)
        assert mspec.format == "half"
        alpha = matte[..., channel_index(mspec, "A")]
        rgb = matte[..., [channel_index(mspec, c) for c in "RGB"]]
        solid = alpha == 1.0
        assert solid.sum() > 2000, "the person should be solid somewhere"
        # Bit for bit: the same half values, highlights above 1 included.
        assert np.array_equal(rgb[solid].view(np.uint16), plate[solid].view(np.uint16))
        assert (plate[solid] > 1.0).any()
        assert np.all(rgb[alpha == 0.0] == 0.0)
        assert np.isfinite(rgb).all()
        assert mspec.get_string_attribute("smpte:TimeCode") == pspec.get_string_attribute(
            "smpte:TimeCode")
        assert mspec.get_string_attribute("camera") == "A001"
        assert len(mspec.get_string_attribute("memmatte:weights")) == 12
        settings = json.loads(mspec.get_string_attribute("memmatte:settings"))
        assert settings["colorspace"] == "ACEScg"


def test_chunks_give_the_same_files_as_one_run(tmp_path: Path) -> None:
    whole, chunks = tmp_path / "whole", tmp_path / "chunks"
    base = dict(input=PLATE, device="cpu", ocio="ocio://default")
    render(RenderSettings(output=str(whole / "m.####.exr"), frames="1001-1008", **base))
    render(RenderSettings(output=str(chunks / "m.####.exr"), frames="1001-1004", **base))
    render(RenderSettings(output=str(chunks / "m.####.exr"), frames="1005-1008", **base))
    for frame in range(1001, 1009):
        a, b = whole / f"m.{frame}.exr", chunks / f"m.{frame}.exr"
        assert a.read_bytes() == b.read_bytes(), f"frame {frame} differs"


def test_preroll_plan_reads_two_frames_before_a_chunk() -> None:
    assert preroll_plan([1005, 1006], list(range(1001, 1011)), 2) == [1003, 1004, 1005, 1006]
    assert preroll_plan([1001, 1003], list(range(1001, 1011)), 2) == [1001, 1002, 1003]


def worker(job: dict, tmp_path: Path) -> subprocess.Popen:
    path = tmp_path / "job.json"
    path.write_text(json.dumps(job))
    return subprocess.Popen([sys.executable, "-m", "memmatte.worker", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_files(folder: Path, count: int, proc: subprocess.Popen, limit: float = 120) -> None:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if len(list(folder.glob("m.*.exr"))) >= count:
            return
        if proc.poll() is not None:
            raise AssertionError(f"worker ended early: {proc.stderr.read()}")
        time.sleep(0.05)
    raise AssertionError("worker wrote too few frames in time")


def test_killed_job_resumes_to_identical_files(tmp_path: Path) -> None:
    job = {"input": PLATE, "output": str(tmp_path / "run" / "m.####.exr"), "device": "cpu",
           "ocio": "ocio://default", "resume": True}
    proc = worker(job, tmp_path)
    wait_for_files(tmp_path / "run", 3, proc)
    proc.kill()  # SIGKILL: no chance to tidy up
    proc.wait()
    # What a killed writer leaves: a temporary named by atomic.py (maker: a dead process).
    stale = tmp_path / "run" / f".m.1009.{owner(proc.pid)}-abc123.tmp.exr"
    stale.write_bytes(b"half a frame")
    assert len(list((tmp_path / "run").glob("m.*.exr"))) < 10
    finished = worker(job, tmp_path)
    assert finished.wait(timeout=300) == 0, finished.stderr.read()
    render(RenderSettings(input=PLATE, output=str(tmp_path / "ref" / "m.####.exr"),
                          device="cpu", ocio="ocio://default"))
    names = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert names == [f"m.{f}.exr" for f in range(1001, 1011)]  # no temporary left
    for name in names:
        assert (tmp_path / "run" / name).read_bytes() == (tmp_path / "ref" / name).read_bytes()


def test_sigterm_stops_cleanly(tmp_path: Path) -> None:
    job = {"input": PLATE, "output": str(tmp_path / "m.####.exr"), "device": "cpu",
           "ocio": "ocio://default"}
    proc = worker(job, tmp_path)
    wait_for_files(tmp_path, 1, proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, err
    events = [json.loads(line) for line in out.splitlines()]
    final = events[-1]
    assert final["event"] == "result" and final["cancelled"] is True
    assert sorted(p.name for p in tmp_path.glob("m.*.exr")) == [
        f"m.{f}.exr" for f in final["written"]]
    assert not list(tmp_path.glob(".*tmp*"))
    kinds = [e["event"] for e in events]
    assert kinds[0] == "accepted" and "setup" in kinds and "frame" in kinds
    assert kinds.index("setup") < kinds.index("start") < kinds.index("frame")


# -- bad input --------------------------------------------------------------------------------
def test_missing_frames_are_named_before_any_work(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    for frame in (1, 2, 4, 5):
        write_exr(tmp_path / f"p.{frame:04d}.exr", np.full((32, 48, 3), 0.5, np.float32))
    rc = main(["render", str(tmp_path / "p.####.exr"), "-o", str(tmp_path / "o" / "m.####.exr"),
               "--frames", "1-5", "--device", "cpu", "--quiet"])
    assert rc == 2
    assert "3" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_unknown_colorspace_lists_valid_names(tmp_path: Path,
                                              capsys: pytest.CaptureFixture) -> None:
    rc = main(["render", PLATE, "-o", str(tmp_path / "m.####.exr"), "--colorspace", "ACEScgg",
               "--ocio", "ocio://default", "--quiet"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "ACEScgg" in err and "ACEScg" in err and "Linear Rec.709 (sRGB)" in err


def test_nan_inf_negative_huge_values_give_finite_output(tmp_path: Path) -> None:
    rgb = demo_frame(1001)[:101, :157].copy()  # not multiples of 16
    rgb[0:10, 0:10] = np.nan
    rgb[10:20, 0:10] = np.inf
    rgb[20:30, 0:10] = -np.inf
    rgb[30:40, 0:10] = -3.0
    rgb[40:50, 0:10] = 6e4
    write_exr(tmp_path / "p.0001.exr", rgb, pixel_type="float")
    render(RenderSettings(input=str(tmp_path / "p.####.exr"), output=str(tmp_path / "m.####.exr"),
                          colorspace="ACEScg", ocio="ocio://default", device="cpu", half=False))
    matte, spec = read_exr(tmp_path / "m.0001.exr")
    assert (spec.width, spec.height) == (157, 101) and spec.format == "float"
    alpha = matte[..., channel_index(spec, "A")]
    assert np.isfinite(alpha).all() and alpha.min() >= 0 and alpha.max() <= 1


def test_one_channel_and_16_bit_inputs(tmp_path: Path) -> None:
    import OpenImageIO as oiio

    grey = demo_frame(1001)[..., 1:2]
    write_exr(tmp_path / "y.0001.exr", grey, channels=("Y",))
    render(RenderSettings(input=str(tmp_path / "y.####.exr"), output=str(tmp_path / "a.####.exr"),
                          colorspace="ACEScg", ocio="ocio://default", device="cpu"))
    assert read_exr(tmp_path / "a.0001.exr")[1].nchannels == 4
    png = tmp_path / "p16.png"
    buf = oiio.ImageBuf(oiio.ImageSpec(96, 54, 3, "uint16"))
    buf.set_pixels(oiio.ROI(), np.random.default_rng(0).uniform(0, 1, (54, 96, 3)).astype(
        np.float32))
    assert buf.write(str(png))
    render(RenderSettings(input=str(png), output=str(tmp_path / "b.exr"), device="cpu",
                          ocio="ocio://default"))
    matte, spec = read_exr(tmp_path / "b.exr")
    assert (spec.width, spec.height, spec.nchannels) == (96, 54, 4)


def test_damaged_plate_is_refused_with_its_name(tmp_path: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "p.0001.exr"
    bad.write_bytes(b"\x76\x2f\x31\x01" + os.urandom(200))  # EXR magic, then garbage
    rc = main(["render", str(tmp_path / "p.####.exr"), "-o", str(tmp_path / "m.####.exr"),
               "--device", "cpu", "--quiet"])
    assert rc == 2
    assert "p.0001.exr" in capsys.readouterr().err
    assert not list(tmp_path.glob("m.*"))


def test_dry_run_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rc = main(["render", PLATE, "-o", str(tmp_path / "m.####.exr"), "--frames", "1001-1010x3",
               "--dry-run", "--ocio", "ocio://default"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "4 to render" in out and "ACES" in out and "1001, 1004, 1007, 1010" in out
    assert not list(tmp_path.iterdir())


def test_queue_goes_past_a_failed_shot(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "shots.toml").write_text(f'''
[defaults]
device = "cpu"
ocio = "ocio://default"

[[shot]]
name = "broken"
input = "missing/plate.####.exr"
output = "out/broken.####.exr"

[[shot]]
name = "bedroom"
input = "{PLATE}"
output = "out/bedroom.####.exr"
frames = "1001-1002"
''')
    rc = main(["queue", str(tmp_path / "shots.toml"), "--quiet"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "2 shots, 1 failed" in out and "FAILED broken" in out and "ok     bedroom" in out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "bedroom.1001.exr", "bedroom.1002.exr"]


def test_video_input_renders_numbered_frames_with_a_log(tmp_path: Path) -> None:
    video = Path(__file__).parent / "data" / "video" / "carphone_pristine.mp4"
    rc = main(["render", str(video), "-o", str(tmp_path / "m.####.exr"), "--frames", "1-3",
               "--device", "cpu", "--quiet", "--log", str(tmp_path / "render.log"),
               "--preview", str(tmp_path / "sheet.png")])
    assert rc == 0
    assert sorted(p.name for p in tmp_path.glob("m.*.exr")) == [
        "m.0001.exr", "m.0002.exr", "m.0003.exr"]
    matte, spec = read_exr(tmp_path / "m.0002.exr")
    assert (spec.width, spec.height, spec.nchannels) == (176, 144, 4)
    events = [json.loads(line) for line in (tmp_path / "render.log").read_text().splitlines()]
    assert [e["event"] for e in events] == ["start", "frame", "frame", "frame", "done"]
    assert events[-1]["done"] == 3 and (tmp_path / "sheet.png").stat().st_size > 0


@pytest.mark.parametrize("option,message", [
    (["--compression", "lzma"], "--compression: 'lzma' is not an EXR compression; valid: none"),
    (["--threads", "0"], "--threads: must be at least 1"),
    (["--device", "tpu"], "unknown device 'tpu'; valid: auto, cpu"),
])
def test_bad_options_fail_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture,
                                          option: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as caught:  # argparse, with the settings' own check
        main(["render", PLATE, "-o", str(tmp_path / "m.####.exr"), "--quiet", *option])
    assert caught.value.code == 2
    assert message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_frame_events_come_after_their_file_is_complete(tmp_path: Path) -> None:
    seen = []

    def check(p) -> None:
        if p.event == "frame":
            seen.append((p.frame, p.done, Path(p.path).is_file()))

    render(RenderSettings(input=PLATE, output=str(tmp_path / "m.####.exr"), frames="1001-1004",
                          ocio="ocio://default", device="cpu"), progress=check)
    assert seen == [(1001, 1, True), (1002, 2, True), (1003, 3, True), (1004, 4, True)]
