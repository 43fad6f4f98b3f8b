"""Cached-feature fine-tuning: the feature cache, windows with shot starts, the training loop
(frozen parts untouched, exact resume), the held-out figures and the shipping gate."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from memmatte.model import MemMatte, ModelConfig
from memmatte.train.cached import (Recipe, forward_window, sample_window, train_cached,
                                   window_positions)
from memmatte.train.feature_cache import CacheError, build_cache, encoder_id, open_cache
from memmatte.train.gate import gate, machine_paths
from memmatte.train.heldout import (HeldOutClip, flicker_figures, load_clips, score, scored_rows,
                                    table)
from memmatte.train.teacher import write_labels
from memmatte.weights import load_weights

from .windowed import windowed_copy

H, W = 64, 96
SHIPPED_MODEL = load_weights()[0]
SHIPPED = SHIPPED_MODEL.state_dict()


def tiny_model(memory: str = "attention") -> MemMatte:
    """The shipped weights (a random network's alpha collapses to 0) under a new config."""
    model = MemMatte(replace(SHIPPED_MODEL.config, memory=memory)).eval()
    model.load_state_dict(SHIPPED, strict=memory == "attention")
    return model


@pytest.fixture(scope="module")
def labels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("labels")
    rng = np.random.default_rng(0)
    for name, count in (("alpha-clip", 6), ("beta-clip", 4)):
        frames = [rng.random((H, W, 3), dtype=np.float32) for _ in range(count)]
        phas = [(rng.random((H, W)) > 0.5).astype(np.float32) for _ in range(count)]
        write_labels(root, name, frames, frames, phas)
    return root


@pytest.fixture(scope="module")
def cache(labels: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cache")
    build_cache(tiny_model(), labels, root)
    return root


# -- the cache ------------------------------------------------------------------------------
def test_cache_holds_the_encoders_features_exactly(cache: Path, labels: Path) -> None:
    model = tiny_model()
    clip = open_cache(cache, ["alpha-clip"])[0]
    assert clip.frames == 6 and clip.meta["size"] == [H, W]
    assert clip.meta["encoder_id"] == encoder_id(model)
    com = clip.read("com", [2], (0, 0, H, W))
    with torch.inference_mode():
        feats = model.encode(com)
    for name, level in zip(("f1", "f2", "f3", "f4"), feats[:4]):
        stored = clip.read(name, [2], (0, 0, H, W))
        assert stored.shape == level.shape
        # float16 on disk: the features to half precision (about 3 digits).
        assert torch.allclose(stored, level, rtol=2e-3, atol=2e-3)


def test_crops_take_aligned_feature_cells(cache: Path) -> None:
    clip = open_cache(cache, ["alpha-clip"])[0]
    full = clip.read("f3", [0, 1], (0, 0, H, W))
    crop = clip.read("f3", [0, 1], (16, 32, 48, 64))
    assert crop.shape == (2, 40, 6, 8)
    assert torch.equal(crop, full[:, :, 2:8, 4:12])
    assert clip.read("com", [3], (16, 32, 48, 64)).shape == (1, 3, 48, 64)


def test_rebuilding_skips_cached_clips_and_clears_partial_ones(cache: Path, labels: Path
                                                               ) -> None:
    (cache / "gamma.partial").mkdir()
    stamp = (cache / "alpha-clip" / "f1.npy").stat().st_mtime_ns
    seen: list[str] = []
    build_cache(tiny_model(), labels, cache, progress=seen.append)
    assert seen == []
    assert (cache / "alpha-clip" / "f1.npy").stat().st_mtime_ns == stamp
    assert [c.name for c in open_cache(cache)] == ["alpha-clip", "beta-clip"]


def test_missing_truth_is_named(labels: Path, tmp_path: Path) -> None:
    broken = tmp_path / "labels"
    (broken / "clip" / "com").mkdir(parents=True)
    for f in (labels / "beta-clip" / "com").iterdir():
        (broken / "clip" / "com" / f.name).write_bytes(f.read_bytes())
    with pytest.raises(CacheError, match="no teacher fgr for frame 00000.png"):
        build_cache(tiny_model(), broken, tmp_path / "cache")


# -- windows --------------------------------------------------------------------------------
def test_window_positions_replace_missing_predecessors_with_the_first_frame() -> None:
    assert window_positions(0, 3) == [0, 0, 0, 1, 2]
    assert window_positions(1, 2) == [0, 0, 1, 2]
    assert window_positions(5, 2) == [3, 4, 5, 6]


def test_windows_cover_shot_starts_and_stay_inside_clips(cache: Path) -> None:
    clips = open_cache(cache)
    recipe = Recipe(frames=3, crop=32, start_share=0.3)
    wins = [sample_window(clips, recipe, s) for s in range(200)]
    assert any(w.first == 0 for w in wins) and any(w.first > 0 for w in wins)
    for w in wins:
        assert w.first + 3 <= clips[w.clip].frames
        top, left, h, wd = w.box
        assert top % 16 == 0 and left % 16 == 0 and (h, wd) == (32, 32)
        assert top + h <= H and left + wd <= W
    assert sample_window(clips, recipe, 7) == sample_window(clips, recipe, 7)


def test_window_forward_equals_the_network_on_the_same_frames(cache: Path) -> None:
    """The cached path computes what the network computes on the clip (invariant 1)."""
    model = tiny_model()
    with torch.no_grad():
        model.memory.readout.weight.normal_(0, 1.0)
    clip = open_cache(cache, ["alpha-clip"])[0]
    win = sample_window([clip], Recipe(frames=3, crop=W, start_share=1.0), 0)
    assert win.first == 0 and win.box == (0, 0, H, W)
    with torch.no_grad():
        pred, _, _ = forward_window(model, clip, win, 3)
        com = clip.read("com", [0, 1, 2], (0, 0, H, W))
        # The cache holds float16 features: compare with the network fed the same.
        whole = model(com.unsqueeze(0))
        alone = model(com[2:3])
    # The memory moves frame 2 far more than float16 features do: the test sees the window.
    assert (whole.pha[0, 2] - alone.pha).abs().max() > 0.1
    assert float(whole.pha.max() - whole.pha.min()) > 0.2  # a matte, not a constant
    assert (pred.pha - whole.pha).abs().max() < 1e-2
    assert (pred.fgr - whole.fgr).abs().max() < 1e-2


def test_window_forward_with_a_decoder_window_equals_the_network(cache: Path) -> None:
    """A decoder window rebuilds each decoded frame's states over its own t-2, t-1, in the
    cached path as in the network, for windows inside a clip too."""
    model = windowed_copy(tiny_model(), std=0.3, seed=0)
    clip = open_cache(cache, ["alpha-clip"])[0]
    recipe = Recipe(frames=3, crop=W, start_share=0.0)
    win = next(w for w in (sample_window([clip], recipe, s) for s in range(50)) if w.first >= 2)
    pos = window_positions(win.first, 3)
    with torch.no_grad():
        pred, _, _ = forward_window(model, clip, win, 3)
        com = clip.read("com", pos, (0, 0, H, W))
        whole = model(com.unsqueeze(0))  # frames 2.. read exactly their predecessors here
        alone = model(com[2:])
    assert (whole.pha[0, 2:] - alone.pha).abs().max() > 0.05  # the states matter
    assert (pred.pha[0] - whole.pha[0, 2:]).abs().max() < 1e-2
    assert (pred.fgr[0] - whole.fgr[0, 2:]).abs().max() < 1e-2


# -- training -------------------------------------------------------------------------------
def frozen_state(model: MemMatte) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()
            if k.startswith(("backbone.", "aspp.", "refiner."))}


def test_training_moves_only_memory_and_decoder(cache: Path, tmp_path: Path) -> None:
    model = tiny_model()
    before = frozen_state(model)
    readout = model.memory.readout.weight.clone()
    summary = train_cached(model, open_cache(cache), tmp_path / "run",
                           Recipe(crop=32, lr_memory=1e-2), seconds=600, steps=3,
                           log_every=1)
    assert summary["steps"] == 3
    after = frozen_state(model)
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not torch.equal(readout, model.memory.readout.weight)
    rows = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").open()]
    assert [r["step"] for r in rows] == [1, 2, 3] and all(r["total"] > 0 for r in rows)


def test_resumed_training_continues_exactly(cache: Path, tmp_path: Path) -> None:
    clips = open_cache(cache)
    recipe = Recipe(crop=32, lr_memory=1e-3, lr_decoder=1e-3)
    straight = tiny_model()
    train_cached(straight, clips, tmp_path / "a", recipe, seconds=600, steps=4)
    halves = tiny_model()
    train_cached(halves, clips, tmp_path / "b", recipe, seconds=600, steps=2)
    resumed = tiny_model()
    train_cached(resumed, clips, tmp_path / "b", recipe, seconds=600, steps=4)
    a, b = straight.state_dict(), resumed.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_none_variant_trains_without_a_memory(cache: Path, tmp_path: Path) -> None:
    model = tiny_model("none")
    summary = train_cached(model, open_cache(cache), tmp_path / "none", Recipe(crop=32),
                           seconds=600, steps=2)
    assert summary["memory"] == "none" and summary["steps"] == 2


def test_recipe_checks_its_values() -> None:
    with pytest.raises(ValueError, match="multiple of 16"):
        Recipe(crop=40)
    with pytest.raises(ValueError, match="frames must be >= 2"):
        Recipe(frames=1)


# -- held-out figures and the gate ----------------------------------------------------------
def still_clip(frames: int = 4) -> HeldOutClip:
    plate = np.zeros((8, 8, 3), np.float32)
    moving = [plate.copy() for _ in range(frames)]
    for i, f in enumerate(moving):
        f[:, 4:] = i * 0.1  # the right half of the plate changes every frame
    teacher = [np.zeros((8, 8), np.float32) for _ in range(frames)]
    return HeldOutClip("still", moving, teacher)


def test_scored_rows_reuse_figures_by_weights_id_on_the_same_clips_only() -> None:
    clip = still_clip()
    doc = {"clips": {"still": {"frames": 4, "size": [8, 8]}},
           "weights": {"old-name": "aaaa", "other": "bbbb", "other-readout0": "bbbb"},
           "rows": {"still": {"old-name": {"mad": 1.0}, "other": {"mad": 2.0},
                              "other-readout0": {"mad": 3.0}}}}
    reused = scored_rows(doc, [clip], {"incumbent": "aaaa", "new": "cccc", "x": "bbbb"})
    # By id, under today's name; weights never scored there are left to run.
    assert reused == {"incumbent": {"still": {"mad": 1.0}}, "x": {"still": {"mad": 2.0}}}
    fewer = HeldOutClip("still", clip.frames[:3], clip.teacher[:3])
    with pytest.raises(ValueError, match="did not score still"):
        scored_rows(doc, [fewer], {"incumbent": "aaaa"})


def test_flicker_counts_only_pixels_whose_plate_is_still() -> None:
    clip = still_clip()
    steady = [np.zeros((8, 8), np.float32) for _ in range(4)]
    assert flicker_figures(steady, clip)["flicker"] == 0.0
    toggling = [np.full((8, 8), float(i % 2), np.float32) for i in range(4)]
    figures = flicker_figures(toggling, clip)
    assert figures["flicker"] == 1000.0 and figures["flicker_bg"] == 1000.0
    # Changes where the plate moves are motion, not flicker.
    right = [np.zeros((8, 8), np.float32) for _ in range(4)]
    for i, a in enumerate(right):
        a[:, 4:] = i % 2
    assert flicker_figures(right, clip)["flicker"] == 0.0


def test_score_splits_the_first_frames_from_the_rest() -> None:
    clip = still_clip(6)
    phas = [np.zeros((8, 8), np.float32) for _ in range(6)]
    phas[0][:] = 1.0
    figures = score(phas, clip)
    assert figures["mad_first3"] == pytest.approx(1000 / 3, abs=1e-3)
    assert figures["mad_rest"] == 0.0


def test_a_cold_restart_mid_clip_tells_warm_up_error_from_hard_first_frames() -> None:
    clip = still_clip(8)
    hard = id(clip.frames[0])  # content: the clip's own frame 0 is hard for everyone

    def cold_error(shot: HeldOutClip) -> list[np.ndarray]:  # wrong on any shot's first frame
        return [np.full((8, 8), float(i == 0), np.float32) for i in range(len(shot.frames))]

    def hard_frame(shot: HeldOutClip) -> list[np.ndarray]:
        return [np.full((8, 8), float(id(f) == hard), np.float32) for f in shot.frames]

    rows = table([clip], {"cold": cold_error, "hard": hard_frame})["still"]
    # Both look alike on frames 0-2; only the restart at frame 4 separates them.
    assert rows["cold"]["mad_first3"] == rows["hard"]["mad_first3"] == pytest.approx(1000 / 3,
                                                                                   abs=1e-3)
    assert rows["cold"]["mad_cold3"] == pytest.approx(1000 / 3, abs=1e-3)
    assert rows["cold"]["mad_warm3"] == 0.0
    assert rows["hard"]["mad_cold3"] == rows["hard"]["mad_warm3"] == 0.0
    assert "mad_cold3" not in table([still_clip(5)], {"cold": cold_error})["still"]["cold"]


def test_held_out_folders_load_with_their_teacher(labels: Path) -> None:
    clips = load_clips(labels, ["beta-clip"], max_frames=3)
    assert clips[0].name == "beta-clip" and len(clips[0].frames) == 3
    assert clips[0].size == (H, W)


def test_gate_needs_both_figures_lower_on_every_clip() -> None:
    rows = {"a": {"new": {"mad": 4.0, "flicker": 1.0}, "old": {"mad": 5.0, "flicker": 2.0}},
            "b": {"new": {"mad": 3.0, "flicker": 1.0}, "old": {"mad": 4.0, "flicker": 1.5}}}
    assert gate(rows, "new", "old").passed
    rows["b"]["new"]["flicker"] = 1.5  # a tie is not an improvement
    verdict = gate(rows, "new", "old")
    assert not verdict.passed and verdict.failures == ["b: flicker 1.5 is not below 1.5"]
    assert "old stays" in verdict.describe()
    del rows["a"]["new"]
    assert "a: no figures for new" in gate(rows, "new", "old").failures
    assert not gate({}, "new", "old").passed


def test_machine_paths_are_found_anywhere_in_metadata() -> None:
    meta = {"init": "/work/main/core/w.safetensors (9054a179b21f)",
            "clips": ["sam2-dog-walk", "runs/labels-512"], "nested": {"x": [r"C:\\data\\a"]},
            "note": "see ~/runs", "ratio": "1/16", "id": "f4d94cd3b359"}
    assert sorted(w for w, _ in machine_paths(meta)) == [".init", ".nested.x[0]", ".note"]
    assert machine_paths({"clips": ["a", "runs/b"], "weights": {"x": "d678510a63b3"}}) == []


def test_decoder_rate_zero_trains_the_memory_alone(cache: Path, tmp_path: Path) -> None:
    model = tiny_model()
    decoder = {k: v.clone() for k, v in model.state_dict().items()
               if not k.startswith(("backbone.", "aspp.", "refiner.", "memory."))}
    readout = model.memory.readout.weight.clone()
    summary = train_cached(model, open_cache(cache), tmp_path / "memory",
                           Recipe(crop=32, lr_memory=1e-2, lr_decoder=0.0,
                                  loss={"alpha": 1.0, "flicker": 10.0}),
                           seconds=600, steps=2)
    assert summary["trained"] == ["memory"]
    assert all(torch.equal(decoder[k], model.state_dict()[k]) for k in decoder)
    assert not torch.equal(readout, model.memory.readout.weight)
    with pytest.raises(ValueError, match="nothing to train"):
        train_cached(tiny_model("none"), open_cache(cache), tmp_path / "nothing",
                     Recipe(crop=32, lr_decoder=0.0), seconds=600, steps=1)


def test_guided_windows_go_through_the_frozen_guided_filter(cache: Path, tmp_path: Path
                                                           ) -> None:
    """With ``guided`` the crop's matte is the guided filter's (its weights change it); without
    it the filter is skipped at network resolution; training never moves the filter."""
    model = tiny_model()
    clip = open_cache(cache, ["alpha-clip"])[0]
    win = sample_window([clip], Recipe(frames=3, crop=W, start_share=1.0), 0)
    with torch.no_grad():
        guided = forward_window(model, clip, win, 3, guided=True)[0].pha
        plain = forward_window(model, clip, win, 3)[0].pha
        model.refiner.conv[-1].bias.add_(0.2)
        guided2 = forward_window(model, clip, win, 3, guided=True)[0].pha
        plain2 = forward_window(model, clip, win, 3)[0].pha
    assert torch.equal(plain, plain2)
    assert (guided2 - guided).abs().max() > 0.05
    refiner = {k: v.clone() for k, v in model.refiner.state_dict().items()}
    train_cached(model, [clip], tmp_path / "guided",
                 Recipe(crop=32, lr_decoder=1e-3, guided=True), seconds=600, steps=2)
    assert all(torch.equal(refiner[k], v) for k, v in model.refiner.state_dict().items())
