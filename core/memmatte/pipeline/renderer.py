"""One render: read -> colour -> engine -> foreground -> write, over a frame range.

Resumable (``resume`` keeps a frame on disk only when its recorded cache key matches these
settings and sources; every write is atomic, so a file that exists is complete), cancellable
between frames, and chunkable: a chunk reads its two frames of pre-roll and gives the same
pixels as one sequential run (DESIGN invariants 1, 4, 5). A warm worker keeps one Renderer
per shot and settings and asks it for frames again and again (``run(frames=...)``).
"""
from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from .contact_sheet import sheet_indices, write_contact_sheet
from ..color import ColorTransform, check_colorspace, network_space, premultiplied_foreground
from ..color import resolve_config
from ..atomic import temporaries
from ..engine import Engine, FrameResult
from ..engine.factory import make_backend, runtime_identity
from ..io import FramePattern, PlateError, read_attribute, write_image
from ..protocol.cache_key import KEY_ATTRIBUTE
from ..protocol.errors import SettingsError
from ..protocol.settings import RenderSettings
from .folder_lock import FolderLock
from .frame_keys import frame_key, static_parts
from .overwrite import Written, planned_writes, refuse_overwrites
from .prefetch import Loaded, Prefetcher
from .source import Source, open_source, select_frames
from .writer import BackgroundWriter

# Reports a setup stage (protocol.events.SETUP_STAGES) and what it is doing.
SetupReport = Callable[[str, str], None]

# Settings recorded in every output's metadata (what made these pixels).
RECORDED = ("downsample_ratio", "memory", "colorspace", "network_space", "detect_cuts", "backend")


@dataclass
class Progress:
    event: str  # "start", "frame", "skip", "done", "cancelled"
    frame: int | None = None
    done: int = 0
    total: int = 0
    fps: float = 0.0
    eta_s: float | None = None
    path: str | None = None
    key: str | None = None  # the frame's cache key (frame, skip)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class RenderResult:
    written: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    cancelled: bool = False
    seconds: float = 0.0


def preroll_plan(todo: list[int], available: list[int], window: int) -> list[int]:
    """Frames to read, in order: each frame to render, after the predecessors it needs."""
    have = set(available)
    plan: list[int] = []
    seen: set[int] = set()
    for f in todo:
        for p in [f - lag for lag in range(window, 0, -1)] + [f]:
            if p in have and p not in seen:
                seen.add(p)
                plan.append(p)
    return plan


def _load_backend(s: RenderSettings, say: SetupReport) -> Any:
    say("runtime", f"loading the {s.backend} runtime and the weights")
    return make_backend(s.backend, s.weights, s.device, s.memory)


class Renderer:
    """Set up once (config, processors, weights, engine), then ``run()``."""

    def __init__(self, settings: RenderSettings, setup: SetupReport | None = None,
                 backend_for: Callable[[RenderSettings, SetupReport], Any] | None = None
                 ) -> None:
        """``setup`` hears each loading stage, so a host's progress bar moves before the
        first frame; ``backend_for`` gives a warm backend to reuse (the worker's serve mode).
        The source and colour are checked before the weights load: bad input fails fast."""
        self.settings = s = settings
        say = setup or (lambda stage, message: None)
        say("source", f"opening {s.input}")
        self.source: Source = open_source(s.input, s.layer)
        try:
            self.shot_start = self.source.first_frame if s.shot_start is None else s.shot_start
            self.retarget(s)
            say("colour", "resolving the OCIO config and colour spaces")
            cfg = resolve_config(s.ocio)
            self.config_origin = cfg.origin
            default_space = "scene_linear" if self.source.linear else None
            net = network_space(cfg.config, s.network_space)
            plate_space = check_colorspace(cfg.config, s.colorspace or default_space or net,
                                           "--colorspace")
            self.plate_space, self.network_space = plate_space, net
            # OCIO's fast pow/log: at most ~2e-5 off in network space (far below what the
            # network resolves), 1.5x faster at 4K; the way back stays exact.
            self.transform = ColorTransform(cfg, plate_space, net, fast=True)
            self.backend = (backend_for or _load_backend)(s, say)
            say("engine", "preparing the engine")
            self.engine = Engine(self.backend, downsample_ratio=s.downsample_ratio,
                                 first_frame=self.shot_start, detect_cuts=s.detect_cuts)
            self.identity = runtime_identity(self.backend)
            self.metadata = self._metadata()
            self._static = static_parts(s, self.identity, self.backend.weights_id,
                                        self.engine.window, plate_space, net,
                                        f"{cfg.origin} {cfg.config.getCacheID()}")
            self._stamps: dict[int, dict[str, Any]] = {}
        except BaseException:
            self.source.close()
            raise

    def retarget(self, settings: RenderSettings) -> None:
        """Take another request's frames, outputs, resume and preview; everything that
        decides pixels stays as it was set up (the worker checks that it is equal)."""
        self.settings = s = settings
        self.source.rescan()
        self.frames = select_frames(self.source, s.frames)
        early = [f for f in self.frames if f < self.shot_start]
        if early:
            raise SettingsError(f"shot_start (--shot-start) {self.shot_start}: frames "
                                f"{early[:5]} come before the shot starts", option="shot_start")
        self.output = self._output_pattern(s.output, "-o/--output")
        self.alpha_output = (self._output_pattern(s.alpha_out, "--alpha-out")
                             if s.alpha_out else None)
        self.refuse_overwrites()

    def refuse_overwrites(self, extra: Sequence[tuple[str, str | Path]] = ()) -> None:
        """Refuse, before any work, outputs that would write over an input frame or over
        each other (``extra``: more (option, path) pairs the caller will write)."""
        outputs = [("output", self.output)] + (
            [("alpha_out", self.alpha_output)] if self.alpha_output else [])
        written = planned_writes(self.frames, outputs, self.settings.preview)
        written += [Written(option, Path(path)) for option, path in extra]
        refuse_overwrites([self.source.file_of(f) for f in self.source.frames],
                          self.settings.input, written)

    def _output_pattern(self, text: str, option: str) -> FramePattern:
        pattern = FramePattern.parse(text)
        if pattern.is_single and len(self.frames) > 1:
            raise PlateError(f"{option} {text}: {len(self.frames)} frames need a frame pattern "
                             "in the name (####, %04d, @@@@ or $F4)")
        return pattern

    def _outputs(self) -> list[FramePattern]:
        return [self.output] + ([self.alpha_output] if self.alpha_output else [])

    def key(self, frame: int) -> str:
        return frame_key(self._static, self.source, frame, self.shot_start, self.engine.window)

    def _done(self, frame: int) -> bool:
        """Written before with exactly these settings and sources (the recorded key)."""
        key = self.key(frame)
        return all(read_attribute(o.path(frame), KEY_ATTRIBUTE) == key for o in self._outputs())

    def _load(self, frame: int) -> Loaded:
        plate = self.source.read(frame)
        rgb = plate.rgb()
        return Loaded(plate, rgb, self.transform.to_network(rgb))

    def _metadata(self) -> dict[str, str]:
        recorded = {k: getattr(self.settings, k) for k in RECORDED}
        recorded.update(colorspace=self.plate_space, network_space=self.network_space)
        # An empty DateTime keeps OpenImageIO from stamping the wall clock: same inputs,
        # same output bits (DESIGN invariant 5), so chunked and resumed runs match exactly.
        return {"DateTime": "", "memmatte:version": __version__,
                "memmatte:weights": self.backend.weights_id,
                "memmatte:device": self.identity["device"],
                "memmatte:precision": self.identity["precision"],
                "memmatte:settings": json.dumps(recorded, sort_keys=True)}

    def _write(self, frame: int, loaded: Loaded, result: FrameResult, key: str) -> None:
        s = self.settings
        # Alpha as the file will hold it: 0.99998 becomes half 1.0, and where the written
        # alpha is 1 the colour must be the plate's, exactly.
        pha = result.pha.astype(np.float16).astype(np.float32) if s.half else result.pha
        plate = loaded.plate
        fgr = premultiplied_foreground(loaded.rgb, result.fgr, pha, self.transform.from_network)
        rgba = np.empty((*pha.shape, 4), np.float32)  # one pass (concatenate + astype: two)
        rgba[..., :3] = fgr
        rgba[..., 3] = pha
        meta = {**self.metadata, KEY_ATTRIBUTE: key}
        write_image(self.output.path(frame), rgba, ("R", "G", "B", "A"), like=plate,
                    half=s.half, compression=s.compression, metadata=meta)
        if self.alpha_output is not None:
            write_image(self.alpha_output.path(frame), pha[..., None], ("A",),
                        like=plate, half=s.half, compression=s.compression, metadata=meta)

    def remove_stale_temporaries(self, frames: list[int], lock: FolderLock) -> list[Path]:
        """Temporary files a killed run left beside the outputs of ``frames`` (final names
        are never partial). All of them when no other render holds the folder; otherwise
        only those whose process has exited."""
        alone = lock.alone()
        try:
            found = temporaries([o.path(f) for o in self._outputs() for f in frames], alone)
            for path in found:
                path.unlink(missing_ok=True)
        finally:
            if alone:
                lock.share()
        return found

    def compute_threads(self) -> int:
        """The reader and writer threads keep about two cores busy; oversubscribing makes
        torch's spinning threads fight them (measured at 4K on 2 cores: 0.62 fps with 2
        compute threads, 0.80 with 1)."""
        if self.settings.threads:
            return self.settings.threads
        return max(1, (os.cpu_count() or 1) - 2)

    def todo(self) -> list[int]:
        return [f for f in self.frames if not (self.settings.resume and self._done(f))]

    def plan_lines(self) -> list[str]:
        """What ``run()`` would do (``--dry-run``)."""
        s, todo = self.settings, self.todo()
        ratio = s.downsample_ratio or "auto (long side near 512 px)"
        lines = [
            f"input: {s.input} ({len(self.source.frames)} frames available, shot starts at "
            f"{self.source.first_frame})",
            f"frames: {len(self.frames)} asked, {len(todo)} to render"
            + (f", {len(self.frames) - len(todo)} already written (resume)"
               if len(todo) < len(self.frames) else ""),
            f"output: {s.output} ({'half' if s.half else 'float'}, {s.compression})"
            + (f"; alpha: {s.alpha_out}" if s.alpha_out else ""),
            f"colour: {self.plate_space} -> {self.network_space} ({self.config_origin})",
            f"weights: {self.backend.weights_path} (id {self.backend.weights_id}, memory "
            f"window {self.engine.window} frames)",
            f"runtime: {self.backend.describe()}; downsample ratio: {ratio}; cut detection: "
            f"{'on' if s.detect_cuts else 'off'}",
        ]
        if todo:
            lines.append(f"first frames: {', '.join(map(str, todo[:5]))}"
                         f"{' ...' if len(todo) > 5 else ''}")
        return lines

    def _forget_changed_sources(self) -> None:
        """A warm engine's memory entries are only good while their source files are the
        ones it encoded: a plate re-rendered between two requests clears them."""
        for frame, stamp in list(self._stamps.items()):
            if self.source.stamp(frame) != stamp:
                self.engine.clear()
                self._stamps.clear()
                return

    def _load_stamped(self, frame: int) -> Loaded:
        self._stamps[frame] = self.source.stamp(frame)
        return self._load(frame)

    def run(self, progress: Callable[[Progress], None] | None = None,
            cancel: threading.Event | None = None) -> RenderResult:
        with FolderLock(self.output.path(self.frames[0]).parent) as lock:
            self._forget_changed_sources()
            return self._run(progress, cancel, lock)

    def _run(self, progress: Callable[[Progress], None] | None,
             cancel: threading.Event | None, lock: FolderLock) -> RenderResult:
        report = progress or (lambda p: None)
        s = self.settings
        result = RenderResult()
        todo = self.todo()
        self.remove_stale_temporaries(self.frames, lock)
        on_sheet = {todo[i] for i in sheet_indices(len(todo), 8)} if s.preview else set()
        sheet: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        result.skipped = [f for f in self.frames if f not in set(todo)]
        total = len(todo)
        report(Progress("start", total=total, path=s.output))
        for f in result.skipped:
            report(Progress("skip", frame=f, total=total, path=str(self.output.path(f)),
                            key=self.key(f)))
        start = time.perf_counter()
        self.backend.set_threads(self.compute_threads())
        shot = [f for f in self.source.frames if f >= self.shot_start]
        prefetch = Prefetcher(preroll_plan(todo, shot, self.engine.window), self._load_stamped)
        writer = BackgroundWriter()

        def written(frame: int, loaded: Loaded, matte: FrameResult) -> None:
            # Runs in the writer thread, in frame order: a "frame" event means the file is
            # there, complete, for a host to load.
            key = self.key(frame)
            self._write(frame, loaded, matte, key)
            result.written.append(frame)
            done = len(result.written)
            elapsed = time.perf_counter() - start
            fps = done / elapsed if elapsed > 0 else 0.0
            report(Progress("frame", frame=frame, done=done, total=total, fps=fps,
                            eta_s=(total - done) / fps if fps else None,
                            path=str(self.output.path(frame)), key=key))

        try:
            for frame in todo:
                if cancel is not None and cancel.is_set():
                    result.cancelled = True
                    break
                matte = self.engine.matte(frame, prefetch.network)
                loaded = prefetch.get(frame)
                if frame in on_sheet:
                    sheet.append((loaded.network, matte.fgr, matte.pha))
                writer.submit(lambda f=frame, p=loaded, m=matte: written(f, p, m))
                prefetch.release_before(frame - self.engine.window)
        finally:
            prefetch.stop()
            writer.close()
        result.seconds = time.perf_counter() - start
        if sheet and s.preview:
            write_contact_sheet(Path(s.preview), sheet, title=Path(s.input).name)
        report(Progress("cancelled" if result.cancelled else "done", done=len(result.written),
                        total=total, fps=len(result.written) / max(result.seconds, 1e-9)))
        return result

    def close(self) -> None:
        self.source.close()


def render(settings: RenderSettings, progress: Callable[[Progress], None] | None = None,
           cancel: threading.Event | None = None) -> RenderResult:
    renderer = Renderer(settings)
    try:
        return renderer.run(progress, cancel)
    finally:
        renderer.close()
