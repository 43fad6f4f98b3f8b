"""OpenJD job bundles run for real by ``openjd`` (openjd-cli, the local OpenJD runtime): every
chunk of the bundled real plate, in shuffled order, gives the bytes of one sequential
``memmatte render``; a chunk cancelled mid-way and rerun changes nothing; a chunk touches only
its own frames. The outputs go to a studio path that OpenJD path mapping moves onto tmp."""
from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from .farm_shot import (CHUNK_SIZE, CHUNKS, FRAMES, exr_bytes, file_states, render_sequentially,
                        write_queue)

OPENJD = str(Path(sys.executable).with_name("openjd"))
STUDIO = "/mnt/memmatte-studio"  # what the bundle names; mapped per test onto a tmp folder


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    return exr_bytes(render_sequentially(tmp_path_factory.mktemp("sequential")))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bundles")
    shots = write_queue(folder / "shots.toml", f"{STUDIO}/mattes/m.####.exr")
    subprocess.run([sys.executable, "-m", "memmatte", "farm", "openjd", str(shots), "-o",
                    str(folder), "--chunk-size", str(CHUNK_SIZE), "--python", sys.executable],
                   check=True, timeout=120)
    return folder / "bedroom"


def openjd_args(bundle: Path, studio: Path, **override: str) -> list[str]:
    """The job parameters from parameter_values.yaml (as ``deadline bundle submit`` sends
    them), and path mapping of the studio root onto ``studio``."""
    values = yaml.safe_load((bundle / "parameter_values.yaml").read_text())["parameterValues"]
    params = {v["name"]: v["value"] for v in values} | override
    rules = studio / "path_mapping.json"
    rules.write_text(json.dumps({"version": "pathmapping-1.0", "path_mapping_rules": [
        {"source_path_format": "POSIX", "source_path": STUDIO,
         "destination_path": str(studio)}]}))
    args = [arg for k, v in params.items() for arg in ("-p", f"{k}={v}")]
    return args + ["--path-mapping-rules", f"file://{rules}"]


def run_chunk(bundle: Path, studio: Path, chunk: str, **override: str
              ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([OPENJD, "run", str(bundle / "template.yaml"), "--step", "Matte",
                           "--task-param", f"Frames={chunk}",
                           *openjd_args(bundle, studio, **override)],
                          capture_output=True, text=True, timeout=300)


def names(frames) -> set[str]:
    return {f"m.{f}.exr" for f in frames}


def chunk_frames(chunk: str) -> list[int]:
    first, last = map(int, chunk.split("-"))
    return list(range(first, last + 1))


def test_openjd_check_accepts_the_bundle(bundle: Path) -> None:
    done = subprocess.run([OPENJD, "check", str(bundle / "template.yaml")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "passes validation" in done.stdout
    template = yaml.safe_load((bundle / "template.yaml").read_text())
    assert [s["name"] for s in template["steps"]] == ["Matte", "ContactSheet"]
    space = template["steps"][0]["parameterSpace"]["taskParameterDefinitions"]
    assert space == [{"name": "Frames", "type": "STRING", "range": CHUNKS}]
    kinds = {p["name"]: (p["type"], p.get("dataFlow")) for p in template["parameterDefinitions"]}
    assert kinds["PlateDir"] == ("PATH", "IN") and kinds["OutputDir"] == ("PATH", "OUT")
    assert {"Python", "Backend", "Device", "LogDir", "SheetFile"} <= set(kinds)


def test_shuffled_chunks_give_the_bytes_of_one_sequential_render(
        bundle: Path, reference: dict[str, bytes], tmp_path: Path) -> None:
    out = tmp_path / "mattes"
    order = list(CHUNKS)
    random.Random(14).shuffle(order)
    assert order != CHUNKS
    for chunk in order:
        before = file_states(out) if out.is_dir() else {}
        done = run_chunk(bundle, tmp_path, chunk)
        assert done.returncode == 0, done.stdout[-3000:]
        after = file_states(out)
        changed = {n for n in after if before.get(n) != after[n]} | (set(before) - set(after))
        assert changed == names(chunk_frames(chunk)), f"chunk {chunk} touched {changed}"
        log = [json.loads(line) for line in
               (out / "logs" / f"chunk-{chunk}.jsonl").read_text().splitlines()]
        assert log[-1]["event"] == "done" and log[-1]["done"] == len(chunk_frames(chunk))
    assert exr_bytes(out) == reference
    assert set(reference) == names(FRAMES)

    sheet = subprocess.run([OPENJD, "run", str(bundle / "template.yaml"), "--step",
                            "ContactSheet", "--no-run-dependencies",
                            *openjd_args(bundle, tmp_path)],
                           capture_output=True, text=True, timeout=300)
    assert sheet.returncode == 0, sheet.stdout[-3000:]
    from PIL import Image

    with Image.open(out / "bedroom_contact_sheet.png") as im:  # 8 rows of 320x180 panels
        assert im.size == (960, 18 + 8 * 180)


def test_a_chunk_cancelled_mid_way_and_rerun_changes_nothing(
        bundle: Path, reference: dict[str, bytes], tmp_path: Path) -> None:
    out = tmp_path / "mattes"
    out.mkdir()
    for name in names(FRAMES) - names(range(1005, 1009)):  # the other chunks are done
        (out / name).write_bytes(reference[name])
    (out / ".m.1004.other.tmp.exr").write_bytes(b"another chunk's write in progress")
    (out / ".m.1006.stale.tmp.exr").write_bytes(b"left by a killed try of this chunk")
    others = file_states(out)
    proc = subprocess.Popen([OPENJD, "run", str(bundle / "template.yaml"), "--step", "Matte",
                             "--task-param", "Frames=1005-1008",
                             *openjd_args(bundle, tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    limit = time.monotonic() + 120
    while not (out / "m.1006.exr").exists() and proc.poll() is None:
        assert time.monotonic() < limit, "the chunk wrote no frame in 2 minutes"
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)  # openjd cancels the session: the render is killed
    output, _ = proc.communicate(timeout=120)
    assert "exited with code: -9" in output, output[-3000:]
    assert not (out / "m.1008.exr").exists(), "the chunk finished before it was cancelled"
    kept = file_states(out)

    done = run_chunk(bundle, tmp_path, "1005-1008")
    assert done.returncode == 0, done.stdout[-3000:]
    assert exr_bytes(out) == reference
    after = file_states(out)
    untouched = {n: s for n, s in others.items() if n != ".m.1006.stale.tmp.exr"}
    assert {n: after[n] for n in untouched} == untouched  # nothing outside 1005-1008 changed
    assert ".m.1006.stale.tmp.exr" not in after
    resumed = [n for n in names(range(1005, 1009)) if n in kept]
    assert resumed and all(after[n] == kept[n] for n in resumed)  # kept, not rendered again
    events = [json.loads(line)["event"] for line in
              (out / "logs" / "chunk-1005-1008.jsonl").read_text().splitlines()]
    assert events.count("skip") >= len(resumed)


def test_a_bad_chunk_exits_2_and_names_what_is_wrong(bundle: Path, tmp_path: Path) -> None:
    empty = tmp_path / "no_plates"
    empty.mkdir()
    done = run_chunk(bundle, tmp_path, "1001-1004", PlateDir=str(empty))
    assert done.returncode != 0
    assert "exited with code: 2" in done.stdout, done.stdout[-3000:]
    assert f"{empty}/bedroom.####.exr" in done.stdout  # the render's message names the files
