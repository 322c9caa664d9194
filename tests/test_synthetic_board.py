"""End to end: a synthetic 3-seed store through every writer (benchmarks/synthetic_board.py); the
bold marks of the Markdown and LaTeX exports are the tidy table's significance verdicts."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
# ~10 s on a quiet machine, minutes under load (21 runs' report figures); the writers' own tests are fast
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def board_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("synthetic")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "synthetic_board.py"), str(out)], check=True,
                   capture_output=True, timeout=300, cwd=ROOT, env=env)  # fmt: skip
    return out


def test_every_writer_wrote(board_dir):
    for name in ("leaderboard.csv", "leaderboard.tidy.csv", "leaderboard.tex", "leaderboard.md", "leaderboard.html",
                 "report.html", "cd_diagram.png"):  # fmt: skip
        assert (board_dir / name).stat().st_size > 0, name
    report = (board_dir / "report.html").read_text()
    assert 'alt="critical-difference diagram"' in report and 'alt="animated latent traversals"' in report


def test_bold_marks_are_the_significance_verdicts(board_dir):
    tidy = pd.read_csv(board_dir / "leaderboard.tidy.csv")
    trained = tidy[tidy["kind"] == "train"]
    # one winner at most per metric within a supervision group (rows of different supervision are never compared)
    assert (trained.groupby(["metric", "supervision"])["bold"].sum() <= 1).all()
    assert not tidy.loc[tidy.kind == "sanity", "bold"].any()
    assert (trained.loc[trained["bold"], "verdict"] == "significant").all()
    assert set(trained["n"]) == {3}
    md = (board_dir / "leaderboard.md").read_text()
    lines = [ln for ln in md.splitlines() if ln.startswith("| ")]
    header = [c.strip() for c in lines[0].strip("| ").split(" | ")]
    bold_md = {(row[0], header[i]) for row in ([c.strip() for c in ln.strip("| ").split(" | ")] for ln in lines[1:])
               for i, c in enumerate(row) if c.startswith("**")}  # fmt: skip
    labels = {"beta_vae": "β-VAE ↑", "factor_vae": "FactorVAE ↑", "mig": "MIG ↑", "dci": "DCI ↑", "sap": "SAP ↑",
              "modularity": "Modularity ↑", "fid": "FID (σ²) ↓", "kid": "KID (z) ↓"}  # fmt: skip
    expected = {(r.display_name, labels[r.metric]) for r in trained[trained["bold"]].itertuples()}
    assert bold_md == expected
    tex = (board_dir / "leaderboard.tex").read_text()
    assert len(re.findall(r"\\mathbf\{", tex)) == len(expected)
