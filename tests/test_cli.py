"""The memmatte command: eval on a benchmark-layout folder, bench, demo, info, errors."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from memmatte.cli import main
from memmatte.io.eight_bit import read_gray, read_rgb
from memmatte.metrics import average_clips, score_clip


def make_clip(root: Path, frames: int, with_gt: bool, ext: str = ".png") -> None:
    """A person-sized blob over a textured background, with exact ground truth."""
    rng = np.random.default_rng(len(str(root)))
    h, w = 48, 64
    yy, xx = np.mgrid[0:h, 0:w]
    for i in range(frames):
        pha = np.clip(1.5 - np.hypot((yy - 24) / 14, (xx - 24 - 2 * i) / 9), 0, 1)
        fgr = np.stack([0.8 * np.ones((h, w)), 0.5 * pha, 0.3 * np.ones((h, w))], 2)
        bgr = rng.uniform(0, 1, (h, w, 3))
        com = fgr * pha[..., None] + bgr * (1 - pha[..., None])
        for sub, img in (("com", com), ("pha", pha), ("fgr", fgr)):
            if sub != "com" and not with_gt:
                continue
            (root / sub).mkdir(parents=True, exist_ok=True)
            Image.fromarray((img * 255 + 0.5).astype(np.uint8)).save(root / sub / f"{i:04d}{ext}")


def test_eval_writes_predictions_named_like_inputs_and_scores(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture
                                                              ) -> None:
    data, out = tmp_path / "data", tmp_path / "pred"
    make_clip(data / "videomatte_motion" / "0000", 3, with_gt=True)
    make_clip(data / "videomatte_motion" / "0001", 2, with_gt=True, ext=".jpg")
    make_clip(data / "real" / "bedroom", 2, with_gt=False)
    rc = main(["eval", str(data), "--out", str(out), "--quiet", "--json",
               str(tmp_path / "scores.json")])
    assert rc == 0
    for clip, n in (("videomatte_motion/0000", 3), ("videomatte_motion/0001", 2),
                    ("real/bedroom", 2)):
        for sub in ("pha", "fgr"):
            names = sorted(p.name for p in (out / clip / sub).iterdir())
            assert names == [f"{i:04d}.png" for i in range(n)]
    with Image.open(out / "videomatte_motion/0000/fgr/0000.png") as img:
        assert img.mode == "RGB" and img.size == (64, 48)
    text = capsys.readouterr().out
    assert "real/bedroom: 2 frames (no ground truth)" in text
    assert "mean over scored clips:" in text and "pha_dtssd" in text and "pha_conn" in text
    # The reported numbers are the benchmark's, computed from the 8-bit files on disk.
    per_clip = []
    for clip, ext, n in (("videomatte_motion/0000", ".png", 3),
                         ("videomatte_motion/0001", ".jpg", 2)):
        gt = data / clip
        per_clip.append(score_clip(
            [read_gray(out / clip / "pha" / f"{i:04d}.png") for i in range(n)],
            [read_gray(gt / "pha" / f"{i:04d}{ext}") for i in range(n)],
            [read_rgb(out / clip / "fgr" / f"{i:04d}.png") for i in range(n)],
            [read_rgb(gt / "fgr" / f"{i:04d}{ext}") for i in range(n)]))
    expected = average_clips(per_clip)
    reported = json.loads((tmp_path / "scores.json").read_text())["summary"]
    assert reported.keys() == expected.keys()
    for key, value in expected.items():
        assert reported[key] == pytest.approx(value, rel=1e-6, abs=1e-9)
        assert f"  {key}: {value:.4f}" in text


def test_eval_memory_none_and_ratio_options(tmp_path: Path) -> None:
    make_clip(tmp_path / "d" / "c", 5, with_gt=True)
    assert main(["eval", str(tmp_path / "d"), "--out", str(tmp_path / "p"), "--quiet",
                 "--memory", "none", "--downsample-ratio", "0.5", "--sheet", "3"]) == 0
    assert len(list((tmp_path / "p" / "c" / "pha").iterdir())) == 5
    with Image.open(tmp_path / "p" / "c" / "contact_sheet.png") as sheet:
        # Three rows of 64x48 frames scaled to 320 px wide panels, under an 18 px header.
        assert sheet.size == (960, 18 + 3 * 240)


def test_eval_errors_name_the_problem(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "empty").mkdir()
    assert main(["eval", str(tmp_path / "empty"), "--out", str(tmp_path / "p")]) == 2
    assert "no clip folders with a 'com/' subfolder" in capsys.readouterr().err
    make_clip(tmp_path / "d" / "c", 2, with_gt=True)
    (tmp_path / "d" / "c" / "pha" / "0001.png").unlink()
    assert main(["eval", str(tmp_path / "d"), "--out", str(tmp_path / "p"), "--quiet"]) == 2
    assert "no ground truth for frame 0001.png" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()  # found before any work
    make_clip(tmp_path / "e" / "c", 2, with_gt=True)
    (tmp_path / "e" / "c" / "com" / "0001.png").write_bytes(b"not a png")
    assert main(["eval", str(tmp_path / "e"), "--out", str(tmp_path / "p"), "--quiet"]) == 2
    assert "0001.png: cannot read image" in capsys.readouterr().err


def test_bad_options_are_refused(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        main(["eval", "x", "--out", "y", "--downsample-ratio", "1.5"])
    assert "must be in (0, 1]" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["eval", "x", "--out", "y", "--memory", "gru"])
    assert "--memory: 'gru' is not valid; valid: attention, none" in capsys.readouterr().err


def test_missing_weights_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["demo", "--out", str(tmp_path), "--weights", str(tmp_path / "no.safetensors")]
                ) == 2
    assert "no.safetensors: weights file not found" in capsys.readouterr().err


def test_bench_macs_within_paper_budget(capsys: pytest.CaptureFixture) -> None:
    assert main(["bench", "--macs", "--memory", "none"]) == 0
    single = dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines())
    assert float(single["GMACs 512x512"]) <= 9.69  # the paper's figure, for one frame alone
    assert main(["bench", "--macs"]) == 0
    lines = dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines())
    # The shipped decoder window also runs the decoder's four blocks for t-2 and t-1:
    # 15.8 at 512x512, above the paper's budget (docs/architecture.md says why).
    assert float(single["GMACs 512x512"]) < float(lines["GMACs 512x512"]) <= 16.0
    assert int(lines["params"]) > 3_000_000
    assert not any(k.startswith("ms/frame") for k in lines)


def test_bench_json_times_one_small_size(monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture) -> None:
    import memmatte.commands.bench as bench

    monkeypatch.setattr(bench, "TIMED", ((64, 48, 1.0), (128, 96, 0.5)))
    assert main(["bench", "--json", "--threads", "1", "--frames", "1"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["macs"]) == {"params", "GMACs 512x512", "GMACs 64x48@1",
                                   "GMACs 128x96@0.5"}
    sizes = [(t["width"], t["height"], t["threads"]) for t in report["timings"]]
    assert sizes == [(64, 48, 1), (128, 96, 1)]
    assert all(t["ms_median"] > 0 and t["peak_rss_mb"] >= t["base_rss_mb"]
               for t in report["timings"])


def test_demo_renders_the_bundled_plate(tmp_path: Path) -> None:
    import OpenImageIO as oiio

    assert main(["demo", "--out", str(tmp_path), "--device", "cpu"]) == 0
    mattes = sorted(p.name for p in tmp_path.glob("bedroom_matte.*.exr"))
    assert mattes == [f"bedroom_matte.{f}.exr" for f in range(1001, 1011)]
    buf = oiio.ImageBuf(str(tmp_path / "bedroom_matte.1001.exr"))
    spec = buf.spec()
    assert list(spec.channelnames) == ["R", "G", "B", "A"] and (spec.width, spec.height) == (
        480, 270)
    alpha = buf.get_pixels(oiio.FLOAT)[..., 3]
    # A real person is found: a good part of the frame is solid foreground, most is not.
    assert 0.03 < (alpha > 0.8).mean() < 0.5
    assert len(list(tmp_path.glob("bedroom_alpha.*.exr"))) == 10
    with Image.open(tmp_path / "contact_sheet.png") as sheet:
        assert sheet.size[0] == 3 * 320 and sheet.size[1] > 8 * 180
    assert not list(tmp_path.rglob(".*.tmp*"))


def test_info_prints_weights_metadata(capsys: pytest.CaptureFixture) -> None:
    assert main(["info"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["config"]["memory"] == "attention" and len(info["weights_id"]) == 12


def test_bench_pipeline_reports_the_three_rates(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture) -> None:
    import memmatte.commands.bench_pipeline as bp

    small = bp.bench_pipeline.__defaults__
    monkeypatch.setattr(bp.bench_pipeline, "__defaults__",
                        (256, 144, small[2], 0.5, None, "torch"))
    assert main(["bench", "--pipeline", "--frames", "3", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["width"], report["height"], report["frames"]) == (256, 144, 3)
    assert min(report["io_fps"], report["compute_fps"], report["end_to_end_fps"]) > 0
    assert report["overlap"] == pytest.approx(
        report["end_to_end_fps"] / min(report["io_fps"], report["compute_fps"]))
