"""The HTML report: self-contained, with leaderboard, per-factor figures, curves and image grids."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile

import numpy as np
import pytest

from disbench.cli import main
from disbench.images import save_grid, save_traversal_gif
from disbench.io import write_json_atomic, write_text_atomic
from disbench.report import render_report
from disbench.results import ResultsStore

RUNS = (("alpha", "train", "completed", 0), ("beta", "train", "failed", 0), ("pca", "sanity", "completed", 0))
# three trained models over two seeds (and more heat-maps than one row holds)
WIDE_RUNS = tuple((n, "train", "completed", s) for n in ("alpha", "gamma", "delta") for s in (0, 1)) + tuple(
    (f"sanity{i}", "sanity", "completed", 0) for i in range(9))


def make_store(root, runs=RUNS):
    store = ResultsStore(root)
    rng = np.random.default_rng(0)
    for name, kind, state, seed in runs:
        spec = {"run_id": f"{name}-dsprites-quick-s{seed}-00", "kind": kind, "name": name, "model": name,
                "dataset": "dsprites", "profile": "quick", "seed": seed, "display_name": name.title(),
                "supervision": "none", "representation": "z"}  # fmt: skip
        run_dir = store.write_spec(spec)
        write_json_atomic(run_dir / "status.json", {"state": state, "step": 4, "error": "loss is nan" if
                                                    state == "failed" else None})  # fmt: skip
        if state == "completed":
            write_json_atomic(run_dir / "metrics.json", {
                "mig": float(rng.random()), "mig.per_factor": [0.1, 0.2, 0.3, 0.4, 0.5], "sap": 0.1, "sap.per_factor": [0.1] * 5,
                "dci": 0.5, "dci.importance_matrix": rng.random((10, 5)).tolist(), "metric_preset": "quick"})
        if kind == "train":
            write_text_atomic(run_dir / "train_log.csv",
                              "step,time,images_per_s,loss,kl\n1,0.1,100,5.0,1.0\n2,0.2,100,4.0,1.5\n3,0.3,100,3.5,\n")
            save_grid(rng.random((2, 3, 1, 8, 8)).astype(np.float32), run_dir / "samples.png")
            save_grid(rng.random((2, 3, 1, 8, 8)).astype(np.float32), run_dir / "traversals.png")
            save_traversal_gif(rng.random((2, 3, 1, 8, 8)).astype(np.float32), run_dir / "traversals.gif")
        store.sync(spec["run_id"])
    return store


def test_report_is_self_contained_and_complete(tmp_path):
    store = make_store(tmp_path / "res")
    page = render_report(store.records(), run_root=store.root)
    srcs = re.findall(r'src="([^"]*)"', page)
    assert srcs and all(s.startswith(("data:image/png;base64,", "data:image/gif;base64,")) for s in srcs)
    assert "http://" not in page and "https://" not in page and "<link" not in page
    alts = re.findall(r'<img alt="([^"]*)"', page)
    # MIG and SAP bars, the DCI heat-maps, and per trained run: curves + samples + traversals
    assert alts.count("per-factor scores") == 3
    assert alts.count("training curves") == 2 and alts.count("samples") == 2 and alts.count("latent traversals") == 2
    assert alts.count("animated latent traversals") == 2 and page.count("data:image/gif;base64,") == 2
    assert alts.count("per-seed scores") == 1 and "critical-difference diagram" not in alts  # one trained model
    assert '<table class="leaderboard">' in page and "Alpha" in page and "Pca" in page
    assert "failed: loss is nan" in page


def test_report_has_seed_strips_and_cd_diagram(tmp_path):
    store = make_store(tmp_path / "res", WIDE_RUNS)
    page = render_report(store.records(), run_root=store.root)
    alts = re.findall(r'<img alt="([^"]*)"', page)
    assert alts.count("per-seed scores") == 1 and alts.count("critical-difference diagram") == 1
    assert "Friedman test p = " in page and "Nemenyi critical difference CD = " in page


def test_cd_diagram_never_ranks_across_supervision(tmp_path):
    # three trained models, one of them weakly supervised: the unsupervised pair is too small for a
    # diagram and no diagram mixes the two supervision groups (issue 22.1, cross-team decision 4)
    store = make_store(tmp_path / "res", WIDE_RUNS)
    for r in store.records():
        if r.name == "delta":
            spec = {**r.spec, "supervision": "paired observations, 1 changed factor"}
            store.write_spec(spec)
            store.sync(r.run_id)
    records = store.records()
    assert {r.spec["supervision"] for r in records if r.name == "delta"} == {"paired observations, 1 changed factor"}
    page = render_report(records, run_root=store.root)
    assert "critical-difference diagram" not in re.findall(r'<img alt="([^"]*)"', page)


def test_report_fits_a_1400px_window_in_chromium(tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if chromium is None:
        pytest.skip("Chromium is not installed (apt-get install chromium to run this layout check)")
    store = make_store(tmp_path / "res", WIDE_RUNS)
    page = render_report(store.records(), run_root=store.root)
    probe = "<script>document.title='W'+document.documentElement.scrollWidth;</script></body>"
    (tmp_path / "r.html").write_text(page.replace("</body>", probe))
    with tempfile.TemporaryDirectory() as profile:
        out = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                              "--no-first-run", f"--user-data-dir={profile}", "--window-size=1400,1000",
                              "--virtual-time-budget=5000", "--dump-dom", (tmp_path / "r.html").as_uri()],
                             capture_output=True, text=True, timeout=120).stdout  # fmt: skip
    width = int(re.search(r"<title>W(\d+)</title>", out).group(1))
    assert width <= 1400  # nothing sticks out to the right (the DCI heat-maps wrap, images scale)


def test_cli_report(tmp_path, capsys):
    make_store(tmp_path / "res")
    out = tmp_path / "r.html"
    assert main(["report", "--results", str(tmp_path / "res"), "--out", str(out)]) == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert main(["report", "--results", str(tmp_path / "none"), "--out", str(out)]) == 2
