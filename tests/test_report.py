"""The HTML report: self-contained, with leaderboard, per-factor figures, curves and image grids."""

from __future__ import annotations

import re

import numpy as np

from disbench.cli import main
from disbench.images import save_grid
from disbench.io import write_json_atomic, write_text_atomic
from disbench.report import render_report
from disbench.results import ResultsStore


def make_store(root):
    store = ResultsStore(root)
    rng = np.random.default_rng(0)
    for name, kind, state in (("alpha", "train", "completed"), ("beta", "train", "failed"),
                              ("pca", "sanity", "completed")):  # fmt: skip
        spec = {"run_id": f"{name}-dsprites-quick-s0-00", "kind": kind, "name": name, "model": name,
                "dataset": "dsprites", "profile": "quick", "seed": 0, "display_name": name.title(),
                "supervision": "none", "representation": "z"}  # fmt: skip
        run_dir = store.write_spec(spec)
        write_json_atomic(run_dir / "status.json", {"state": state, "step": 4, "error": "loss is nan" if
                                                    state == "failed" else None})  # fmt: skip
        if state == "completed":
            write_json_atomic(run_dir / "metrics.json", {
                "mig": 0.3, "mig.per_factor": [0.1, 0.2, 0.3, 0.4, 0.5], "sap": 0.1, "sap.per_factor": [0.1] * 5,
                "dci": 0.5, "dci.importance_matrix": rng.random((10, 5)).tolist(), "metric_preset": "quick"})
        if kind == "train":
            write_text_atomic(run_dir / "train_log.csv",
                              "step,time,images_per_s,loss,kl\n1,0.1,100,5.0,1.0\n2,0.2,100,4.0,1.5\n3,0.3,100,3.5,\n")
            save_grid(rng.random((2, 3, 1, 8, 8)).astype(np.float32), run_dir / "samples.png")
            save_grid(rng.random((2, 3, 1, 8, 8)).astype(np.float32), run_dir / "traversals.png")
        store.sync(spec["run_id"])
    return store


def test_report_is_self_contained_and_complete(tmp_path):
    store = make_store(tmp_path / "res")
    page = render_report(store.records(), run_root=store.root)
    srcs = re.findall(r'src="([^"]*)"', page)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "http://" not in page and "https://" not in page and "<link" not in page
    alts = re.findall(r'<img alt="([^"]*)"', page)
    # MIG and SAP bars, the DCI heat-maps, and per trained run: curves + samples + traversals
    assert alts.count("per-factor scores") == 3
    assert alts.count("training curves") == 2 and alts.count("samples") == 2 and alts.count("latent traversals") == 2
    assert '<table class="leaderboard">' in page and "Alpha" in page and "Pca" in page
    assert "failed: loss is nan" in page


def test_cli_report(tmp_path, capsys):
    make_store(tmp_path / "res")
    out = tmp_path / "r.html"
    assert main(["report", "--results", str(tmp_path / "res"), "--out", str(out)]) == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert main(["report", "--results", str(tmp_path / "none"), "--out", str(out)]) == 2
