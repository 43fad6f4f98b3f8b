"""The same shot as an OpenCue job: pyoutline builds the outline and serialises the spec that
cuerun submits (no Cuebot needed), with the OpenJD bundle's chunks; then pyoutline's own
``pycuerun -e <frame>-<layer>``, what RQD runs on a render node, renders every chunk in
shuffled order and the files are the bytes of one sequential render."""
from __future__ import annotations

import random
import subprocess
import sys
import xml.etree.ElementTree as Et
from pathlib import Path

import pytest

from .farm_shot import CHUNK_SIZE, CHUNKS, exr_bytes, render_sequentially, write_queue

PYCUERUN = str(Path(sys.executable).with_name("pycuerun"))


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    folder = tmp_path_factory.mktemp("opencue")
    shots = write_queue(folder / "shots.toml", str(folder / "mattes" / "m.####.exr"))
    subprocess.run([sys.executable, "-m", "memmatte", "farm", "opencue", str(shots), "-o",
                    str(folder / "jobs"), "--chunk-size", str(CHUNK_SIZE), "--python",
                    sys.executable, "--show", "memmatte"], check=True, timeout=120)
    [outline_file] = (folder / "jobs" / "sessions").glob("*/*/outline.yaml")
    return folder / "jobs" / "bedroom.cuejob.xml", outline_file, folder / "mattes"


def test_the_spec_has_a_chunked_layer_and_a_sheet_after_it(job: tuple[Path, Path, Path]
                                                           ) -> None:
    spec_path, outline_file, _ = job
    spec = Et.fromstring(spec_path.read_text().split("?>", 1)[1].split(">", 1)[1])
    assert spec.findtext("show") == "memmatte" and spec.findtext("shot") == "bedroom"
    layers = {layer.get("name"): layer for layer in spec.iter("layer")}
    assert set(layers) == {"matte", "sheet"}
    assert layers["matte"].findtext("range") == "1001-1010"
    assert layers["matte"].findtext("chunk") == str(CHUNK_SIZE)
    assert f"{outline_file} -e #IFRAME#-matte" in layers["matte"].findtext("cmd")
    [depend] = spec.iter("depend")
    assert (depend.findtext("deplayer"), depend.findtext("onlayer")) == ("sheet", "matte")


def test_pyoutline_cuts_the_chunks_the_openjd_bundle_lists(job: tuple[Path, Path, Path]
                                                           ) -> None:
    from outline import load_outline

    from memmatte.farm.chunks import frames_text

    layer = load_outline(str(job[1])).get_layer("matte")
    starts = [int(c.split("-")[0]) for c in CHUNKS]  # Cuebot dispatches each chunk's first
    assert [frames_text(list(layer.get_local_frame_set(s))) for s in starts] == CHUNKS


def test_pycuerun_renders_shuffled_chunks_to_the_sequential_bytes(
        job: tuple[Path, Path, Path], tmp_path: Path) -> None:
    _, outline_file, out = job
    reference = exr_bytes(render_sequentially(tmp_path / "sequential"))
    order = [int(c.split("-")[0]) for c in CHUNKS]
    random.Random(7).shuffle(order)
    for start in order:
        done = subprocess.run([PYCUERUN, str(outline_file), "-e", f"{start}-matte"],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
    assert exr_bytes(out) == reference
    sheet = subprocess.run([PYCUERUN, str(outline_file), "-e", "1000-sheet"],
                           capture_output=True, text=True, timeout=300)
    assert sheet.returncode == 0, sheet.stderr[-3000:]
    assert (out / "bedroom_contact_sheet.png").is_file()


def test_a_bad_chunk_passes_the_render_exit_code_through(tmp_path: Path) -> None:
    shots = write_queue(tmp_path / "shots.toml", str(tmp_path / "m.####.exr"),
                        colorspace="no such space")
    subprocess.run([sys.executable, "-m", "memmatte", "farm", "opencue", str(shots), "-o",
                    str(tmp_path / "jobs"), "--python", sys.executable], check=True, timeout=120)
    [outline_file] = (tmp_path / "jobs" / "sessions").glob("*/*/outline.yaml")
    done = subprocess.run([PYCUERUN, str(outline_file), "-e", "1001-matte"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr[-3000:]  # a bad job: retrying will not help
    assert "no such space" in done.stderr
