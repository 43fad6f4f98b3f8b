"""Teacher pseudo-labels: Robust Video Matting's published ONNX graph mattes real footage, its
foreground and alpha become training targets (and a reference to score against).

- :class:`Teacher` runs the graph (inputs ``src``, ``r1i``..``r4i``, ``downsample_ratio``;
  outputs ``fgr``, ``pha``, ``r1o``..``r4o``) with onnxruntime; :meth:`Teacher.label_clip`
  labels a clip in two passes so that no kept frame is matted from a cold recurrent state.
- :func:`read_clip` reads a folder of frames or a movie; :func:`write_labels` writes the
  benchmark layout ``<out>/<name>/{com,fgr,pha}/NNNNN.png`` that ``memmatte eval`` reads, so a
  held-out clip can be scored against the teacher; :func:`label_folder` does all of it for a
  list of clips.
- :class:`TeacherClips` serves those labels for training: T consecutive frames, the teacher's
  foreground re-composited over a new background.

The ONNX file (GPL-3.0) is only run, never converted or copied; the user names its path.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ..io.eight_bit import list_frames, read_gray, read_rgb, write_png
from ..protocol.errors import BAD_SETTINGS, MemmatteError

SUBFOLDERS = ("com", "fgr", "pha")
STATE_INPUTS = ("r1i", "r2i", "r3i", "r4i")
INPUTS = frozenset(("src", "downsample_ratio", *STATE_INPUTS))

Frame = np.ndarray  # H x W x 3 float32 RGB in [0, 1] (sRGB-encoded, as the benchmarks)
State = list[np.ndarray]  # r1..r4, the graph's ConvGRU states at 1/2, 1/4, 1/8, 1/16
Size = int | tuple[int, int]  # long side in pixels, or (height, width)


class TeacherError(MemmatteError):
    """A teacher model, clip or label folder that cannot be used; the message names it."""

    code = BAD_SETTINGS


def auto_ratio(height: int, width: int) -> float:
    """The graph's downsample ratio for a frame: min(512 / max(h, w), 1), as float32."""
    return float(np.float32(min(512.0 / max(height, width), 1.0)))


def cold_state() -> State:
    """The state a clip starts from: four 1x1x1x1 zeros (the graph broadcasts them)."""
    return [np.zeros((1, 1, 1, 1), np.float32) for _ in STATE_INPUTS]


# ================================================================ the teacher


class Teacher:
    """Robust Video Matting (MobileNetV3) through onnxruntime, on the CPU.

    >>> teacher = Teacher("rvm_mobilenetv3_fp32.onnx")           # doctest: +SKIP
    >>> fgrs, phas = teacher.label_clip(read_clip("shot.mp4"))   # doctest: +SKIP
    """

    def __init__(self, onnx_path: str | os.PathLike[str], threads: int | None = None,
                 downsample_ratio: float | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:  # pragma: no cover - the onnx/dev extras install it
            raise TeacherError("the teacher needs onnxruntime: pip install "
                               "'memmatte[onnx]'") from exc
        self.path = Path(onnx_path)
        if not self.path.is_file():
            raise TeacherError(f"{self.path}: teacher ONNX model not found (Robust Video "
                               "Matting's rvm_mobilenetv3_fp32.onnx; `make teacher` fetches it)")
        if downsample_ratio is not None and not 0.0 < downsample_ratio <= 1.0:
            raise TeacherError(f"downsample_ratio must be in (0, 1], got {downsample_ratio}")
        self.downsample_ratio = downsample_ratio
        options = ort.SessionOptions()
        # Idle onnxruntime threads spin by default and steal cores from everything else.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            options.intra_op_num_threads = int(threads)
        try:
            self._session = ort.InferenceSession(str(self.path), options,
                                                 providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise TeacherError(f"{self.path}: cannot load the ONNX model ({exc})") from exc
        names = {i.name for i in self._session.get_inputs()}
        outputs = [o.name for o in self._session.get_outputs()]
        if names != INPUTS or outputs[:2] != ["fgr", "pha"]:
            raise TeacherError(f"{self.path}: not a Robust Video Matting graph (inputs "
                               f"{sorted(names)}, outputs {outputs}; expected inputs "
                               f"{sorted(INPUTS)} and outputs fgr, pha, r1o..r4o)")

    def ratio_for(self, height: int, width: int) -> float:
        return (float(np.float32(self.downsample_ratio)) if self.downsample_ratio is not None
                else auto_ratio(height, width))

    def step(self, frame: Frame, state: State, ratio: float
             ) -> tuple[np.ndarray, np.ndarray, State]:
        """One frame: (fgr HxWx3, pha HxW, next state)."""
        src = np.ascontiguousarray(np.asarray(frame, np.float32).transpose(2, 0, 1)[None])
        feeds = {"src": src, "downsample_ratio": np.array([ratio], np.float32),
                 **dict(zip(STATE_INPUTS, state))}
        fgr, pha, *next_state = self._session.run(None, feeds)
        return fgr[0].transpose(1, 2, 0), pha[0, 0], next_state

    def run(self, frames: Sequence[Frame], state: State | None = None
            ) -> tuple[list[np.ndarray], list[np.ndarray], State]:
        """One pass over ``frames`` in order from ``state`` (cold when None): the foregrounds,
        alphas and the state after the last frame."""
        size = _clip_size(frames)
        ratio = self.ratio_for(*size)
        state = cold_state() if state is None else state
        fgrs, phas = [], []
        for frame in frames:
            fgr, pha, state = self.step(frame, state, ratio)
            fgrs.append(fgr)
            phas.append(pha)
        return fgrs, phas, state

    def warm_state(self, frames: Sequence[Frame], warmup: int | None = None) -> State:
        """The state after running ``frames[:warmup]`` (all when None) backwards, from the
        last of them to frame 0: a settled state that has just seen frame 0."""
        count = len(frames) if warmup is None else max(1, min(int(warmup), len(frames)))
        return self.run(list(frames[:count])[::-1])[2]

    def label_clip(self, frames: Sequence[Frame], warmup: int | None = None
                   ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Teacher labels of a clip: (fgrs HxWx3, phas HxW) float32 in [0, 1].

        Two passes; only the second is kept. A recurrent matter started from zeros needs some
        frames before its state (which carries the background it has seen and where the
        person was) settles; its first frames are its worst, and labels must not teach that.

        Pass 1 runs the clip *backwards*, last frame to first (``warmup`` limits it to the
        first ``warmup`` frames, for long clips), and throws its outputs away. Pass 2 runs the
        clip forwards from frame 0, starting from pass 1's final state. Why backwards: the
        state pass 2 starts from has then just seen frame 0, so it agrees with the frame it
        is about to matte. A forward warm-up would hand frame 0 the state of the clip's *last*
        frame, and a person who moved during the clip would leave a ghost of their final pose
        in the first kept frames until the state caught up. Played backwards the clip is
        still a plausible video (same scene, reversed motion), and the state has seen the
        whole clip, including background that the person uncovers later. The cost is one
        extra pass (twice the teacher time).
        """
        state = self.warm_state(frames, warmup)
        fgrs, phas, _ = self.run(frames, state)
        return fgrs, phas


def _clip_size(frames: Sequence[Frame]) -> tuple[int, int]:
    if len(frames) == 0:
        raise TeacherError("a clip needs at least one frame")
    shapes = {tuple(np.shape(f)) for f in frames}
    if len(shapes) != 1:
        raise TeacherError(f"frames of a clip must share one size, got {sorted(shapes)}")
    shape = shapes.pop()
    if len(shape) != 3 or shape[2] != 3:
        raise TeacherError(f"frames must be H x W x 3 RGB, got shape {shape}")
    return int(shape[0]), int(shape[1])


# ================================================================ clips in, labels out


def resized_size(height: int, width: int, size: Size) -> tuple[int, int]:
    """(height, width) for ``size``: an int is the long side (aspect kept), a pair is
    (height, width)."""
    if isinstance(size, int):
        if size < 1:
            raise TeacherError(f"size must be >= 1, got {size}")
        scale = size / max(height, width)
        return max(1, round(height * scale)), max(1, round(width * scale))
    if len(size) != 2 or min(size) < 1:
        raise TeacherError(f"size must be a long side or (height, width), got {size!r}")
    return int(size[0]), int(size[1])


def resize_frame(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear with antialiasing (no overshoot, so [0, 1] stays [0, 1]); HxWxC or HxW."""
    if frame.shape[:2] == tuple(size):
        return np.asarray(frame, np.float32)
    x = torch.from_numpy(np.ascontiguousarray(frame, np.float32))
    x = x[None, None] if x.dim() == 2 else x.permute(2, 0, 1)[None]
    x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
    out = x[0, 0] if frame.ndim == 2 else x[0].permute(1, 2, 0)
    return np.ascontiguousarray(out.numpy())


def read_clip(path: str | os.PathLike[str], max_frames: int | None = None,
              size: Size | None = None) -> list[Frame]:
    """Frames of a clip, H x W x 3 float32 RGB in [0, 1].

    ``path``: a folder of PNG/JPEG frames (sorted by name; a benchmark clip folder whose
    frames sit in ``com/`` works too) or a movie (mp4, mov, ... decoded by PyAV). The first
    ``max_frames`` frames; ``size`` resizes them (long side, or (height, width)). The whole
    clip is held in memory (the two-pass labelling needs it twice): bound long movies with
    ``max_frames``.
    """
    path = Path(path)
    if max_frames is not None and max_frames < 1:
        raise TeacherError(f"max_frames must be >= 1, got {max_frames}")
    if path.is_dir():
        files = list_frames(path)
        if not files and (path / "com").is_dir():
            files = list_frames(path / "com")
        if not files:
            raise TeacherError(f"{path}: no PNG or JPEG frames (nor a com/ folder of them)")
        frames = [read_rgb(p) for p in files[:max_frames]]
    elif path.is_file():
        # Only movies need the I/O layer (PyAV, OpenImageIO): folders of frames do not.
        from ..io import PlateError, VideoReader, is_video

        if not is_video(path):
            raise TeacherError(f"{path}: not a folder of frames nor a movie file")
        try:
            with VideoReader(path) as video:
                count = len(video) if max_frames is None else min(len(video), max_frames)
                frames = [video.read(i) for i in range(count)]
        except PlateError as exc:
            raise TeacherError(str(exc)) from exc
    else:
        raise TeacherError(f"{path}: clip not found")
    if size is not None:
        target = resized_size(frames[0].shape[0], frames[0].shape[1], size)
        frames = [resize_frame(f, target) for f in frames]
    _clip_size(frames)
    return frames


def frame_name(index: int) -> str:
    return f"{index:05d}.png"


def write_labels(out_dir: str | os.PathLike[str], name: str, frames: Sequence[Frame],
                 fgrs: Sequence[np.ndarray], phas: Sequence[np.ndarray]) -> Path:
    """Write ``out_dir/<name>/{com,fgr,pha}/NNNNN.png`` (8-bit PNGs, each written atomically):
    the input frames as ``com``, the teacher's foreground and alpha as truth. This is the
    benchmark layout ``memmatte eval`` reads. Frames left over from an earlier, longer
    labelling of the same clip are removed. Returns the clip folder."""
    if not (len(frames) == len(fgrs) == len(phas)) or not frames:
        raise TeacherError(f"{name}: need as many foregrounds and alphas as frames (got "
                           f"{len(frames)}, {len(fgrs)}, {len(phas)}), at least one")
    if not name or Path(name).is_absolute() or ".." in Path(name).parts:
        raise TeacherError(f"label name {name!r} must be a relative folder name")
    clip = Path(out_dir) / name
    for i, (com, fgr, pha) in enumerate(zip(frames, fgrs, phas)):
        write_png(clip / "com" / frame_name(i), np.asarray(com))
        write_png(clip / "fgr" / frame_name(i), np.asarray(fgr))
        write_png(clip / "pha" / frame_name(i), np.asarray(pha))
    kept = {frame_name(i) for i in range(len(frames))}
    for sub in SUBFOLDERS:
        for stale in list_frames(clip / sub):
            if stale.name not in kept:
                stale.unlink()
    return clip


def clip_name(path: Path) -> str:
    """The label folder name of a clip: the movie's stem or the folder's name (the clip's,
    when ``path`` is its ``com/`` folder)."""
    path = Path(os.path.abspath(path))
    if path.is_dir():
        return path.parent.name if path.name == "com" else path.name
    return path.stem


def label_folder(onnx_path: str | os.PathLike[str], clips: Sequence[str | os.PathLike[str]],
                 out_dir: str | os.PathLike[str], max_frames: int | None = None,
                 size: Size | None = None, *, threads: int | None = None,
                 warmup: int | None = None, progress: Callable[[str], None] | None = None
                 ) -> list[str]:
    """Label every clip (folders of frames or movies) with the teacher into ``out_dir`` in the
    benchmark layout; returns the clip names written, in order. Names (a movie's stem, a
    folder's name) must be distinct: checked before any work."""
    paths = [Path(c) for c in clips]
    names = [clip_name(p) for p in paths]
    seen: dict[str, Path] = {}
    for name, path in zip(names, paths):
        if name in seen:
            raise TeacherError(f"{path} and {seen[name]} would both be labelled as {name!r}; "
                               "rename one")
        seen[name] = path
    for path in paths:
        if not path.exists():
            raise TeacherError(f"{path}: clip not found")
    teacher = Teacher(onnx_path, threads=threads)
    for i, (name, path) in enumerate(zip(names, paths)):
        frames = read_clip(path, max_frames, size)
        fgrs, phas = teacher.label_clip(frames, warmup)
        write_labels(out_dir, name, frames, fgrs, phas)
        if progress:
            progress(f"{name}: {len(frames)} frames labelled ({i + 1}/{len(paths)} clips)")
    return names


# ================================================================ training clips


class Backgrounds(Protocol):
    def clip(self, rng: np.random.Generator, T: int, size: tuple[int, int]) -> torch.Tensor:
        """(T, 3, H, W) float32 in [0, 1]."""
        ...


def find_label_clips(root: Path) -> list[Path]:
    """Clip folders under ``root`` (``root`` itself included) holding ``fgr/`` and ``pha/``."""
    if not root.is_dir():
        raise TeacherError(f"{root}: label folder not found")
    found = {p.parent for p in root.rglob("pha") if p.is_dir() and (p.parent / "fgr").is_dir()}
    return sorted(found)


class TeacherClips(Dataset):
    """Teacher-labelled clips as training samples.

    Item ``i`` is a dict of float32 tensors: ``fgr`` (T, 3, H, W), ``pha`` (T, 1, H, W),
    ``bgr`` (T, 3, H, W) and ``com = fgr * pha + bgr * (1 - pha)``: T consecutive frames of
    one clip, the teacher's foreground and alpha composited over a background clip from
    ``backgrounds``. ``size`` is (height, width). Deterministic: everything item ``i`` draws
    comes from ``numpy.random.default_rng((seed, i))``.

    Geometry, the same for the T frames of an item: scale so the frame covers ``size``
    (times a random factor in ``scale``), crop at a random place, flip left-right half the
    time. A clip shorter than T plays back and forth (0 1 2 1 0 1 ...).

    ``len`` is the number of distinct T-frame windows (or ``length``); the window of an item
    is drawn at random, clips weighted by their windows.

    ``original`` is the share of items that keep the footage itself (``com/``) instead of a
    new background: distillation on the real plates, where the teacher's labels belong. A
    re-composite puts the teacher's foreground, edge errors included, over backgrounds real
    footage never has; the footage teaches the student what the held-out plates look like.
    Such items carry the frames' own ``com`` and ``bgr`` equal to it (no clean plate exists).
    """

    def __init__(self, label_root: str | os.PathLike[str], backgrounds: Backgrounds, T: int,
                 size: tuple[int, int], seed: int = 0, *, length: int | None = None,
                 scale: tuple[float, float] = (1.0, 1.25), flip: bool = True,
                 original: float = 0.0) -> None:
        if T < 1:
            raise TeacherError(f"T must be >= 1, got {T}")
        if len(size) != 2 or min(size) < 1:
            raise TeacherError(f"size must be (height, width), got {size!r}")
        if not 1.0 <= scale[0] <= scale[1]:
            raise TeacherError(f"scale must be (lo, hi) with 1 <= lo <= hi, got {scale!r}")
        self.root = Path(label_root)
        self.backgrounds = backgrounds
        self.T = int(T)
        self.size = (int(size[0]), int(size[1]))
        self.seed = int(seed)
        self.scale = (float(scale[0]), float(scale[1]))
        self.flip = flip
        if not 0.0 <= original <= 1.0:
            raise TeacherError(f"original must be a share in [0, 1], got {original}")
        self.original = float(original)
        self.clips: list[tuple[Path, list[str]]] = []
        for clip in find_label_clips(self.root):
            names = [p.name for p in list_frames(clip / "fgr")]
            missing = sorted(set(names) - {p.name for p in list_frames(clip / "pha")})
            if missing:
                raise TeacherError(f"{clip}: pha/ lacks frames of fgr/: {missing[:5]}")
            if self.original > 0:
                missing = sorted(set(names) - {p.name for p in list_frames(clip / "com")})
                if missing:
                    raise TeacherError(f"{clip}: com/ lacks frames of fgr/ (needed when "
                                       f"original > 0): {missing[:5]}")
            if names:
                self.clips.append((clip, names))
        if not self.clips:
            raise TeacherError(f"{self.root}: no teacher labels (expected "
                               "<clip>/fgr/*.png and <clip>/pha/*.png; make them with "
                               "memmatte.train.teacher.label_folder)")
        self.windows = np.array([max(len(n) - self.T + 1, 1) for _, n in self.clips])
        self.length = int(self.windows.sum()) if length is None else int(length)

    def __len__(self) -> int:
        return self.length

    def frame_indices(self, count: int, start: int) -> list[int]:
        """T frame indices from ``start``; back and forth when the clip is shorter than T."""
        if count >= self.T:
            return list(range(start, start + self.T))
        if count == 1:
            return [0] * self.T
        period = 2 * (count - 1)
        return [i if i < count else period - i for i in (t % period for t in range(self.T))]

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < self.length:
            raise IndexError(f"item {index} out of range (0-{self.length - 1})")
        rng = np.random.default_rng((self.seed, int(index)))
        k = int(rng.choice(len(self.clips), p=self.windows / self.windows.sum()))
        clip, names = self.clips[k]
        start = int(rng.integers(0, self.windows[k]))
        picked = [names[i] for i in self.frame_indices(len(names), start)]

        def frames(kind: str) -> torch.Tensor:
            return torch.from_numpy(np.stack([read_rgb(clip / kind / n) for n in picked])
                                    ).permute(0, 3, 1, 2)

        pha = torch.from_numpy(np.stack([read_gray(clip / "pha" / n) for n in picked]))[:, None]
        # Drawn only when footage items are asked for: older configs keep their samples.
        keep_plate = self.original > 0 and rng.random() < self.original
        stack = [frames("fgr"), pha] + ([frames("com")] if keep_plate else [])
        fgr, pha, *plate = self._geometry(rng, stack)
        if keep_plate:
            com = plate[0]
            return {"fgr": fgr.contiguous(), "pha": pha.contiguous(),
                    "bgr": com.contiguous(), "com": com.contiguous()}
        bgr = self.backgrounds.clip(rng, self.T, self.size)
        bgr = torch.as_tensor(bgr, dtype=torch.float32)
        if tuple(bgr.shape) != (self.T, 3, *self.size):
            raise TeacherError(f"backgrounds.clip gave shape {tuple(bgr.shape)}, expected "
                               f"{(self.T, 3, *self.size)}")
        com = fgr * pha + bgr * (1.0 - pha)
        return {"fgr": fgr.contiguous(), "pha": pha.contiguous(), "bgr": bgr.contiguous(),
                "com": com.contiguous()}

    def _geometry(self, rng: np.random.Generator, stack: list[torch.Tensor]
                  ) -> list[torch.Tensor]:
        """The same scale, crop and flip for every (T, C, H, W) tensor of ``stack``."""
        h, w = stack[0].shape[-2:]
        out_h, out_w = self.size
        cover = max(out_h / h, out_w / w) * float(rng.uniform(*self.scale))
        new_h, new_w = max(out_h, round(h * cover)), max(out_w, round(w * cover))
        both = torch.cat(stack, dim=1)  # one resize for every channel
        if (new_h, new_w) != (h, w):
            both = F.interpolate(both, size=(new_h, new_w), mode="bilinear",
                                 align_corners=False, antialias=True).clamp(0.0, 1.0)
        top = int(rng.integers(0, new_h - out_h + 1))
        left = int(rng.integers(0, new_w - out_w + 1))
        both = both[:, :, top:top + out_h, left:left + out_w]
        if self.flip and rng.random() < 0.5:
            both = both.flip(-1)
        return list(torch.split(both, [t.shape[1] for t in stack], dim=1))
