"""Fault injection: a render never loses a plate and never leaves a half-written file.

- killed with SIGKILL at random points (during setup, while a file is half-written, between
  a frame's two outputs, at a random moment) and resumed each time: the files end
  byte-identical to an uninterrupted run, and no temporary is left behind;
- disk full (a small tmpfs): the error says "no space left" with the file, exits 1 (failed,
  not bad input), only complete files stay, and after freeing space ``--resume`` finishes;
- read-only file system and permission denied: said as such, exit 1;
- an output that is an input frame (however spelled) is refused before any work, and the
  input's bytes stay as they were;
- a pickle given as weights is never unpickled;
- atomic writes fsync the file before the rename and the folder after it.

Mounting needs root (or CAP_SYS_ADMIN); where it is impossible those tests skip and say so.
``MEMMATTE_FAULT_SEED`` replays the kill points of a run (each failure message names its seed).
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import pickle
import queue
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from memmatte.cli import main
from memmatte.io import write_image
from memmatte.pipeline import RenderSettings, render
from memmatte.protocol import errors

from .plates import DEMO_PLATE

PLATE = str(DEMO_PLATE / "bedroom.####.exr")  # 10 frames, 480x270, about 100 KB a frame
FRAMES = list(range(1001, 1011))
BASE = {"device": "cpu", "ocio": "ocio://default"}
SEED = int(os.environ.get("MEMMATTE_FAULT_SEED", random.randrange(2 ** 32)))


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted render of the bundled plate: m.####.exr (RGBA) and a.####.exr."""
    folder = tmp_path_factory.mktemp("reference")
    render(RenderSettings(input=PLATE, output=str(folder / "m.####.exr"),
                          alpha_out=str(folder / "a.####.exr"), **BASE))
    return folder


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name) if folder.is_dir() \
        else []


def finals(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp" not in p.name) \
        if folder.is_dir() else []


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def memmatte(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "memmatte", *args], capture_output=True,
                          text=True, timeout=300, **kw)


# --- SIGKILL at random points, then resume ---------------------------------------------------

class Worker:
    """A job-mode worker whose events are read in a thread (so the test can poll files)."""

    def __init__(self, job: dict, folder: Path) -> None:
        path = folder / "job.json"
        path.write_text(json.dumps(job))
        self.proc = subprocess.Popen([sys.executable, "-m", "memmatte.worker", str(path)],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True)
        self.events: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.events.put(json.loads(line))
        self.events.put(None)

    def wait_event(self, kind: str, limit: float = 120) -> bool:
        end = time.monotonic() + limit
        while time.monotonic() < end:
            try:
                event = self.events.get(timeout=0.5)
            except queue.Empty:
                continue
            if event is None:
                return False
            if event["event"] == kind:
                return True
        raise AssertionError(f"no {kind} event in {limit} s")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> bool:
        """SIGKILL; True if it was still running (the kill landed)."""
        landed = self.alive()
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        self.proc.wait(timeout=60)
        return landed


def freeze_when(worker: Worker, seen, limit: float = 120) -> bool:
    """Poll until ``seen()`` holds, stop the worker (SIGSTOP) and check it still holds: then
    the kill lands exactly in that state. False if the worker ended first."""
    end = time.monotonic() + limit
    while time.monotonic() < end and worker.alive():
        if seen():
            worker.proc.send_signal(signal.SIGSTOP)
            if seen():
                return True
            worker.proc.send_signal(signal.SIGCONT)
        time.sleep(0.001)
    return False


def kill_during_setup(worker: Worker, out: Path, rng: random.Random) -> str:
    worker.wait_event("accepted")
    delay = rng.uniform(0.0, 2.0)  # loading torch, OCIO, the weights
    time.sleep(delay)
    return f"setup +{delay:.2f}s"


def kill_mid_write(worker: Worker, out: Path, rng: random.Random) -> str:
    ok = freeze_when(worker, lambda: bool(temporaries(out)))
    return f"mid-write ({', '.join(temporaries(out)) if ok else 'no temporary caught'})"


def kill_between_outputs(worker: Worker, out: Path, rng: random.Random) -> str:
    def rgba_without_alpha() -> bool:
        names = set(finals(out))
        return any(f"m.{f}.exr" in names and f"a.{f}.exr" not in names for f in FRAMES)
    ok = freeze_when(worker, rgba_without_alpha)
    return "between m and a of a frame" if ok else "between outputs: not caught"


def kill_at_random(worker: Worker, out: Path, rng: random.Random) -> str:
    # Counted in frames, not seconds, so it lands mid-render on a fast machine too.
    worker.wait_event("start")
    left = len([f for f in FRAMES if f"a.{f}.exr" not in finals(out)])
    frames = rng.randrange(max(1, left))
    for _ in range(frames):
        worker.wait_event("frame")
    delay = rng.uniform(0.0, 0.1)
    time.sleep(delay)
    return f"random: {frames} frames +{delay:.2f}s after start"


def test_sigkill_at_random_points_then_resume_gives_identical_files(
        tmp_path: Path, reference: Path) -> None:
    rng = random.Random(SEED)
    out = tmp_path / "run"
    job = {"input": PLATE, "output": str(out / "m.####.exr"),
           "alpha_out": str(out / "a.####.exr"), "resume": True, **BASE}
    points = [kill_during_setup, kill_mid_write, kill_between_outputs, kill_at_random,
              kill_at_random]
    rng.shuffle(points)
    expected = digests(reference)
    log = []
    for point in points:
        worker = Worker(job, tmp_path)
        what = point(worker, out, rng)
        landed = worker.kill()
        left = temporaries(out)
        log.append(f"{what}: {'killed' if landed else 'had finished'}, "
                   f"{len(finals(out))} files, temporaries {left}")
        where = f"seed {SEED}: " + "; ".join(log)
        # What a kill leaves under a final name is complete: the reference's very bytes.
        for name in finals(out):
            assert digests(out)[name] == expected[name], f"{name} differs after a kill ({where})"
    where = f"seed {SEED}: " + "; ".join(log)
    assert sum("killed" in line for line in log) >= 4, where
    assert any("mid-write (.m." in line or "mid-write (.a." in line for line in log), where
    finished = Worker(job, tmp_path)
    assert finished.proc.wait(timeout=300) == 0, where
    assert finals(out) == sorted(expected), where
    assert temporaries(out) == [], f"temporaries left behind ({where})"
    assert digests(out) == expected, where
    print(where)  # the kill points of this run (pytest -s shows them)


# --- the disk, the file system and permissions ------------------------------------------------

@contextlib.contextmanager
def tmpfs(folder: Path, size: str, read_only: bool = False) -> Iterator[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if read_only else "")
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                           capture_output=True, text=True)
    if mount.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): "
                    f"{mount.stderr.strip() or mount.returncode}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def test_disk_full_says_so_exits_failed_keeps_complete_files_and_resumes(
        tmp_path: Path, reference: Path) -> None:
    with tmpfs(tmp_path / "small", "300k") as disk:
        out = disk / "m.####.exr"
        full = memmatte("render", PLATE, "-o", str(out), "--quiet", "--device", "cpu",
                        "--ocio", "ocio://default")
        assert full.returncode == 1, full.stderr  # failed (retry), not bad input (2)
        written = finals(disk)
        assert 0 < len(written) < 10, written
        failed = disk / f"m.{1001 + len(written)}.exr"
        assert f"{failed}: cannot write: no space left on the device (ENOSPC)" in full.stderr
        assert "--resume" in full.stderr  # what helps
        assert temporaries(disk) == []
        for name in written:  # complete files only
            assert (disk / name).read_bytes() == (reference / name).read_bytes(), name
        # Free space (a bigger disk), resume: the rest, identical to one run.
        subprocess.run(["mount", "-o", "remount,size=4m", str(disk)], check=True)
        again = memmatte("render", PLATE, "-o", str(out), "--quiet", "--resume", "--device",
                         "cpu", "--ocio", "ocio://default")
        assert again.returncode == 0, again.stderr
        assert f"kept {len(written)} already written" in again.stdout
        assert finals(disk) == [f"m.{f}.exr" for f in FRAMES]
        for name in finals(disk):
            assert (disk / name).read_bytes() == (reference / name).read_bytes(), name


def test_read_only_file_system_is_named_as_such_by_the_worker(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "ro", "1m", read_only=True) as disk:
        job = tmp_path / "job.json"
        job.write_text(json.dumps({"input": PLATE, "output": str(disk / "m.####.exr"),
                                   "frames": "1001-1002", **BASE}))
        run = subprocess.run([sys.executable, "-m", "memmatte.worker", str(job)],
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 1, run.stderr
        events = [json.loads(line) for line in run.stdout.splitlines()]
        error = next(e for e in events if e["event"] == "error")
        assert error["code"] == errors.SYSTEM
        assert error["path"] == str(disk / "m.1001.exr")
        assert "read-only file system (EROFS)" in error["message"]
        assert os.listdir(disk) == []


def test_permission_denied_is_named_as_such(tmp_path: Path) -> None:
    closed = tmp_path / "closed"
    closed.mkdir()
    os.chmod(closed, 0o555)
    prefix: list[str] = []
    if os.geteuid() == 0:
        # Root writes anywhere: run the render as root without the capabilities that
        # override file permissions, so the folder's mode applies as to any user.
        if shutil.which("setpriv") is None:
            pytest.skip("running as root and setpriv (util-linux) is missing: cannot drop "
                        "CAP_DAC_OVERRIDE to meet a permission error")
        prefix = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]
    run = subprocess.run([*prefix, sys.executable, "-m", "memmatte", "render", PLATE, "-o",
                          str(closed / "m.####.exr"), "--frames", "1001-1002", "--quiet",
                          "--device", "cpu", "--ocio", "ocio://default"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stderr
    assert f"{closed / 'm.1001.exr'}: cannot write: permission denied (EACCES)" in run.stderr
    assert os.listdir(closed) == []


def test_os_errors_map_to_failed_with_words_and_path() -> None:
    for number, words in ((errno.ENOSPC, "no space left on the device (ENOSPC)"),
                          (errno.EACCES, "permission denied (EACCES)"),
                          (errno.EROFS, "read-only file system (EROFS)"),
                          (errno.EIO, "input/output error (EIO)")):
        err = errors.from_os_error(OSError(number, os.strerror(number)), "cannot write",
                                   "/shots/m.1001.exr")
        assert str(err).startswith(f"/shots/m.1001.exr: cannot write: {words}")
        assert err.code == errors.SYSTEM and err.errno == number
        assert err.code not in errors.BAD_INPUT_CODES  # exit 1, not 2


def test_atomic_writes_fsync_the_file_before_the_rename_and_the_folder_after(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []
    fsync, replace = os.fsync, os.replace

    def recording_fsync(fd: int) -> None:
        calls.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        fsync(fd)

    def recording_replace(src, dst) -> None:
        calls.append(("replace", f"{src} -> {dst}"))
        replace(src, dst)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    monkeypatch.setattr(os, "replace", recording_replace)
    final = tmp_path / "m.1001.exr"
    write_image(final, np.zeros((4, 6, 4), np.float32), ("R", "G", "B", "A"))
    assert [kind for kind, _ in calls] == ["fsync", "replace", "fsync"], calls
    tmp = calls[0][1]
    assert Path(tmp).parent == tmp_path and Path(tmp).name.startswith(".m.1001.")
    assert calls[1][1] == f"{tmp} -> {final}"
    assert calls[2][1] == str(tmp_path)  # the folder, after the rename


# --- an output that is an input ---------------------------------------------------------------

@pytest.fixture()
def plate_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "plate"
    folder.mkdir()
    for frame in (1001, 1002, 1003):
        shutil.copy2(DEMO_PLATE / f"bedroom.{frame}.exr", folder / f"bedroom.{frame}.exr")
    return folder


def test_output_equal_to_input_is_refused_before_any_work(tmp_path: Path,
                                                          plate_folder: Path) -> None:
    before = digests(plate_folder)
    pattern = str(plate_folder / "bedroom.####.exr")
    run = memmatte("render", pattern, "-o", pattern, "--device", "cpu", "--ocio",
                   "ocio://default")
    assert run.returncode == 2, run.stderr  # bad input: do not retry
    first = plate_folder / "bedroom.1001.exr"
    assert f"{first} (frame 1001): output (--output) would write over the input file {first}" \
        in run.stderr
    assert digests(plate_folder) == before  # same bytes, no new file, no temporary
    # The worker refuses it before loading a runtime or weights.
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"input": pattern, "output": pattern, **BASE}))
    worker = subprocess.run([sys.executable, "-m", "memmatte.worker", str(job)],
                            capture_output=True, text=True, timeout=300)
    assert worker.returncode == 2
    events = [json.loads(line) for line in worker.stdout.splitlines()]
    stages = [e.get("stage") for e in events if e["event"] == "setup"]
    assert stages == ["source"], events
    error = next(e for e in events if e["event"] == "error")
    assert error["option"] == "output" and error["frame"] == 1001
    assert digests(plate_folder) == before


def spellings(folder: Path, tmp_path: Path) -> dict[str, list[str]]:
    """Renders that would write over the plate, or one output over the other."""
    (tmp_path / "link").symlink_to(folder, target_is_directory=True)
    os.link(folder / "bedroom.1002.exr", tmp_path / "hard.1002.exr")
    (tmp_path / "one.1003.exr").symlink_to(folder / "bedroom.1003.exr")
    out = str(tmp_path / "out")
    plate = str(folder / "bedroom.####.exr")
    return {
        "printf padding": [plate, "-o", str(folder / "bedroom.%04d.exr")],
        "houdini padding, one frame": [plate, "-o", str(folder / "bedroom.$F4.exr"),
                                       "--frames", "1002"],
        "relative path": ["plate/bedroom.####.exr", "-o", "./plate/../plate/bedroom.@@@@.exr"],
        "symlinked folder": [plate, "-o", str(tmp_path / "link" / "bedroom.####.exr")],
        "hard link": [plate, "-o", str(tmp_path / "hard.####.exr"), "--frames", "1002"],
        "symlinked file": [plate, "-o", str(tmp_path / "one.####.exr"), "--frames", "1003"],
        "alpha over the plate": [plate, "-o", out + "/m.####.exr", "--alpha-out",
                                 str(folder / "bedroom.#.exr")],
        "alpha over the output": [plate, "-o", out + "/m.####.exr", "--alpha-out",
                                  out + "/./m.%04d.exr"],
        "preview over a frame": [plate, "-o", out + "/m.####.exr", "--preview",
                                 str(tmp_path / "link" / "bedroom.1002.exr")],
        "log over a frame": [plate, "-o", out + "/m.####.exr", "--log",
                             str(folder / "bedroom.1001.exr")],
        "single image": [str(folder / "bedroom.1001.exr"), "-o", str(folder / "bedroom.1001.exr")],
    }


def test_every_spelling_of_the_input_as_output_is_refused(
        tmp_path: Path, plate_folder: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    cases = spellings(plate_folder, tmp_path)
    monkeypatch.chdir(tmp_path)
    before = digests(plate_folder)
    around = sorted(os.listdir(tmp_path))
    for name, args in cases.items():
        code = main(["render", *args, "--device", "cpu", "--ocio", "ocio://default"])
        err = capsys.readouterr().err
        assert code == 2, f"{name}: exit {code}: {err}"
        assert "would write over the input file" in err or "is the same file as" in err, name
        assert digests(plate_folder) == before, name
        assert sorted(os.listdir(tmp_path)) == around, f"{name} wrote something"
    # The same plate written elsewhere is fine (dry run: nothing loads, nothing is written).
    assert main(["render", "plate/bedroom.####.exr", "-o", "out/m.####.exr", "--dry-run",
                 "--device", "cpu", "--ocio", "ocio://default"]) == 0


def test_case_insensitive_file_system(tmp_path: Path) -> None:
    image = tmp_path / "ci.img"
    made = subprocess.run(["mkfs.ext4", "-q", "-O", "casefold", "-E", "encoding=utf8",
                           str(image), "8M"], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot make a case-insensitive file system here: {made.stderr.strip()}")
    disk = tmp_path / "ci"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-o", "loop", str(image), str(disk)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a case-insensitive (ext4 casefold) file system here: "
                    f"{mounted.stderr.strip().splitlines()[0]}")
    try:
        folder = disk / "plate"
        folder.mkdir()
        subprocess.run(["chattr", "+F", str(folder)], check=True)
        for frame in (1001, 1002):
            shutil.copy2(DEMO_PLATE / f"bedroom.{frame}.exr", folder / f"bedroom.{frame}.exr")
        before = digests(folder)
        assert main(["render", str(folder / "bedroom.####.exr"), "-o",
                     str(folder / "BEDROOM.####.exr"), "--device", "cpu"]) == 2
        assert main(["render", str(folder / "bedroom.####.exr"), "-o",
                     str(folder / "m.####.exr"), "--alpha-out", str(folder / "M.####.exr"),
                     "--device", "cpu"]) == 2
        assert digests(folder) == before
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


# --- weights that are pickles -----------------------------------------------------------------

class Payload:
    """Unpickling this runs code: it writes the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('unpickled')",))


def test_pickled_truncated_or_random_weights_are_refused_and_never_executed(tmp_path: Path) -> None:
    import torch

    marker = tmp_path / "EXECUTED"
    raw = pickle.dumps({"state_dict": Payload(marker)})
    files = {}
    for name in ("evil.pkl", "evil.safetensors", "evil.onnx"):
        files[name] = tmp_path / name
        files[name].write_bytes(raw)
    files["evil.pth"] = tmp_path / "evil.pth"
    torch.save({"state_dict": Payload(marker)}, files["evil.pth"])  # a torch zip checkpoint
    from memmatte.weights import default_weights_path

    shipped = Path(default_weights_path()).read_bytes()
    files["cut.safetensors"] = tmp_path / "cut.safetensors"
    files["cut.safetensors"].write_bytes(shipped[:len(shipped) // 2])  # truncated
    files["noise.safetensors"] = tmp_path / "noise.safetensors"
    files["noise.safetensors"].write_bytes(np.random.default_rng(0).bytes(65536))
    pickle.loads(raw)  # the payload works: unpickling does write the marker
    assert marker.exists()
    marker.unlink()
    plate = str(DEMO_PLATE / "bedroom.1001.exr")
    commands = [
        ["render", plate, "-o", str(tmp_path / "m.exr"), "--weights", str(files["evil.pth"])],
        ["render", plate, "-o", str(tmp_path / "m.exr"), "--weights", str(files["evil.pkl"])],
        ["render", plate, "-o", str(tmp_path / "m.exr"), "--weights",
         str(files["evil.safetensors"])],
        ["render", plate, "-o", str(tmp_path / "m.exr"), "--backend", "onnx", "--weights",
         str(files["evil.onnx"])],
        ["render", plate, "-o", str(tmp_path / "m.exr"), "--weights",
         str(files["cut.safetensors"])],
        ["render", plate, "-o", str(tmp_path / "m.exr"), "--weights",
         str(files["noise.safetensors"])],
        ["info", str(files["evil.pth"])],
        ["convert", "torchvision", str(files["evil.pth"]), "-o", str(tmp_path / "w.safetensors")],
    ]
    script = ("import json, sys\nfrom memmatte.cli import main\n"
              "print(json.dumps([main(a) for a in json.loads(sys.argv[1])]))")
    run = subprocess.run([sys.executable, "-c", script, json.dumps(commands)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    codes = json.loads(run.stdout.strip().splitlines()[-1])
    assert not marker.exists(), "a weights loader unpickled the file"
    assert codes == [2] * len(commands), (codes, run.stderr)
    lines = [line for line in run.stderr.splitlines() if ": error: " in line]
    assert len(lines) == len(commands), run.stderr
    for line, command in zip(lines, commands, strict=True):
        named = command[command.index("--weights") + 1] if "--weights" in command else \
            command[1 if command[0] == "info" else 2]
        assert named in line, line
    assert not (tmp_path / "m.exr").exists() and not (tmp_path / "w.safetensors").exists()
