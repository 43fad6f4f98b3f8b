"""One render: read -> colour -> engine -> foreground -> write, over a frame range.

Resumable (``resume`` keeps frames already written: every write is atomic, so a file that
exists is complete), cancellable between frames, and chunkable: a chunk reads its two frames
of pre-roll and gives the same pixels as one sequential run (DESIGN invariants 1, 4, 5).
"""
from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..contact_sheet import sheet_indices, write_contact_sheet
from ..color import ColorTransform, check_colorspace, network_space, premultiplied_foreground
from ..color import resolve_config
from ..engine import Engine, FrameResult
from ..engine.factory import BACKENDS, make_backend
from ..io import EXR_COMPRESSIONS, FramePattern, PlateError, write_image
from .prefetch import Loaded, Prefetcher
from .settings import RenderSettings, SettingsError
from .source import Source, open_source, select_frames
from .writer import BackgroundWriter

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


def check_options(s: RenderSettings) -> None:
    """Refuse settings that would only fail at the first write, before any work."""
    if s.backend not in BACKENDS:
        raise SettingsError(f"--backend {s.backend!r} is not available; valid: "
                            f"{', '.join(BACKENDS)}")
    if s.compression.split(":", 1)[0] not in EXR_COMPRESSIONS:
        raise PlateError(f"--compression {s.compression!r} is not an EXR compression; valid: "
                         f"{', '.join(EXR_COMPRESSIONS)}")
    if s.threads is not None and s.threads < 1:
        raise SettingsError(f"--threads must be at least 1, got {s.threads}")


class Renderer:
    """Set up once (config, processors, weights, engine), then ``run()``."""

    def __init__(self, settings: RenderSettings) -> None:
        self.settings = s = settings
        check_options(s)
        self.source: Source = open_source(s.input, s.layer)
        try:
            self.frames = select_frames(self.source, s.frames)
            self.output = self._output_pattern(s.output, "-o/--output")
            self.alpha_output = (self._output_pattern(s.alpha_out, "--alpha-out")
                                 if s.alpha_out else None)
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
            self.backend = make_backend(s.backend, s.weights, s.device, s.memory)
            self.engine = Engine(self.backend, downsample_ratio=s.downsample_ratio,
                                 first_frame=self.source.first_frame, detect_cuts=s.detect_cuts)
            self.metadata = self._metadata()
        except BaseException:
            self.source.close()
            raise

    def _output_pattern(self, text: str, option: str) -> FramePattern:
        pattern = FramePattern.parse(text)
        if pattern.is_single and len(self.frames) > 1:
            raise PlateError(f"{option} {text}: {len(self.frames)} frames need a frame pattern "
                             "in the name (####, %04d, @@@@ or $F4)")
        return pattern

    def _outputs(self) -> list[FramePattern]:
        return [self.output] + ([self.alpha_output] if self.alpha_output else [])

    def _done(self, frame: int) -> bool:
        return all(o.path(frame).is_file() for o in self._outputs())

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
                "memmatte:settings": json.dumps(recorded, sort_keys=True)}

    def _write(self, frame: int, loaded: Loaded, result: FrameResult) -> None:
        s = self.settings
        # Alpha as the file will hold it: 0.99998 becomes half 1.0, and where the written
        # alpha is 1 the colour must be the plate's, exactly.
        pha = result.pha.astype(np.float16).astype(np.float32) if s.half else result.pha
        plate = loaded.plate
        fgr = premultiplied_foreground(loaded.rgb, result.fgr, pha, self.transform.from_network)
        rgba = np.concatenate([fgr, pha[..., None]], axis=2).astype(np.float32)
        meta = self.metadata
        write_image(self.output.path(frame), rgba, ("R", "G", "B", "A"), like=plate,
                    half=s.half, compression=s.compression, metadata=meta)
        if self.alpha_output is not None:
            write_image(self.alpha_output.path(frame), pha[..., None], ("A",),
                        like=plate, half=s.half, compression=s.compression, metadata=meta)

    def remove_stale_temporaries(self, frames: list[int]) -> list[Path]:
        """Temporary files a killed run left beside the outputs of ``frames``. Final names
        are never partial (temporary name, then rename), so only these can be."""
        removed = []
        for pattern in self._outputs():
            paths = [pattern.path(f) for f in frames]
            if not paths or not paths[0].parent.is_dir():
                continue
            # atomic_path names them ".<stem>.<random>.tmp<suffix>".
            owners = {f".{p.stem}." for p in paths}
            for entry in paths[0].parent.iterdir():
                name = entry.name
                if ".tmp" in name and name[: name.rfind(".", 0, name.rfind(".tmp")) + 1] in owners:
                    entry.unlink(missing_ok=True)
                    removed.append(entry)
        return removed

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

    def run(self, progress: Callable[[Progress], None] | None = None,
            cancel: threading.Event | None = None) -> RenderResult:
        report = progress or (lambda p: None)
        s = self.settings
        result = RenderResult()
        todo = self.todo()
        self.remove_stale_temporaries(todo)
        on_sheet = {todo[i] for i in sheet_indices(len(todo), 8)} if s.preview else set()
        sheet: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        result.skipped = [f for f in self.frames if f not in set(todo)]
        total = len(todo)
        report(Progress("start", total=total, path=s.output))
        for f in result.skipped:
            report(Progress("skip", frame=f, total=total))
        start = time.perf_counter()
        self.backend.set_threads(self.compute_threads())
        prefetch = Prefetcher(preroll_plan(todo, self.source.frames, self.engine.window),
                              self._load)
        writer = BackgroundWriter()

        def written(frame: int, loaded: Loaded, matte: FrameResult) -> None:
            # Runs in the writer thread, in frame order: a "frame" event means the file is
            # there, complete, for a host to load.
            self._write(frame, loaded, matte)
            result.written.append(frame)
            done = len(result.written)
            elapsed = time.perf_counter() - start
            fps = done / elapsed if elapsed > 0 else 0.0
            report(Progress("frame", frame=frame, done=done, total=total, fps=fps,
                            eta_s=(total - done) / fps if fps else None,
                            path=str(self.output.path(frame))))

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
