"""Fault injection, damaged files: every damaged or fuzzed EXR the tests carry is read in a
child process with a timeout per file; each must give a plate or a PlateError naming the
file, never a crash, a hang or another exception.

The files are read in batches (one process starting OpenImageIO costs more than reading all
of them), but each file is judged on its own: the child announces a file before reading it, so
a crash or hang is pinned on that file and the batch goes on in a fresh child after it.
"""
from __future__ import annotations

import json
import queue
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

EXR = Path(__file__).parent / "data" / "exr"
DAMAGED = sorted((EXR / "damaged").glob("*.exr")) + sorted((EXR / "damaged-extra").glob("*.exr"))

READER = """
import json, sys
from memmatte.io import PlateError, read_image
for path in sys.argv[1:]:
    print(json.dumps({"begin": path}), flush=True)
    try:
        plate = read_image(path)
        ok = plate.pixels.shape[:2] == plate.data_window.shape and plate.pixels.dtype == "float32"
        print(json.dumps({"path": path, "ok": True, "shape_ok": bool(ok)}), flush=True)
    except PlateError as exc:
        print(json.dumps({"path": path, "ok": False, "error": str(exc)}), flush=True)
"""


@dataclass
class Outcome:
    results: dict[str, dict] = field(default_factory=dict)  # path -> the child's answer
    problems: dict[str, str] = field(default_factory=dict)  # path -> crash / hang / raise


def _lines(stream, sink: queue.Queue) -> None:
    for line in stream:
        sink.put(line)
    sink.put(None)


def read_all(paths: list[Path], per_file: float = 20.0, script: str = READER,
             startup: float = 60.0) -> Outcome:
    """Read ``paths`` in children running ``script``; a file whose read crashes the child,
    raises something else or takes over ``per_file`` seconds is a problem of that file."""
    outcome = Outcome()
    todo = [str(p) for p in paths]
    while todo:
        child = subprocess.Popen([sys.executable, "-c", script, *todo], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=_lines, args=(child.stdout, lines), daemon=True).start()
        current, deadline = None, time.monotonic() + startup
        while True:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                child.kill()
                child.wait()
                if current is None:
                    pytest.fail(f"the reader did not start within {startup} s")
                outcome.problems[current] = f"hung (no answer within {per_file} s)"
                break
            if line is None:  # the child ended
                code = child.wait()
                if current is not None:
                    tail = child.stderr.read()[-600:]
                    outcome.problems[current] = f"exit {code} while reading it: {tail}"
                elif code != 0:
                    pytest.fail(f"the reader failed (exit {code}): {child.stderr.read()}")
                break
            message = json.loads(line)
            if "begin" in message:
                current, deadline = message["begin"], time.monotonic() + per_file
            else:
                assert message["path"] == current, (message, current)
                outcome.results[current], current = message, None
        if child.stdout:
            child.stdout.close()
        if child.stderr:
            child.stderr.close()
        done = set(outcome.results) | set(outcome.problems)
        todo = [p for p in todo if p not in done]
    return outcome


def test_the_damaged_set_is_all_there() -> None:
    # 15 files read one process each by test_io; 155 more read in batches here (every file
    # of OpenEXR's Damaged/ under 64 KB; the 15 larger ones, 14 MB, are left out).
    assert len(DAMAGED) == 170
    assert len({p.name for p in DAMAGED}) == 170


def test_every_damaged_exr_fails_cleanly_or_reads(tmp_path: Path) -> None:
    # Also without the extension, as upstream stores them: OpenImageIO then probes every
    # reader it has, not only OpenEXR's.
    bare = []
    for path in DAMAGED:
        copy = tmp_path / path.stem
        shutil.copyfile(path, copy)
        bare.append(copy)
    started = time.perf_counter()
    outcome = read_all(DAMAGED + bare)
    seconds = time.perf_counter() - started
    assert not outcome.problems, "\n".join(f"{Path(p).name}: {why}"
                                           for p, why in outcome.problems.items())
    assert len(outcome.results) == 2 * len(DAMAGED)
    for path, result in outcome.results.items():
        if result["ok"]:
            assert result["shape_ok"], path
        else:
            assert path in result["error"], result["error"]  # the message names the file
    failed = sum(not r["ok"] for r in outcome.results.values())
    assert failed >= 2 * len(DAMAGED) - 4, f"only {failed} refused"  # nearly all are broken
    assert seconds < 60, f"reading the damaged set took {seconds:.0f} s"


# The harness must be able to fail: a child that crashes, hangs or raises on one file.
FAULTY = """
import json, os, signal, sys, time
for path in sys.argv[1:]:
    print(json.dumps({"begin": path}), flush=True)
    if path.endswith("crash"):
        os.kill(os.getpid(), signal.SIGSEGV)
    if path.endswith("hang"):
        time.sleep(60)
    if path.endswith("raise"):
        raise RuntimeError("not a PlateError")
    print(json.dumps({"path": path, "ok": False, "error": path}), flush=True)
"""


def test_the_harness_pins_crashes_hangs_and_other_errors_on_their_file() -> None:
    names = ["a", "b.crash", "c", "d.hang", "e", "f.raise", "g"]
    outcome = read_all([Path(n) for n in names], per_file=2.0, script=FAULTY)
    assert sorted(outcome.results) == ["a", "c", "e", "g"]
    assert sorted(outcome.problems) == ["b.crash", "d.hang", "f.raise"]
    assert "exit -11" in outcome.problems["b.crash"]
    assert "hung" in outcome.problems["d.hang"]
    assert "RuntimeError" in outcome.problems["f.raise"]
