"""The farm's pieces without a render: the cut into chunks, the chunk's command line read back
by ``memmatte render``'s own parser, the shots, and the errors a TD sees."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from memmatte.cli import build_parser, main, render_settings
from memmatte.farm.chunks import FarmError, frames_text, shot_frames, split_frames
from memmatte.farm.openjd import job_template, write_bundles
from memmatte.farm.render_args import ChunkValues, render_command
from memmatte.farm.shots import Shot, shot_from_render_args, shots_from_queue
from memmatte.io import PlateError, parse_frames
from memmatte.pipeline.settings import RenderSettings

from .farm_shot import CHUNKS, FRAMES, PLATE, write_queue


@pytest.mark.parametrize("frames, size", [(FRAMES, 4), (FRAMES, 1), (FRAMES, 10),
                                          (FRAMES, 99), (list(range(1, 40, 3)), 5),
                                          ([-3, -2, -1, 0, 1], 2), ([1, 2, 7, 9, 10, 30], 4)])
def test_chunks_cover_the_frames_once_in_order_and_read_back(frames: list[int],
                                                             size: int) -> None:
    chunks = split_frames(frames, size)
    assert [f for c in chunks for f in c] == sorted(frames)
    assert all(len(c) == size for c in chunks[:-1]) and 0 < len(chunks[-1]) <= size
    for chunk in chunks:
        text = frames_text(chunk)
        assert " " not in text and parse_frames(text) == chunk


def test_the_test_shot_is_cut_as_the_farm_tests_expect() -> None:
    assert [frames_text(c) for c in split_frames(FRAMES, 4)] == CHUNKS


def test_bad_chunk_sizes_and_unknown_frames_are_refused(tmp_path: Path) -> None:
    with pytest.raises(FarmError, match="--chunk-size must be at least 1"):
        split_frames(FRAMES, 0)
    with pytest.raises(FarmError, match="shot sh010: no files of .* on disk; give the shot's "
                                        "frames"):
        shot_frames({"input": str(tmp_path / "p.####.exr")}, "shot sh010")
    with pytest.raises(FarmError, match="is a movie; give the shot's frames"):
        shot_frames({"input": str(tmp_path / "clip.mp4")}, "shot sh010")
    assert shot_frames({"input": str(tmp_path / "clip.mp4"), "frames": "1-3"}, "s") == [1, 2, 3]
    assert shot_frames({"input": PLATE}, "s") == FRAMES


def test_the_chunk_command_means_the_shot_to_the_render_parser() -> None:
    shot = RenderSettings(input="/p/a.####.exr", output="/o/m.####.exr", frames="1-9",
                          colorspace="ACEScg", ocio="/c/config.ocio", network_space="sRGB",
                          weights="/w/x.safetensors", device="cpu", downsample_ratio=0.25,
                          memory="none", alpha_out="/o/a.####.exr", half=False,
                          compression="piz", layer="plate", detect_cuts=True, backend="onnx",
                          threads=3, preview="/o/sheet.png")
    values = ChunkValues(python="py", input=shot.input, output=shot.output, frames="4-6",
                         log="/l/c.jsonl", backend=shot.backend, device=shot.device,
                         alpha_out=shot.alpha_out, weights=shot.weights, ocio=shot.ocio)
    argv = render_command(shot, values)
    assert argv[:4] == ["py", "-m", "memmatte", "render"]
    args = build_parser().parse_args(argv[3:])
    again = render_settings(args)
    # Every chunk resumes and renders its own frames; the sheet is the job's last step.
    assert again == RenderSettings(**{**shot.to_dict(), "frames": "4-6", "resume": True,
                                      "preview": None})
    assert args.log == Path("/l/c.jsonl") and args.quiet


def test_shots_from_a_queue_file_and_from_render_arguments(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    queue = write_queue(tmp_path / "shots.toml", "out/m.####.exr", frames="1001-1004")
    monkeypatch.chdir(tmp_path)
    [shot] = shots_from_queue(Path("shots.toml"))  # relative file: paths still absolute
    assert shot.name == "bedroom" and shot.settings.output == str(tmp_path / "out/m.####.exr")
    assert shot.settings.threads == 1 and queue.is_file()
    one = shot_from_render_args([PLATE, "-o", "renders/sh 010_m.####.exr", "--frames",
                                 "1001-1002", "--downsample-ratio", "0.5"])
    assert one.name == "sh_010_m" and one.settings.downsample_ratio == 0.5
    assert one.settings.output == os.path.join(tmp_path, "renders/sh 010_m.####.exr")
    with pytest.raises(FarmError, match="no shot: give a queue file"):
        shot_from_render_args([])


def test_optional_paths_become_path_parameters_and_validate(tmp_path: Path) -> None:
    settings = RenderSettings(input=PLATE, output=str(tmp_path / "m.####.exr"),
                              alpha_out=str(tmp_path / "alpha" / "a.####.exr"),
                              weights=str(tmp_path / "w.safetensors"),
                              ocio=str(tmp_path / "config.ocio"))
    [bundle] = write_bundles([Shot("sh010", settings)], tmp_path / "b", 3, "python3")
    template = yaml.safe_load((bundle / "template.yaml").read_text())
    params = {p["name"]: p for p in template["parameterDefinitions"]}
    assert params["Weights"]["dataFlow"] == "IN" and params["AlphaDir"]["dataFlow"] == "OUT"
    assert params["OcioConfig"]["objectType"] == "FILE"
    args = template["steps"][0]["script"]["actions"]["onRun"]["args"]
    assert "{{Param.AlphaDir}}/a.####.exr" in args and "{{Param.Weights}}" in args
    values = yaml.safe_load((bundle / "parameter_values.yaml").read_text())["parameterValues"]
    assert {v["name"]: v["value"] for v in values}["AlphaDir"] == str(tmp_path / "alpha")
    builtin, _ = job_template(Shot("s", RenderSettings(input=PLATE, output="/o/m.####.exr",
                                                       ocio="ocio://default")), ["1-2"])
    assert "OcioConfig" not in {p["name"] for p in builtin["parameterDefinitions"]}
    assert "ocio://default" in builtin["steps"][0]["script"]["actions"]["onRun"]["args"]


def test_cli_errors_name_the_problem_and_exit_2(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    twice = tmp_path / "twice.toml"
    twice.write_text(f'[[shot]]\nname = "a"\ninput = "{PLATE}"\noutput = "m.####.exr"\n' * 2)
    assert main(["farm", "openjd", str(twice), "-o", str(tmp_path / "b")]) == 2
    assert "shot names ['a'] appear more than once" in capsys.readouterr().err
    bad = write_queue(tmp_path / "bad.toml", "m.####.exr", colour="ACEScg")
    assert main(["farm", "openjd", str(bad), "-o", str(tmp_path / "b")]) == 2
    assert "unknown keys ['colour']" in capsys.readouterr().err
    assert main(["farm", "openjd", "-o", str(tmp_path / "b"), "--", PLATE, "-o",
                 str(tmp_path / "m.####.exr"), "--frames", "x"]) == 2
    err = capsys.readouterr().err
    assert "memmatte farm openjd: error:" in err and "frames" in err
    with pytest.raises(PlateError):  # what the message above came from
        parse_frames("x")
