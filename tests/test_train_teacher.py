"""memmatte.train.teacher: Robust Video Matting's ONNX graph as a teacher, its labels in the
benchmark layout, and the training clips made from them.

Tests that run the teacher need the published file: MEMMATTE_RVM_ONNX must point at it
(``make test`` fetches it and sets it). Without it they fail, never skip.
"""
from __future__ import annotations

import functools
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from memmatte.commands.evaluate import evaluate, find_clips, ground_truth
from memmatte.io.eight_bit import list_frames, read_gray, read_rgb, to_uint8, write_png
from memmatte.train.teacher import (
    Teacher,
    TeacherClips,
    TeacherError,
    auto_ratio,
    label_folder,
    read_clip,
    resize_frame,
    write_labels,
)

from .teacher_model import require_rvm_onnx

DATA = Path(__file__).parent / "data"
FRAME = DATA / "sam2-bedroom-00000.jpg"
MOVIE = DATA / "video" / "carphone_pristine.mp4"


@functools.lru_cache(maxsize=1)
def bedroom_clip() -> tuple[np.ndarray, ...]:
    """4 frames at 240x135: 896x504 windows of the 960x540 frame sliding right 16 px a frame
    (a slow pan over two children in a bedroom)."""
    img = read_rgb(FRAME)
    return tuple(resize_frame(img[:504, 16 * k:16 * k + 896], (135, 240)) for k in range(4))


def teacher() -> Teacher:
    """Checked in the test itself (not a fixture), so that a missing model is a test
    failure, not a setup error."""
    return _teacher(require_rvm_onnx())


@functools.lru_cache(maxsize=1)
def _teacher(path: Path) -> Teacher:
    return Teacher(path, threads=2)


@functools.lru_cache(maxsize=1)
def labels() -> tuple[list[np.ndarray], list[np.ndarray]]:
    return teacher().label_clip(list(bedroom_clip()))


# ================================================================ the teacher


def test_teacher_mattes_the_people() -> None:
    fgrs, phas = labels()
    assert len(fgrs) == len(phas) == 4
    for fgr, pha in zip(fgrs, phas):
        assert fgr.shape == (135, 240, 3) and pha.shape == (135, 240)
        assert fgr.dtype == pha.dtype == np.float32
        assert 0.0 <= pha.min() and pha.max() <= 1.0
        assert 0.0 <= fgr.min() and fgr.max() <= 1.0
        assert (pha > 0.9).mean() > 0.03  # the two children
        assert (pha < 0.1).mean() > 0.75  # the room
    # the girl stands left of the middle (x 95-115); the curtain (left edge) and the wall
    # right of the shelf are background
    assert phas[0][20:100, 95:115].mean() > 0.5
    assert phas[0][:, :20].max() < 0.1 and phas[0][:, -40:].max() < 0.1


def test_two_passes_settle_the_state() -> None:
    frames = list(bedroom_clip())
    _, phas = labels()
    _, cold, _ = teacher().run(frames)  # one pass from zeros
    assert np.abs(phas[0] - cold[0]).max() > 0.1  # the first frame changes visibly
    # Reference: a state warmed four times over the clip. The kept frame 0 is much nearer
    # to it than the cold one is: its state has settled.
    state = None
    for _ in range(4):
        state = teacher().run(frames[::-1], state)[2]
    _, settled, _ = teacher().run(frames, state)
    assert np.abs(phas[0] - settled[0]).mean() < 0.7 * np.abs(cold[0] - settled[0]).mean()
    # the labels are exactly: warm up backwards, then one forward pass from that state
    _, again, _ = teacher().run(frames, teacher().run(frames[::-1])[2])
    assert all(np.array_equal(a, b) for a, b in zip(again, phas))


def test_teacher_rejects_what_it_cannot_run(tmp_path: Path) -> None:
    with pytest.raises(TeacherError, match="teacher ONNX model not found"):
        Teacher(tmp_path / "missing.onnx")
    with pytest.raises(TeacherError, match="not a Robust Video Matting graph"):
        Teacher(Path(__file__).parents[1] / "core" / "memmatte" / "weights" / "default.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not onnx")
    with pytest.raises(TeacherError, match="cannot load the ONNX model"):
        Teacher(tmp_path / "junk.onnx")
    assert auto_ratio(288, 512) == 1.0
    assert auto_ratio(1080, 1920) == pytest.approx(512 / 1920, rel=1e-7)


def test_label_folder_writes_the_benchmark_layout(tmp_path: Path) -> None:
    onnx = require_rvm_onnx()
    shot = tmp_path / "clips" / "bedroom"
    for i, frame in enumerate(bedroom_clip()[:3]):
        write_png(shot / f"f{i:03d}.png", frame)
    out = tmp_path / "labels"
    names = label_folder(onnx, [shot, MOVIE], out, max_frames=3, size=96)
    assert names == ["bedroom", "carphone_pristine"]
    assert find_clips(out) == [out / "bedroom", out / "carphone_pristine"]
    for name, shape in (("bedroom", (54, 96)), ("carphone_pristine", (79, 96))):
        for sub in ("com", "fgr", "pha"):
            files = list_frames(out / name / sub)
            assert [p.name for p in files] == ["00000.png", "00001.png", "00002.png"]
            assert read_gray(files[0]).shape == shape
    # what was written is the teacher's labelling of what read_clip gives
    frames = read_clip(shot, size=96)
    _, phas = teacher().label_clip(frames)
    assert np.array_equal(to_uint8(phas[2]), (read_gray(out / "bedroom" / "pha" / "00002.png")
                                               * 255).round().astype(np.uint8))
    with pytest.raises(TeacherError, match="would both be labelled as 'bedroom'"):
        label_folder(onnx, [shot, tmp_path / "other" / "bedroom"], out)


# ================================================================ clips in, labels out


def test_read_clip_folders_and_movies(tmp_path: Path) -> None:
    frames = bedroom_clip()
    for i in (2, 0, 1):  # written out of order: read back sorted by name
        write_png(tmp_path / "shot" / f"{i:04d}.png", frames[i])
    clip = read_clip(tmp_path / "shot")
    assert len(clip) == 3 and clip[0].shape == (135, 240, 3) and clip[0].dtype == np.float32
    assert np.abs(clip[1] - frames[1]).max() <= 0.5 / 255 + 1e-6
    assert len(read_clip(tmp_path / "shot", max_frames=2)) == 2
    assert read_clip(tmp_path / "shot", size=60)[0].shape == (34, 60, 3)  # long side 60
    assert read_clip(tmp_path / "shot", size=(32, 48))[0].shape == (32, 48, 3)
    shutil.move(tmp_path / "shot", tmp_path / "bench" / "com")  # a benchmark clip folder
    assert len(read_clip(tmp_path / "bench")) == 3
    movie = read_clip(MOVIE, max_frames=5)
    assert len(movie) == 5 and movie[0].shape == (144, 176, 3)
    assert 0.0 <= movie[0].min() and movie[0].max() <= 1.0
    with pytest.raises(TeacherError, match="clip not found"):
        read_clip(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(TeacherError, match="no PNG or JPEG frames"):
        read_clip(tmp_path / "empty")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(TeacherError, match="not a folder of frames nor a movie"):
        read_clip(tmp_path / "notes.txt")


def fake_labels(n: int, h: int, w: int, seed: int) -> tuple[list, list, list]:
    rng = np.random.default_rng(seed)
    frames = [rng.random((h, w, 3), dtype=np.float32) for _ in range(n)]
    fgrs = [rng.random((h, w, 3), dtype=np.float32) for _ in range(n)]
    phas = []
    for i in range(n):
        pha = np.zeros((h, w), np.float32)
        pha[h // 4:3 * h // 4, w // 4 + i:3 * w // 4 + i] = 1.0
        pha[h // 4 - 1] = 0.5  # a soft edge
        phas.append(pha)
    return frames, fgrs, phas


class StubMatter:
    """Stands in for ``PushMatter``: returns given mattes in order."""

    def __init__(self, fgrs: list[np.ndarray], phas: list[np.ndarray]) -> None:
        self.fgrs, self.phas, self.i = fgrs, phas, 0

    def reset(self) -> None:
        self.i = 0

    def __call__(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.i += 1
        return self.fgrs[self.i - 1], self.phas[self.i - 1]


def test_labels_round_trip_and_score_with_memmatte_eval(tmp_path: Path) -> None:
    frames, fgrs, phas = fake_labels(4, 36, 64, seed=0)
    clip = write_labels(tmp_path / "labels", "held_out", frames, fgrs, phas)
    assert clip == tmp_path / "labels" / "held_out"
    com = list_frames(clip / "com")
    assert [p.name for p in com] == [f"{i:05d}.png" for i in range(4)]
    for i, path in enumerate(com):
        assert np.array_equal(read_rgb(path), to_uint8(frames[i]) / np.float32(255))
        assert np.array_equal(read_rgb(clip / "fgr" / path.name),
                              to_uint8(fgrs[i]) / np.float32(255))
        assert np.array_equal(read_gray(clip / "pha" / path.name),
                              to_uint8(phas[i]) / np.float32(255))
    assert ground_truth(clip / "pha", com) == [clip / "pha" / p.name for p in com]
    assert not list(clip.rglob(".*"))  # no temporary files left behind
    # `memmatte eval` reads the folder and scores a prediction against the teacher's labels
    result = evaluate(StubMatter(fgrs, phas), tmp_path / "labels", tmp_path / "scored")
    assert [c.name for c in result.clips] == ["held_out"]
    summary = result.summary()
    assert summary["pha_mad"] == 0.0 and summary["fgr_mse"] == 0.0
    worse = evaluate(StubMatter(fgrs, [p * 0.5 for p in phas]), tmp_path / "labels",
                     tmp_path / "scored2").summary()
    assert worse["pha_mad"] > 0.0
    # a shorter relabelling leaves no stale frames behind
    write_labels(tmp_path / "labels", "held_out", frames[:2], fgrs[:2], phas[:2])
    assert [p.name for p in list_frames(clip / "pha")] == ["00000.png", "00001.png"]
    with pytest.raises(TeacherError, match="as many foregrounds and alphas as frames"):
        write_labels(tmp_path, "x", frames, fgrs[:3], phas)


# ================================================================ training clips


class SolidBackgrounds:
    """Stand-in for the background source: a flat colour per clip, drawn from the rng."""

    def __init__(self) -> None:
        self.calls = 0

    def clip(self, rng: np.random.Generator, T: int, size: tuple[int, int]) -> torch.Tensor:
        self.calls += 1
        colour = torch.from_numpy(rng.random(3).astype(np.float32))
        return colour.view(1, 3, 1, 1).expand(T, 3, *size).clone()


@pytest.fixture()
def label_root(tmp_path: Path) -> Path:
    root = tmp_path / "labels"
    write_labels(root, "long", *fake_labels(6, 45, 80, seed=1))
    write_labels(root / "set", "short", *fake_labels(2, 60, 40, seed=2))  # nested, portrait
    return root


def test_teacher_clips_composite_over_new_backgrounds(label_root: Path) -> None:
    bgs = SolidBackgrounds()
    data = TeacherClips(label_root, bgs, T=3, size=(32, 48), seed=7)
    assert [c.relative_to(label_root).as_posix() for c, _ in data.clips] == ["long",
                                                                            "set/short"]
    assert len(data) == 4 + 1  # windows of 3 frames: 4 in "long", 1 in "short"
    for i in range(len(data)):
        item = data[i]
        assert set(item) == {"fgr", "pha", "bgr", "com"}
        assert item["fgr"].shape == (3, 3, 32, 48) and item["pha"].shape == (3, 1, 32, 48)
        assert item["bgr"].shape == item["com"].shape == (3, 3, 32, 48)
        assert all(v.dtype == torch.float32 for v in item.values())
        assert 0.0 <= float(item["pha"].min()) and float(item["pha"].max()) <= 1.0
        expected = item["fgr"] * item["pha"] + item["bgr"] * (1 - item["pha"])
        assert torch.allclose(item["com"], expected, atol=1e-6, rtol=0)
        # the new background shows where the teacher's alpha is 0
        clear = item["pha"][:, 0] == 0
        assert clear.any()
        assert torch.allclose(item["com"].permute(0, 2, 3, 1)[clear],
                              item["bgr"].permute(0, 2, 3, 1)[clear])
    assert bgs.calls == len(data)
    # deterministic per (seed, index); another seed draws other samples
    again = TeacherClips(label_root, SolidBackgrounds(), T=3, size=(32, 48), seed=7)
    assert all(torch.equal(again[2][k], data[2][k]) for k in data[2])
    other = TeacherClips(label_root, SolidBackgrounds(), T=3, size=(32, 48), seed=8)
    assert not torch.equal(other[2]["com"], data[2]["com"])
    with pytest.raises(IndexError):
        data[len(data)]


def test_teacher_clips_frames_are_consecutive_label_frames(label_root: Path) -> None:
    # no scaling, no flip: a crop of the stored labels, frame after frame
    data = TeacherClips(label_root / "set", SolidBackgrounds(), T=5, size=(60, 40), seed=0,
                        scale=(1.0, 1.0), flip=False)
    item = data[0]
    stored = [read_gray(p) for p in list_frames(label_root / "set" / "short" / "pha")]
    # two frames played back and forth: 0 1 0 1 0
    for t, k in enumerate([0, 1, 0, 1, 0]):
        assert np.array_equal(item["pha"][t, 0].numpy(), stored[k])
    assert data.frame_indices(3, 0) == [0, 1, 2, 1, 0]
    assert TeacherClips(label_root, SolidBackgrounds(), T=2, size=(32, 48)).frame_indices(
        6, 3) == [3, 4]


def test_teacher_clips_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(TeacherError, match="no teacher labels"):
        TeacherClips(tmp_path / "empty", SolidBackgrounds(), T=2, size=(32, 32))
    with pytest.raises(TeacherError, match="label folder not found"):
        TeacherClips(tmp_path / "missing", SolidBackgrounds(), T=2, size=(32, 32))
    write_labels(tmp_path / "l", "a", *fake_labels(3, 20, 20, seed=0))
    (tmp_path / "l" / "a" / "pha" / "00001.png").unlink()
    with pytest.raises(TeacherError, match="pha/ lacks frames of fgr/"):
        TeacherClips(tmp_path / "l", SolidBackgrounds(), T=2, size=(32, 32))


def test_teacher_clips_can_keep_the_footage(label_root: Path) -> None:
    # original=1: every item is the stored plate itself (cropped like its labels), no
    # background is drawn; the labels stay the teacher's
    bgs = SolidBackgrounds()
    data = TeacherClips(label_root / "set", bgs, T=2, size=(60, 40), seed=0,
                        scale=(1.0, 1.0), flip=False, original=1.0)
    item = data[0]
    clip = label_root / "set" / "short"
    stored_com = [read_rgb(p) for p in list_frames(clip / "com")]
    stored_pha = [read_gray(p) for p in list_frames(clip / "pha")]
    for t in range(2):
        assert np.array_equal(item["com"][t].permute(1, 2, 0).numpy(), stored_com[t])
        assert np.array_equal(item["pha"][t, 0].numpy(), stored_pha[t])
    assert torch.equal(item["bgr"], item["com"]) and bgs.calls == 0
    # a share: some items re-composite, some keep the footage, the same for a seed
    mixed = TeacherClips(label_root, SolidBackgrounds(), T=2, size=(32, 48), seed=3,
                         original=0.5, length=40)
    kept = [torch.equal(mixed[i]["com"], mixed[i]["bgr"]) for i in range(40)]
    assert 5 < sum(kept) < 35
    with pytest.raises(TeacherError, match=r"original must be a share in \[0, 1\]"):
        TeacherClips(label_root, bgs, T=2, size=(32, 32), original=1.5)
    (clip / "com" / "00001.png").unlink()
    with pytest.raises(TeacherError, match="com/ lacks frames of fgr/"):
        TeacherClips(label_root, bgs, T=2, size=(32, 32), original=0.5)
    TeacherClips(label_root, bgs, T=2, size=(32, 32))  # re-composites need no com/
