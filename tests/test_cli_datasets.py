"""``disbench datasets``: list, show, prepare, download, and one-line errors with exit code 2."""

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fixtures.data_files import DSPRITES_SMALL, SHAPES3D_SMALL, write_dsprites, write_shapes3d
from fixtures.http_server import PayloadServer
from PIL import Image

from disbench import data
from disbench.cli import main
from disbench.data.base import GroundTruthDataset
from disbench.data.dsprites_file import DSpritesFile
from disbench.data.manifest import data_files, manifest_names
from disbench.data.shapes3d import Shapes3D

DSPRITES_FILE = data_files("dsprites")[0].name


@pytest.fixture(autouse=True)
def data_home(tmp_path, monkeypatch):
    home = tmp_path / "data"
    home.mkdir()
    monkeypatch.setenv("DISBENCH_DATA", str(home))
    return home


def run(capsys, *argv):
    code = main(["datasets", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, *fragments):
    """Exit code 2 and the error as the one last line of stderr (a progress bar may precede it)."""
    assert code == 2 and "Traceback" not in err and err.endswith("\n")
    last = err[:-1].split("\n")[-1].split("\r")[-1]
    assert last.startswith("disbench: error: ") and err.count("disbench: error") == 1
    for fragment in fragments:
        assert fragment in last


def test_list_names_factors_and_availability(capsys, data_home):
    code, out, _ = run(capsys, "list")
    assert code == 0
    for name in manifest_names():
        assert name in out
    assert "floor_hue=10, wall_hue=10, object_hue=10, scale=8, shape=4, orientation=15" in out
    assert "run `disbench datasets download shapes3d`" in out
    assert "available: procedural" in out
    (data_home / "3dshapes.h5").write_bytes(b"")
    assert f"available: {data_home / '3dshapes.h5'}" in run(capsys, "list")[1]


def test_show_draws_one_row_per_factor(capsys, tmp_path):
    out_png = tmp_path / "grid.png"
    code, out, _ = run(capsys, "show", "dsprites", "--out", str(out_png), "--columns", "6", "--scale", "1")
    assert code == 0 and "rows = shape, scale, orientation, posX, posY" in out
    img = np.asarray(Image.open(out_png))
    assert img.shape == (5 * 66 + 2, 6 * 66 + 2, 3)
    tiles = [[img[2 + r * 66 : 66 + r * 66, 2 + c * 66 : 66 + c * 66, 0] for c in range(6)] for r in range(5)]
    for r in range(5):  # along every row the factor changes, so neighbouring images differ
        assert not np.array_equal(tiles[r][0], tiles[r][1])
    assert np.all(tiles[0][3] == 128)  # shape has 3 values: the rest of its row is grey


def test_show_colour_variant_is_rgb(capsys, tmp_path):
    out_png = tmp_path / "c.png"
    assert run(capsys, "show", "color_dsprites", "--out", str(out_png), "--columns", "3")[0] == 0
    img = np.asarray(Image.open(out_png)).astype(int)
    assert (np.abs(img[..., 0] - img[..., 1]) > 10).any()  # coloured sprites, not grey


def test_prepare_materialises_the_cache(capsys, monkeypatch, tmp_path, data_home):
    path = write_dsprites(tmp_path / "d.npz")
    monkeypatch.setattr(data, "load", lambda *_, **__: DSpritesFile(path=path, factors_num_values=DSPRITES_SMALL))
    code, out, err = run(capsys, "prepare", "dsprites")
    cache = DSpritesFile(path=path, factors_num_values=DSPRITES_SMALL).cache_path
    assert code == 0 and f"dsprites: ready, {cache}" in out and cache.is_file()
    assert np.load(cache).shape == (int(np.prod(DSPRITES_SMALL)), 64, 8)
    h5 = write_shapes3d(tmp_path / "s.h5")
    monkeypatch.setattr(data, "load", lambda *_, **__: Shapes3D(path=h5, factors_num_values=SHAPES3D_SMALL))
    code, out, _ = run(capsys, "prepare", "shapes3d")
    assert (
        code == 0
        and f"shapes3d: ready, {data_home}" in out
        and len(list(data_home.glob("s.*.images.npy"))) == 1
    )


def test_prepare_without_a_cache(capsys, monkeypatch):
    class NoCache(GroundTruthDataset):
        factors_num_values = (2,)

    monkeypatch.setattr(data, "load", lambda *_, **__: NoCache())
    code, out, _ = run(capsys, "prepare", "dsprites")
    assert code == 0 and "dsprites: nothing to prepare" in out


def test_download_and_checksum_mismatch(capsys, tmp_path, data_home):
    payload = write_dsprites(tmp_path / "d.npz").read_bytes()
    with PayloadServer(payload, DSPRITES_FILE) as server:
        code, _, err = run(capsys, "download", "dsprites", "--url", server.url, "--sha256", "ab" * 32)
        assert_one_line_error(code, err, "does not match", "sha256", "abab")
        assert list(data_home.iterdir()) == []
        code, out, _ = run(
            capsys,
            "download",
            "dsprites",
            "--url",
            server.url,
            "--sha256",
            hashlib.sha256(payload).hexdigest(),
        )
    assert code == 0 and str(data_home / DSPRITES_FILE) in out
    assert (data_home / DSPRITES_FILE).read_bytes() == payload


def test_bad_input_is_one_line_exit_2(capsys, data_home, tmp_path):
    code, _, err = run(capsys, "show", "dsprites3", "--out", str(tmp_path / "x.png"))
    assert_one_line_error(
        code, err, "unknown dataset 'dsprites3'", "valid datasets: cars3d, color_dsprites, dsprites"
    )
    code, _, err = run(capsys, "show", "dsprites", "--source", "file", "--out", str(tmp_path / "x.png"))
    assert_one_line_error(code, err, str(data_home / DSPRITES_FILE), "disbench datasets download dsprites")
    good = write_dsprites(tmp_path / "d.npz").read_bytes()
    (data_home / DSPRITES_FILE).write_bytes(good[: len(good) // 3])
    code, _, err = run(capsys, "prepare", "dsprites", "--source", "auto")
    assert_one_line_error(code, err, "truncated", "re-download it with `disbench datasets download dsprites`")
    code, _, err = run(capsys, "show", "shapes3d", "--out", str(tmp_path / "x.png"))
    assert_one_line_error(code, err, "3dshapes.h5 not found", "disbench datasets download shapes3d")
    assert not (tmp_path / "x.png").exists()


def test_console_script_reports_errors_without_traceback(tmp_path, data_home):
    script = Path(sys.executable).parent / "disbench"
    if not script.is_file():
        pytest.skip(f"console script not installed beside {sys.executable}")
    proc = subprocess.run(
        [str(script), "datasets", "show", "mpi3d_toy", "--out", str(tmp_path / "x.png")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert "mpi3d_toy.npz not found; run `disbench datasets download mpi3d_toy`" in proc.stderr


def test_verify_rehashes_against_the_manifest(capsys, tmp_path, data_home):
    code, _, err = run(capsys, "verify", "shapes3d")
    assert_one_line_error(code, err, "3dshapes.h5 not found", "disbench datasets download shapes3d")
    write_shapes3d(data_home / "3dshapes.h5")  # a miniature: not the published file
    code, _, err = run(capsys, "verify", "shapes3d")
    assert_one_line_error(code, err, "size", "expected 267573662", "sha256", "expected 0a0f6ed9")
    code, _, err = run(capsys, "verify", "dsprites")
    assert_one_line_error(code, err, DSPRITES_FILE, "not found")
