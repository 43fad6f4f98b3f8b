"""memmatte.train.data: procedural clips, augmentation, public layouts, mixtures."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import ndimage

from memmatte.train.data import (
    AugmentConfig,
    ImageBackgrounds,
    ImageMattingSet,
    MixedClips,
    ProceduralBackgrounds,
    ProceduralClips,
    ProceduralConfig,
    VideoBackgrounds,
    VideoMatteClips,
    augment,
    color_jitter,
    composite,
    crop_boxes,
)
from memmatte.train.data.augment import hue_matrix

SIZE = (96, 160)  # small frames keep the whole file fast; shapes scale with size anyway
NO_AUG_NOISE = AugmentConfig(noise_probability=0.0)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Run like a DataLoader worker (one intra-op thread). Many small ops on several threads
    slow down badly when another process holds a core; the data code never needs more."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def check_sample(s: dict[str, torch.Tensor], T: int, size: tuple[int, int],
                 exact: bool = True) -> None:
    """Keys, shapes, dtypes, value ranges and (unless noise was added) the matting equation."""
    h, w = size
    assert set(s) == {"fgr", "pha", "bgr", "com"}
    for key, c in (("fgr", 3), ("pha", 1), ("bgr", 3), ("com", 3)):
        t = s[key]
        assert t.shape == (T, c, h, w), (key, t.shape)
        assert t.dtype == torch.float32, key
        assert torch.isfinite(t).all(), key
        assert t.min() >= 0.0 and t.max() <= 1.0, (key, float(t.min()), float(t.max()))
    if exact:
        expected = s["fgr"] * s["pha"] + s["bgr"] * (1 - s["pha"])
        assert torch.allclose(s["com"], expected, atol=1e-6, rtol=0)


# ----------------------------------------------------------------------------- procedural

@pytest.fixture(scope="module")
def clips() -> ProceduralClips:
    return ProceduralClips(T=3, size=SIZE, seed=7, count=50)


def test_procedural_shapes_ranges_exact(clips: ProceduralClips) -> None:
    assert len(clips) == 50
    for i in range(4):
        check_sample(clips[i], 3, SIZE)


def test_procedural_alpha_has_solid_clear_and_partial(clips: ProceduralClips) -> None:
    partial, solid, clear = [], [], []
    for i in range(6):
        pha = clips[i]["pha"]
        partial.append(((pha > 0.05) & (pha < 0.95)).float().mean().item())
        solid.append((pha == 1).float().mean().item())
        clear.append((pha == 0).float().mean().item())
    assert min(partial) > 0.01, partial  # soft edges, strands, veils, motion blur
    assert min(solid) > 0.05, solid
    assert min(clear) > 0.2, clear


def _loose_partial(pha: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Partial-alpha pixels of frame 0 that lie well outside the solid region, and all partial."""
    a = pha[0, 0].numpy()
    solid = ndimage.binary_dilation(a >= 0.95, iterations=6)  # past the feathered edge
    partial = (a > 0.05) & (a < 0.95)
    return partial & ~solid, partial


def test_hair_strands_are_thin_partial_structures() -> None:
    still = dict(veil_probability=0.0, motion=0.0)
    hair = ProceduralClips(T=1, size=(192, 320), seed=3, count=4,
                           config=ProceduralConfig(hair_strands=(60, 80), **still))
    bald = ProceduralClips(T=1, size=(192, 320), seed=3, count=4,
                           config=ProceduralConfig(hair_strands=(0, 0), **still))
    for i in range(3):
        loose, _ = _loose_partial(hair[i]["pha"])
        loose_bald, _ = _loose_partial(bald[i]["pha"])
        assert loose.sum() > 300, loose.sum()  # many partial pixels away from the body
        assert loose_bald.sum() < 0.1 * loose.sum(), (loose_bald.sum(), loose.sum())
        # thin: nearly every such pixel is within ~2 px of a pixel that is not partial
        # (strands are 1-3 px wide; a veil or a blurred edge would be far wider)
        inside = ndimage.distance_transform_edt(loose)[loose]
        assert np.percentile(inside, 95) <= 2.5, np.percentile(inside, 95)


def test_strand_alpha_within_configured_range() -> None:
    ds = ProceduralClips(T=1, size=(192, 320), seed=1, count=2,
                         config=ProceduralConfig(hair_strands=(40, 40), veil_probability=0.0,
                                                 motion=0.0, strand_alpha=(0.2, 0.8)))
    loose, _ = _loose_partial(ds[0]["pha"])
    values = ds[0]["pha"][0, 0].numpy()[loose]
    assert np.median(values) < 0.8  # strands are see-through, not solid


def test_veil_gives_broad_partial_alpha() -> None:
    veil = ProceduralConfig(veil_probability=1.0, hair_strands=(0, 0), motion=0.0,
                            veil_alpha=(0.4, 0.4))
    ds = ProceduralClips(T=1, size=SIZE, seed=0, count=8, config=veil)
    found = 0
    for i in range(8):
        a = ds[i]["pha"][0, 0].numpy()
        found += int(((a > 0.3) & (a < 0.5)).sum() > 50)
    assert found >= 4  # most veils land partly off the body (alpha = veil alpha there)


def test_procedural_motion_frames_differ(clips: ProceduralClips) -> None:
    s = clips[0]
    for key in ("pha", "bgr", "com"):
        assert not torch.equal(s[key][0], s[key][1]), key
        assert not torch.equal(s[key][1], s[key][2]), key
    still = ProceduralClips(T=3, size=SIZE, seed=7, count=2, config=ProceduralConfig(motion=0.0))[0]
    for key in ("pha", "bgr", "com"):
        assert torch.equal(still[key][0], still[key][2]), key


def test_procedural_is_deterministic(clips: ProceduralClips) -> None:
    a, b = clips[5], clips[5]
    again = ProceduralClips(T=3, size=SIZE, seed=7, count=50)[5]
    for key in a:
        assert torch.equal(a[key], b[key]) and torch.equal(a[key], again[key]), key
    other = clips[6]
    other_seed = ProceduralClips(T=3, size=SIZE, seed=8, count=50)[5]
    assert not torch.equal(a["com"], other["com"])
    assert not torch.equal(a["com"], other_seed["com"])


def test_procedural_index_and_argument_errors(clips: ProceduralClips) -> None:
    with pytest.raises(IndexError):
        clips[50]
    with pytest.raises(ValueError, match="T >= 1"):
        ProceduralClips(T=0, size=SIZE)


def test_procedural_single_frame_and_augment() -> None:
    s = ProceduralClips(T=1, size=(64, 64), seed=0, count=3)[1]
    check_sample(s, 1, (64, 64))
    aug = ProceduralClips(T=2, size=(64, 96), seed=0, count=3, augment=True)[0]
    check_sample(aug, 2, (64, 96), exact=False)


def test_procedural_backgrounds_source() -> None:
    bg = ProceduralBackgrounds().clip(np.random.default_rng(0), 4, (40, 56))
    assert bg.shape == (4, 3, 40, 56) and bg.dtype == torch.float32
    assert 0 <= bg.min() and bg.max() <= 1
    assert not torch.equal(bg[0], bg[3])  # pan / zoom


# ----------------------------------------------------------------------------- augmentation

def _static_clip(T: int = 4, h: int = 60, w: int = 90) -> dict[str, torch.Tensor]:
    """T identical frames with asymmetric content, so crops and flips are visible."""
    g = torch.Generator().manual_seed(0)
    fgr = torch.rand(1, 3, h, w, generator=g).expand(T, -1, -1, -1).contiguous()
    ramp = torch.linspace(0, 1, w).view(1, 1, 1, w).expand(T, 1, h, w).contiguous()
    bgr = torch.rand(1, 3, h + 10, w + 20, generator=g).expand(T, -1, -1, -1).contiguous()
    return {"fgr": fgr, "pha": ramp, "bgr": bgr}


def test_composite_is_the_matting_equation() -> None:
    fgr, bgr = torch.rand(2, 3, 4, 5), torch.rand(2, 3, 4, 5)
    pha = torch.rand(2, 1, 4, 5)
    assert torch.equal(composite(fgr, pha, bgr), fgr * pha + bgr * (1 - pha))
    assert torch.equal(composite(fgr, torch.ones_like(pha), bgr), fgr)


def test_augment_same_crop_flip_jitter_for_every_frame() -> None:
    cfg = AugmentConfig(drift=0.0, noise_probability=0.0, flip_probability=0.5,
                        jitter_probability=1.0, blur_probability=1.0)
    for seed in range(6):
        out = augment(_static_clip(), np.random.default_rng(seed), (32, 48), cfg)
        check_sample(out, 4, (32, 48))
        for key in out:
            for t in range(1, 4):
                assert torch.equal(out[key][0], out[key][t]), (seed, key, t)


def test_augment_flip_and_ranges() -> None:
    clip = _static_clip()
    flipped = augment(clip, np.random.default_rng(0), (32, 48),
                      AugmentConfig(flip_probability=1.0, crop_scale=(1, 1), crop_aspect_jitter=0,
                                    drift=0, jitter_probability=0, noise_probability=0))
    # the ramp runs left to right; flipped, it runs right to left in every frame
    row = flipped["pha"][:, 0, 16]
    assert (row[:, 0] > row[:, -1]).all()
    for seed in range(5):
        out = augment(clip, np.random.default_rng(seed), (24, 40))
        check_sample(out, 4, (24, 40), exact=False)


def test_augment_noise_changes_only_com() -> None:
    cfg = AugmentConfig(noise_probability=1.0, noise_sigma=(0.05, 0.05))
    out = augment(_static_clip(), np.random.default_rng(1), (32, 48), cfg)
    exact = composite(out["fgr"], out["pha"], out["bgr"])
    diff = (out["com"] - exact).abs()
    assert 0.01 < diff.mean().item() < 0.06
    assert 0.0 <= out["com"].min() and out["com"].max() <= 1.0


def test_crop_boxes_one_size_slow_drift() -> None:
    for seed in range(10):
        boxes = crop_boxes(np.random.default_rng(seed), 8, (200, 300), (36, 64), drift=0.02)
        assert (boxes[:, 2] == boxes[0, 2]).all() and (boxes[:, 3] == boxes[0, 3]).all()
        assert (boxes[:, 0] >= 0).all() and (boxes[:, 0] + boxes[:, 2] <= 200).all()
        assert (boxes[:, 1] >= 0).all() and (boxes[:, 1] + boxes[:, 3] <= 300).all()
        step = np.abs(np.diff(boxes[:, :2], axis=0))
        assert (step[:, 0] <= 0.02 * boxes[0, 2] + 1).all()
        assert (step[:, 1] <= 0.02 * boxes[0, 3] + 1).all()
        # target aspect (64/36) up to the jitter
        assert abs(np.log(boxes[0, 3] / boxes[0, 2] / (64 / 36))) < 0.1 + 0.05


def test_color_jitter_identity_and_grey_axis() -> None:
    x = torch.rand(2, 3, 5, 5)
    assert torch.allclose(color_jitter(x), x)
    grey = torch.full((1, 3, 2, 2), 0.4)
    assert torch.allclose(color_jitter(grey, hue=1.0), grey, atol=1e-6)
    m = hue_matrix(0.7)
    assert torch.allclose(m @ m.T, torch.eye(3), atol=1e-6)


# ----------------------------------------------------------------------------- layouts

def _write_rgb(path: Path, rng: np.random.Generator, h: int = 32, w: int = 48) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)


def _write_alpha(path: Path, h: int = 32, w: int = 48) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    a = np.zeros((h, w), np.uint8)
    a[8:, 12:36] = 255
    a[6:8, 10:38] = 128  # a soft edge
    Image.fromarray(a).save(path)


@pytest.fixture()
def videomatte(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    root = tmp_path / "vm"
    for clip, n in (("0000", 6), ("0001", 2)):
        for i in range(n):
            _write_rgb(root / "fgr" / clip / f"{i:05d}.jpg", rng)
            _write_alpha(root / "pha" / clip / f"{i:05d}.png")
    return root


@pytest.fixture()
def image_matting(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    root = tmp_path / "aim"
    for name, ext in (("a", "png"), ("b", "jpg"), ("c", "png")):
        _write_rgb(root / "fg" / f"{name}.{ext}", rng)
        _write_alpha(root / "alpha" / f"{name}.png")
    return root


@pytest.fixture()
def image_backgrounds(tmp_path: Path) -> Path:
    rng = np.random.default_rng(2)
    root = tmp_path / "bg_images"
    _write_rgb(root / "x.jpg", rng)
    _write_rgb(root / "nested" / "deeper" / "y.png", rng, 40, 30)
    (root / "notes.txt").write_text("not an image")
    return root


def _write_video(path: Path, frames: int, w: int = 64, h: int = 48, step: int = 8) -> None:
    """Frame k is a flat grey of value 20 + step * k, so decoded frames can be identified."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        for codec in ("libx264", "mpeg4"):
            try:
                stream = out.add_stream(codec, rate=24)
                break
            except Exception:  # pragma: no cover - depends on the PyAV build
                continue
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for k in range(frames):
            img = np.full((h, w, 3), 20 + step * k, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def test_videomatte_clips(videomatte: Path) -> None:
    ds = VideoMatteClips(videomatte, None, T=4, size=(24, 40), augment=False)
    assert len(ds) == 2  # 6 frames -> one window of 4 (stride 4); 2 frames -> one bouncing
    for i in range(len(ds)):
        check_sample(ds[i], 4, (24, 40))
    assert not torch.equal(ds[0]["fgr"][0], ds[0]["fgr"][1])  # consecutive, different frames
    short = ds[1]["fgr"]
    assert torch.equal(short[0], short[2]) and torch.equal(short[1], short[3])  # 0 1 0 1
    aug = VideoMatteClips(videomatte, ProceduralBackgrounds(), T=4, size=(24, 40), seed=3)
    for i in range(len(aug)):
        check_sample(aug[i], 4, (24, 40), exact=False)
    assert torch.equal(aug[0]["com"], aug[0]["com"])
    strided = VideoMatteClips(videomatte, None, T=2, size=(24, 40), stride=1)
    assert len(strided) == 5 + 1


def test_videomatte_errors(tmp_path: Path, videomatte: Path) -> None:
    (tmp_path / "empty" / "fgr").mkdir(parents=True)
    (tmp_path / "empty" / "pha").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"fgr.*no clip folders.*VideoMatte240K"):
        VideoMatteClips(tmp_path / "empty", None, T=2, size=(16, 16))
    with pytest.raises(ValueError, match=r"folder not found.*root/fgr/<clip>"):
        VideoMatteClips(tmp_path / "missing", None, T=2, size=(16, 16))
    (videomatte / "pha" / "0000" / "00003.png").rename(videomatte / "pha" / "0000" / "x3.png")
    with pytest.raises(ValueError, match=r"do not match.*00003.*x3"):
        VideoMatteClips(videomatte, None, T=2, size=(16, 16))


def test_videomatte_clip_folder_mismatch(videomatte: Path) -> None:
    (videomatte / "pha" / "0001").rename(videomatte / "pha" / "0009")
    with pytest.raises(ValueError, match=r"do not match.*0001"):
        VideoMatteClips(videomatte, None, T=2, size=(16, 16))


def test_image_matting_set(image_matting: Path, image_backgrounds: Path) -> None:
    ds = ImageMattingSet(image_matting, ImageBackgrounds(image_backgrounds), T=3, size=(24, 32),
                         augment=False)
    assert len(ds) == 3
    for i in range(3):
        s = ds[i]
        check_sample(s, 3, (24, 32))
        assert not torch.equal(s["pha"][0], s["pha"][2])  # synthetic motion
        assert (s["pha"] == 1).any() and (s["pha"] == 0).any()
    one = ImageMattingSet(image_matting, None, T=1, size=(24, 32), augment=True,
                          config=NO_AUG_NOISE)
    check_sample(one[0], 1, (24, 32))
    for key, value in one[2].items():
        assert torch.equal(value, one[2][key])  # deterministic per index
    one.set_epoch(1)
    assert not torch.equal(one[2]["com"], ImageMattingSet(image_matting, None, T=1,
                                                          size=(24, 32))[2]["com"])


def test_image_matting_errors(tmp_path: Path, image_matting: Path) -> None:
    (tmp_path / "e" / "fg").mkdir(parents=True)
    (tmp_path / "e" / "alpha").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"fg: no images.*root/fg/<name>"):
        ImageMattingSet(tmp_path / "e", None, T=1, size=(16, 16))
    (image_matting / "alpha" / "b.png").unlink()
    with pytest.raises(ValueError, match=r"do not match.*\bb\b"):
        ImageMattingSet(image_matting, None, T=1, size=(16, 16))


def test_image_backgrounds(image_backgrounds: Path, tmp_path: Path) -> None:
    bg = ImageBackgrounds(image_backgrounds)
    assert len(bg) == 2  # recursive, text file ignored
    for seed in range(4):
        c = bg.clip(np.random.default_rng(seed), 5, (20, 36))
        assert c.shape == (5, 3, 20, 36) and c.dtype == torch.float32
        assert 0 <= c.min() and c.max() <= 1
    (tmp_path / "nothing").mkdir()
    with pytest.raises(ValueError, match=r"nothing: no background images"):
        ImageBackgrounds(tmp_path / "nothing")


def test_video_backgrounds_file_and_frame_folders(tmp_path: Path) -> None:
    root = tmp_path / "bg_video"
    _write_video(root / "clip.mp4", 5)
    bg = VideoBackgrounds(root)
    assert len(bg) == 1
    c = bg.clip(np.random.default_rng(0), 3, (24, 32))
    assert c.shape == (3, 3, 24, 32) and c.dtype == torch.float32
    level = c.mean(dim=(1, 2, 3)) * 255
    assert torch.allclose(level[1:] - level[:-1], torch.full((2,), 8.0), atol=2.0)  # consecutive
    long_clip = bg.clip(np.random.default_rng(0), 8, (24, 32))  # longer than the video: bounces
    assert long_clip.shape == (8, 3, 24, 32)
    frames = tmp_path / "bg_frames"
    rng = np.random.default_rng(5)
    for i in range(4):
        _write_rgb(frames / "shot_a" / f"f{i}.png", rng)
    fb = VideoBackgrounds(frames)
    assert len(fb) == 1
    assert fb.clip(np.random.default_rng(1), 3, (16, 24)).shape == (3, 3, 16, 24)


def test_video_backgrounds_seek_is_consecutive(tmp_path: Path) -> None:
    _write_video(tmp_path / "v" / "long.mp4", 40, step=5)
    bg = VideoBackgrounds(tmp_path / "v")
    starts = set()
    for seed in range(4):
        level = bg.clip(np.random.default_rng(seed), 4, (16, 16)).mean(dim=(1, 2, 3)) * 255
        assert torch.allclose(level[1:] - level[:-1], torch.full((3,), 5.0), atol=1.5), level
        starts.add(round((level[0].item() - 20) / 5))
    assert len(starts) > 1  # random starts, reached by seeking
    again = bg.clip(np.random.default_rng(2), 4, (16, 16))
    assert torch.equal(again, bg.clip(np.random.default_rng(2), 4, (16, 16)))


def test_video_backgrounds_empty(tmp_path: Path) -> None:
    (tmp_path / "vb" / "sub").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"vb: no background videos.*frame folders"):
        VideoBackgrounds(tmp_path / "vb")


# ----------------------------------------------------------------------------- mixtures

def test_mixed_clips_proportions_and_determinism(videomatte: Path) -> None:
    a = ProceduralClips(T=2, size=(24, 40), seed=0, count=10)
    b = VideoMatteClips(videomatte, None, T=2, size=(24, 40))
    mix = MixedClips([a, b], [3.0, 1.0], length=400, seed=4)
    sources = np.array([mix.source_of(i) for i in range(400)])
    assert 0.65 < (sources == 0).mean() < 0.85
    assert [mix.pick(i) for i in range(20)] == [mix.pick(i) for i in range(20)]
    other = MixedClips([a, b], [3.0, 1.0], length=400, seed=5)
    assert [mix.pick(i) for i in range(20)] != [other.pick(i) for i in range(20)]
    for i in range(3):
        s = mix[i]
        check_sample(s, 2, (24, 40), exact=mix.source_of(i) == 0)
        assert torch.equal(s["pha"], mix[i]["pha"])
    only_a = MixedClips([a, b], [1.0, 0.0], length=50)
    assert all(only_a.source_of(i) == 0 for i in range(50))
    batch = torch.utils.data.default_collate([mix[0], mix[1]])
    assert batch["com"].shape == (2, 2, 3, 24, 40)


def test_mixed_clips_errors() -> None:
    a = ProceduralClips(T=1, size=(16, 16), count=2)
    with pytest.raises(ValueError, match="one weight per dataset"):
        MixedClips([a], [1.0, 2.0], length=4)
    with pytest.raises(ValueError, match="not all 0"):
        MixedClips([a], [0.0], length=4)
    with pytest.raises(ValueError, match=">= 0"):
        MixedClips([a], [-1.0], length=4)
    with pytest.raises(IndexError):
        MixedClips([a], [1.0], length=4)[4]
