"""Issue 24 part 3: the report stays readable with the main job's 17 rows (13 trained + 4 sanity)
and the LaTeX board fits a two-column paper's column with every metric (``--columns``,
``\\resizebox``), compiled with pdflatex."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from disbench.cli import main
from disbench.errors import UnknownNameError
from disbench.leaderboard import COLUMN_WIDTH_PT, build_leaderboard
from disbench.report import model_colours, palette, render_report
from disbench.results import RunRecord

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from synthetic_board import METRICS, synthetic_store  # noqa: E402

# the main job's trained rows: every preset of issue 24's count (13), and the 4 sanity rows
PRESETS = ("acgan", "annealed_vae", "beta_tc_vae", "beta_vae", "dcign", "dip_vae_i", "dip_vae_ii", "factor_vae",
           "infogan", "infogan_cr", "lsgan", "sgan", "vae")  # fmt: skip


@pytest.fixture(scope="module")
def store17(tmp_path_factory):
    return synthetic_store(tmp_path_factory.mktemp("board17"), seeds=(0, 1, 2), presets=PRESETS)


@pytest.fixture(scope="module")
def page17(store17):
    return render_report(store17.records(), run_root=store17.root)  # ~10-25 s: 17 rows' figures


def test_palette_gives_17_rows_distinct_colours(store17):
    colours = model_colours(store17.records())
    assert len(colours) == 17 and len(set(colours.values())) == 17  # no two rows share a colour
    assert len(set(palette())) == 20
    assert list(colours)[-4:] == ["Ground-truth factors", "ICA", "PCA", "Raw pixels"]  # sanity rows after the trained
    assert colours["β-VAE"] != colours["Ground-truth factors"]  # the clash


@pytest.mark.slow
def test_one_colour_map_per_page(store17, page17):
    colours, page = model_colours(store17.records()), page17
    assert page.count('alt="per-factor scores"') == 3  # MIG and SAP heat-maps, DCI importance
    for name in ("β-VAE", "ACGAN", "VAE"):  # the run headings carry the same colour as the figures
        assert f'<span style="color:{colours[name]}">■</span> {name} · seed 0' in page


def test_per_factor_scores_are_heatmaps_with_values(store17, monkeypatch):
    from matplotlib.axes import Axes

    texts = []
    original = Axes.text

    def spy(self, x, y, s, *args, **kwargs):
        texts.append(s)
        return original(self, x, y, s, *args, **kwargs)

    monkeypatch.setattr(Axes, "text", spy)
    from disbench.report import per_factor_figure

    records = [r for r in store17.records() if r.state == "completed"]
    png = per_factor_figure(records, "mig.per_factor", "MIG gap per factor")
    assert png.startswith(b"\x89PNG")
    assert len(texts) == 17 * 5  # one value per model × factor
    beta = [r.metrics["mig.per_factor"] for r in records if r.name == "beta_vae"]
    assert f"{np.mean(beta, axis=0)[0]:.2f}" in texts


@pytest.mark.slow
def test_report_with_17_rows_fits_1400px_in_chromium(page17, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if chromium is None:
        pytest.skip("Chromium is not installed (apt-get install chromium to run this layout check)")
    page = page17
    probe = "<script>document.title='W'+document.documentElement.scrollWidth;</script></body>"
    (tmp_path / "r.html").write_text(page.replace("</body>", probe))
    proc = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1400,900",
                           "--dump-dom", (tmp_path / "r.html").as_uri()], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    width = int(re.search(r"<title>W(\d+)</title>", proc.stdout).group(1))
    assert width <= 1400


# --- LaTeX -----------------------------------------------------------------------------------------
def _records(metrics=METRICS) -> list[RunRecord]:
    rng = np.random.default_rng(0)
    out = []
    for i, name in enumerate(["AnnealedVAE", "Stacked GAN", "DIP-VAE-II", "b"]):
        for seed in range(3):
            scores = {m: float(rng.normal(20 if m == "fid" else 0.4 + 0.1 * i, 0.05)) for m in metrics}
            scores.update(metric_preset="quick", **{"fid.feature_scaling": "real z-score"})
            out.append(RunRecord(run_id=f"{i}-{seed}", kind="train", name=name, model="x", dataset="dsprites",
                                 profile="quick", seed=seed, state="completed", metrics=scores,
                                 spec={"display_name": name, "supervision": "none", "representation": "z"}))  # fmt: skip
    return out


def _compile(tmp_path, tex: str) -> str:
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed (apt-get install texlive-latex-base texlive-latex-recommended)")
    (tmp_path / "table.tex").write_text(tex, encoding="ascii")
    (tmp_path / "doc.tex").write_text("\\documentclass[twocolumn]{article}\n\\usepackage{booktabs}\n"
                                      "\\usepackage{graphicx}\n\\begin{document}\n\\input{table}\n\\end{document}\n")
    proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "doc.tex"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)  # fmt: skip
    log = (tmp_path / "doc.log").read_text(errors="replace")
    assert proc.returncode == 0, log[-3000:]
    return log


def test_all_columns_are_scaled_to_the_column_and_never_overflow(store17, tmp_path):
    tex = build_leaderboard(store17.records()).to_latex()
    assert "\\resizebox{\\columnwidth}{!}{%" in tex and "may not fit" in tex and "graphicx" in tex.splitlines()[0]
    assert tex.count("\\begin{tabular}") == 1 and re.search(r"\\end\{tabular\}\}\n", tex)
    log = _compile(tmp_path, tex)
    assert log.count("Overfull \\hbox") == 0
    # without the box the same table is wider than the 229.5 pt column: the box is needed
    plain = tex.replace("\\resizebox{\\columnwidth}{!}{%\n", "").replace("\\end{tabular}}", "\\end{tabular}")
    assert "Overfull \\hbox" in _compile(tmp_path, plain)
    assert COLUMN_WIDTH_PT == 229.5


def test_columns_choose_metrics_and_a_narrow_table_is_left_as_is(store17, tmp_path, capsys):
    board = build_leaderboard(store17.records())
    tex = board.to_latex(columns=["mig", "dci", "fid"])
    assert "resizebox" not in tex and "booktabs} only" in tex
    head = next(line for line in tex.splitlines() if line.startswith("Model &"))
    assert head == "Model & MIG & DCI & FID$_{\\sigma^2}$$\\downarrow$ \\\\"
    assert "\\begin{tabular}{@{}lrrr@{}}" in tex
    assert "Overfull \\hbox" not in _compile(tmp_path, tex)
    with pytest.raises(UnknownNameError, match="unknown column 'mgi'"):
        board.to_latex(columns=["mgi"])
    out = tmp_path / "b.tex"
    assert main(["leaderboard", "--results", str(store17.root), "--format", "latex", "--columns", "sap,mig",
                 "--out", str(out)]) == 0  # fmt: skip
    assert "Model & SAP & MIG \\\\" in out.read_text()
    assert main(["leaderboard", "--results", str(store17.root), "--format", "md", "--columns", "mig"]) == 2
