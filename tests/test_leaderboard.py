"""Leaderboard aggregation and exports: values, ranks (direction-aware), bold only significant winners, ± std, CI."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from disbench.cli import main
from disbench.io import write_json_atomic
from disbench.leaderboard import build_leaderboard, export_leaderboard, headline_scores
from disbench.results import ResultsStore, RunRecord

# name -> (kind, supervision, mig per seed, fid per seed); beta is alone in its supervision group, so it is
# ranked and tested only against itself (never crowned, although its FID is the lowest)
ROWS = {
    "alpha": ("train", "none", [0.50, 0.54, 0.58], [30.0, 34.0, 32.0]),
    "beta": ("train", "factor labels", [0.20, 0.26, 0.23], [12.0, 16.0, 14.0]),
    "gamma": ("train", "none", [0.40, 0.40, 0.40], [50.0, 50.0, 50.0]),
    "pca": ("sanity", "none", [0.90, 0.91, 0.92], None),
}


def records(rows=ROWS):
    out = []
    for name, (kind, sup, migs, fids) in rows.items():
        for seed, mig in enumerate(migs):
            metrics = {"mig": mig, "mig.per_factor": [mig] * 5, "mig.seconds": 1.5, "metric_preset": "quick",
                       "metric_settings": {"mig": {"num_train": 2500}}, "codes.cached": True}  # fmt: skip
            if fids:
                metrics["fid"] = fids[seed]
            out.append(RunRecord(
                run_id=f"{name}-s{seed}", kind=kind, name=name, model=name if kind == "train" else None,
                dataset="dsprites", profile="quick" if kind == "train" else "-", seed=seed, state="completed",
                spec={"display_name": name.title(), "supervision": sup, "representation": f"{name}_codes"},
                metrics=metrics,
            ))  # fmt: skip
    out.append(RunRecord(run_id="failed-s0", kind="train", name="delta", model="delta", dataset="dsprites",
                         profile="quick", seed=0, state="failed", error="boom", spec={}))  # fmt: skip
    return out


@pytest.fixture(scope="module")
def board():
    return build_leaderboard(records())


def test_headline_scores_ignore_outputs_and_settings():
    m = {"mig": 0.5, "mig.per_factor": [1], "metric_settings": {"a": 1}, "codes.cached": True, "ok": True}
    assert headline_scores(m) == {"mig": 0.5}


def test_wide_csv_values_and_direction_aware_ranks(board, tmp_path):
    path = export_leaderboard(board, tmp_path / "lb.csv", "csv")
    wide = pd.read_csv(path).set_index("name")
    assert list(wide.index) == ["alpha", "beta", "gamma", "pca"]  # trained rows, then sanity rows
    assert "delta" not in wide.index  # failed runs are left out
    for name, (_, _sup, migs, fids) in ROWS.items():
        assert wide.loc[name, "mig"] == pytest.approx(np.mean(migs))
        assert wide.loc[name, "mig_std"] == pytest.approx(np.std(migs, ddof=1))
        assert wide.loc[name, "mig_ci_low"] <= np.mean(migs) <= wide.loc[name, "mig_ci_high"]
        assert wide.loc[name, "n_seeds"] == 3
        if fids:
            assert wide.loc[name, "fid"] == pytest.approx(np.mean(fids))
    assert wide.loc["beta", "supervision"] == "factor labels" and wide.loc["beta", "model"] == "Beta"
    assert wide.loc["gamma", "mig_std"] == pytest.approx(0, abs=1e-12) and wide.loc["gamma", "mig_ci_low"] == pytest.approx(0.4)
    # higher MIG is better, lower FID is better; sanity rows are not ranked
    # ranks are within a supervision group: alpha and gamma ("none"), beta alone ("factor labels")
    assert wide["mig_rank"].to_dict() == pytest.approx({"alpha": 1, "beta": 1, "gamma": 2, "pca": math.nan}, nan_ok=True)
    assert wide.loc[["alpha", "beta", "gamma"], "fid_rank"].tolist() == [1, 1, 2]
    assert math.isnan(wide.loc["pca", "fid"])


def test_tidy_csv_one_row_per_model_and_metric(board, tmp_path):
    export_leaderboard(board, tmp_path / "lb.csv", "csv")
    tidy = pd.read_csv(tmp_path / "lb.tidy.csv")
    assert len(tidy) == 3 * 2 + 1  # three models x (mig, fid) + pca x mig
    row = tidy[(tidy["name"] == "beta") & (tidy["metric"] == "fid")].iloc[0]
    assert (row["mean"], row["rank"], bool(row["lower_is_better"]), row["seeds"]) == (14.0, 1, True, "0,1,2")


def _latex_rows(tex: str) -> dict[str, list[str]]:
    """First cells of each body row -> its cells (a second line, the ± std, is keyed by the row above + "±")."""
    body = tex.split(r"\midrule", 1)[1].split(r"\bottomrule")[0]
    rows, last = {}, None
    for line in body.splitlines():
        line = line.strip()
        if not line.endswith((r"\\", r"\\[1pt]")):
            continue
        cells = [c.strip() for c in line.rsplit(r"\\", 1)[0].split("&")]
        last = last if cells[0] == "" else cells[0]
        rows[last + ("±" if cells[0] == "" else "")] = cells
    return rows


def test_latex_compact_bold_winner_pm_and_note(board, tmp_path):
    tex = export_leaderboard(board, tmp_path / "lb.tex", "latex").read_text()
    assert tex.isascii()
    assert tex.startswith("% disbench leaderboard: needs \\usepackage{booktabs} only")
    for cmd in (r"\toprule", r"\midrule", r"\bottomrule", r"\begin{tabular}{@{}lrr@{}}"):
        assert cmd in tex
    caption = re.search(r"\\caption\{(.*)\}", tex).group(1)
    assert "dsprites" in caption and "quick training profile" in caption and "seeds 0, 1, 2" in caption
    assert "significantly better than every other row of its supervision group" in caption
    rows = _latex_rows(tex)
    mig, fid = 1, 2
    assert rows["Alpha"][mig] == r"$\mathbf{.540}$" and rows["Alpha±"][mig] == r"{\tiny$\pm$.040}"
    assert rows["Beta"][fid] == r"$14.00$" and rows["Beta±"][fid] == r"{\tiny$\pm$2.00}"  # alone in its group
    assert rows["Alpha"][fid] == r"$\mathbf{32.00}$"  # the best of the unsupervised rows
    bold = [name for name, cells in rows.items() for c in cells[1:] if r"\mathbf" in c]
    assert sorted(bold) == ["Alpha", "Alpha"]  # the significant winners, never a sanity row
    assert rows["Pca"][mig] == "$.910$" and rows["Pca"][fid] == "---"
    note = tex.split(r"\end{tabular}")[1]
    assert "Beta (supervision: factor labels): beta\\_codes" in note
    full = board.to_latex(compact=False)
    assert r"\begin{table*}" in full and "factor labels" in _latex_rows(full)["Beta"]


def test_markdown_bold_winner_and_pm(board, tmp_path):
    md = export_leaderboard(board, tmp_path / "lb.md", "md").read_text()
    lines = [ln for ln in md.splitlines() if ln.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header == ["Model", "Supervision", "Representation", "MIG ↑", "FID ↓"]
    cells = {r[0]: r for r in ([c.strip() for c in ln.strip("|").split("|")] for ln in lines[2:])}
    assert cells["Alpha"][3] == "**0.540 ± 0.040**" and cells["Alpha"][4] == "**32.00 ± 2.00**"
    assert cells["Beta"][4] == "14.00 ± 2.00" and cells["Beta"][2] == "beta\\_codes"
    assert cells["Gamma"][3] == "0.400 ± 0.000"
    assert "seeds 0, 1, 2" in md


def test_html_bold_winner_and_tooltip(board, tmp_path):
    page = export_leaderboard(board, tmp_path / "lb.html", "html").read_text()
    body = page.split("<tbody>")[1].split("</tbody>")[0]
    assert body.count("<tr>") == 4 and page.count("<th>") == 5
    assert '<b>0.540</b><br><span class="sd">± 0.040</span>' in page and 'title="95% CI [' in page and "p vs best (Holm)" in page


def test_overlapping_seeds_bold_nothing_and_mark_ties():
    rows = {"alpha": ("train", "none", [0.50, 0.60, 0.40], None), "beta": ("train", "none", [0.45, 0.55, 0.50], None),
            "gamma": ("train", "none", [0.10, 0.12, 0.11], None)}  # fmt: skip
    b = build_leaderboard(records(rows))
    mig = b.tidy.set_index("name")
    assert not mig["bold"].any() and mig["tied"].to_dict() == {"alpha": True, "beta": True, "gamma": False}
    assert mig.loc["alpha", "rank"] == 1 and (mig["verdict"] == "not significant").all()
    assert r"\mathbf" not in b.to_latex() and r"$.500^\dagger$" in b.to_latex()
    assert "**" not in b.to_markdown() and "0.500 ± 0.100 †" in b.to_markdown()


def test_single_seed_bolds_nothing_and_says_why(tmp_path):
    one = {k: (kind, sup, migs[:1], fids[:1] if fids else None) for k, (kind, sup, migs, fids) in ROWS.items()}
    b = build_leaderboard(records(one))
    table_lines = [ln for ln in b.to_markdown().splitlines() if ln.startswith("|")]
    assert table_lines and not any("±" in ln or "**" in ln or "†" in ln for ln in table_lines)
    tex = b.to_latex()
    assert r"\pm" not in tex.split(r"\toprule")[1] and r"\mathbf" not in tex
    for text in (b.to_markdown(), tex, b.to_text()):
        assert "a single seed supports no ranking" in text
    assert b.wide()["mig_std"].isna().all() and not b.tidy["bold"].any()
    verdicts = b.tidy[(b.tidy.kind == "train") & (b.tidy.metric == "mig")].set_index("name")["verdict"]
    assert set(verdicts.drop("beta")) == {"one seed"} and verdicts["beta"] == "one row"  # beta: alone in its supervision


def test_fid_units_in_the_header_only_for_standardised_features():
    recs = records()
    assert "FID ↓" in build_leaderboard(recs).to_markdown()  # runs made before the standardisation: no unit
    for r in recs:
        if r.metrics and "fid" in r.metrics:
            r.metrics["fid.feature_scaling"] = "real z-score"
    b = build_leaderboard(recs)
    assert "FID (σ²) ↓" in b.to_markdown() and "squared real-standard-deviation units" in b.to_markdown()
    assert r"FID$_{\sigma^2}$$\downarrow$" in b.to_latex()


def test_noise_floor_is_aggregated_and_named_in_the_caption():
    recs = records()
    for r in recs:
        if r.metrics:
            r.metrics["mig.noise_std"] = 0.3 if r.name == "alpha" else 0.2  # larger than every seed spread
    b = build_leaderboard(recs)
    alpha = b.tidy[(b.tidy.name == "alpha") & (b.tidy.metric == "mig")].iloc[0]
    assert alpha["noise_std"] == pytest.approx(0.3)
    assert math.isnan(b.tidy[(b.tidy.name == "alpha") & (b.tidy.metric == "fid")].iloc[0]["noise_std"])
    caption = b.caption(("dsprites", "quick", "quick"))
    assert "metric's own sampling noise dominates for MIG" in caption
    assert b.wide().set_index("name").loc["beta", "mig_noise"] == pytest.approx(0.2)


def test_cli_leaderboard(tmp_path, capsys):
    store = ResultsStore(tmp_path / "res")
    for r in records():
        run_dir = store.write_spec({**r.spec, "run_id": r.run_id, "kind": r.kind, "name": r.name, "model": r.model,
                                    "dataset": r.dataset, "profile": r.profile, "seed": r.seed})  # fmt: skip
        write_json_atomic(run_dir / "status.json", {"state": r.state, "step": 1, "error": r.error})
        if r.metrics:
            write_json_atomic(run_dir / "metrics.json", r.metrics)
        store.sync(r.run_id)
    out = tmp_path / "lb.tex"
    assert main(["leaderboard", "--results", str(tmp_path / "res"), "--format", "latex", "--out", str(out)]) == 0
    assert r"\mathbf{.540}" in out.read_text() and r"\begin{table}" in out.read_text()
    assert main(["leaderboard", "--results", str(tmp_path / "res"), "--format", "latex", "--full", "--out", str(out)]) == 0
    assert r"\begin{table*}" in out.read_text()
    assert main(["leaderboard", "--results", str(tmp_path / "res")]) == 0
    assert "**0.540 ± 0.040**" in capsys.readouterr().out
    assert main(["leaderboard", "--results", str(tmp_path / "nothing")]) == 2


def test_caption_and_tidy_record_the_data_source_and_scikit_learn():
    recs = records()
    for r in recs:
        if r.metrics:
            r.metrics.update({"dataset.source": "file", "dataset.file": "dsprites.npz", "dataset.sha256": "ab" * 32,
                              "dataset.sha256_matches_manifest": True, "env.scikit_learn": "1.9.1",
                              "unsupervised": 0.1 if r.name == "alpha" else 0.5})
    board = build_leaderboard(recs)
    caption = board.tables()[0].caption
    assert "Data: published file dsprites.npz (sha256 abababababab, matches the manifest)." in caption
    assert "scikit-learn: 1.9.1." in caption
    assert set(board.tidy["scikit_learn"]) == {"1.9.1"}
    tc = board.tidy[(board.tidy.metric == "unsupervised") & (board.tidy.kind == "train")].set_index("name")
    assert tc.loc["alpha", "rank"] == 1  # total correlation: lower is better
    assert "Gaussian TC" in board.to_text()
    old = build_leaderboard(records())  # runs scored before provenance was recorded: nothing claimed
    assert "Data:" not in old.tables()[0].caption


def test_a_profile_declaring_a_shortfall_says_so_in_the_caption_and_tidy():
    recs = records()
    for r in recs:
        if r.name == "beta":
            r.spec["config"] = {"steps": 400, "shortfall": "FID (σ²) about 120 in 400 steps"}
    board = build_leaderboard(recs)
    caption = board.tables()[0].caption
    assert caption.count("Known shortfalls") == 1
    assert "benchmarks/quick_profile_quality.py): Beta: FID (σ²) about 120 in 400 steps." in caption
    assert set(board.tidy["shortfall"]) == {"Beta: FID (σ²) about 120 in 400 steps"}
    assert "shortfall" not in build_leaderboard(records()).tables()[0].caption


def test_mean_not_median_in_every_view(tmp_path):
    # issue 26.3: seeds [0.1, 0.2, 0.9] have mean 0.4 (median 0.2): the tidy table, the wide CSV and the
    # Markdown cell show 0.4, and the 95% CI is centred on it (std = sqrt(0.38 / 2) = 0.4359)
    b = build_leaderboard(records({"alpha": ("train", "none", [0.1, 0.2, 0.9], None)}))
    row = b.tidy.set_index("name").loc["alpha"]
    assert row["mean"] == pytest.approx(0.4) and row["std"] == pytest.approx(math.sqrt(0.38 / 2))
    assert (row["ci_low"] + row["ci_high"]) / 2 == pytest.approx(0.4)
    assert row["ci_high"] - 0.4 == pytest.approx(4.302653 * math.sqrt(0.38 / 2) / math.sqrt(3), abs=1e-5)
    export_leaderboard(b, tmp_path / "lb.csv", "csv")
    wide = pd.read_csv(tmp_path / "lb.csv").set_index("name")
    assert wide.loc["alpha", "mig"] == pytest.approx(0.4)
    assert (wide.loc["alpha", "mig_ci_low"] + wide.loc["alpha", "mig_ci_high"]) / 2 == pytest.approx(0.4)
    assert pd.read_csv(tmp_path / "lb.tidy.csv")["mean"].tolist() == pytest.approx([0.4])
    assert "| 0.400 ± 0.436 |" in b.to_markdown()


def test_a_missing_seed_is_marked_in_every_view_and_never_bold(tmp_path):
    # issue 22.1: one NaN seed made mean/CI/rank NaN in the table while the row could still be bold; now
    # the statistics are over the finite seeds (as the test uses them), the row is marked ‡ and not bold
    rows = {"alpha": ("train", "none", [0.90, math.nan, 0.92, 0.91], None),
            "beta": ("train", "none", [0.10, 0.11, 0.12, 0.13], None)}  # fmt: skip
    b = build_leaderboard(records(rows))
    t = b.tidy.set_index("name")
    assert t.loc["alpha", "mean"] == pytest.approx(0.91) and (t.loc["alpha", "n"], t.loc["alpha", "missing"]) == (3, 1)
    assert (t.loc["alpha", "ci_low"] + t.loc["alpha", "ci_high"]) / 2 == pytest.approx(0.91)
    assert t.loc["alpha", "rank"] == 1 and not t["bold"].any() and t.loc["alpha", "verdict"] == "missing seed"
    assert t.loc["beta", "missing"] == 0
    assert "0.910 ± 0.010 † ‡" in b.to_markdown() and "‡: some seed has no score (NaN)" in b.to_markdown()
    assert r"$.910^{\dagger\ddagger}$" in b.to_latex() and r"\mathbf" not in b.to_latex()
    assert "‡" in b.to_html() and "<b>" not in b.to_html().split("<tbody>")[1]
    assert b.wide().set_index("name").loc["alpha", "mig_missing"] == 1
    # a seed scored for one metric but not for another is missing in the other
    recs = records({"alpha": ("train", "none", [0.5, 0.6, 0.7], [30.0, 31.0, 32.0]),
                    "beta": ("train", "none", [0.1, 0.2, 0.3], [40.0, 41.0, 42.0])})  # fmt: skip
    del next(r for r in recs if r.run_id == "alpha-s2").metrics["fid"]
    fid = build_leaderboard(recs).tidy.query("metric == 'fid'").set_index("name")
    assert (fid.loc["alpha", "missing"], fid.loc["alpha", "n"], fid.loc["alpha", "seeds"]) == (1, 2, "0,1,2")
    assert fid.loc["alpha", "mean"] == pytest.approx(30.5) and not fid["bold"].any()


def test_bold_never_crosses_supervision_groups():
    # beta (factor labels) has by far the best MIG, but it is alone in its supervision group: the
    # unsupervised rows are compared among themselves only, and alpha is their significant winner
    rows = {"alpha": ("train", "none", [0.50, 0.54, 0.58], None),
            "gamma": ("train", "none", [0.10, 0.12, 0.11], None),
            "beta": ("train", "factor labels", [0.90, 0.91, 0.92], None)}  # fmt: skip
    t = build_leaderboard(records(rows)).tidy.set_index("name")
    assert t["bold"].to_dict() == {"alpha": True, "gamma": False, "beta": False}
    assert t["rank"].to_dict() == {"alpha": 1, "gamma": 2, "beta": 1}
    assert t.loc["beta", "verdict"] == "one row" and math.isnan(t.loc["alpha", "p_vs_best"])
    same = {**rows, "beta": ("train", "none", [0.90, 0.91, 0.92], None)}
    assert build_leaderboard(records(same)).tidy.set_index("name")["bold"].to_dict() == {
        "alpha": False, "gamma": False, "beta": True}


def test_a_metric_variant_labels_every_output(tmp_path):
    # issue 22.2: DCI-ES's explicitness exists in two forms; the header, caption, LaTeX and CSV say which ran
    recs = records()
    for r in recs:
        if r.metrics:
            r.metrics.update({"dci_es": 0.5 + 0.01 * r.seed, "dci_es.variant": "paper"})
    b = build_leaderboard(recs)
    assert "DCI-ES E (paper) ↑" in b.to_markdown() and "<th>DCI-ES E (paper) ↑</th>" in b.to_html()
    assert "DCI-ES E (paper) ↑" in b.to_text()
    assert r"$E$$_\mathrm{paper}$" in b.to_latex()
    assert "DCI-ES E variant: paper — E = 1 − area under the loss–capacity curve" in b.tables()[0].caption
    export_leaderboard(b, tmp_path / "lb.csv", "csv")
    assert set(pd.read_csv(tmp_path / "lb.csv")["dci_es_variant"]) == {"paper"}
    assert set(pd.read_csv(tmp_path / "lb.tidy.csv").query("metric == 'dci_es'")["variant"]) == {"paper"}
    # rows scored with different variants are never compared, and the header names both
    for r in recs:
        if r.metrics and r.name == "gamma":
            r.metrics["dci_es.variant"] = "authors_script"
    mixed = build_leaderboard(recs)
    assert "DCI-ES E (authors\\_script/paper) ↑" in mixed.to_markdown()
    t = mixed.tidy[mixed.tidy.metric == "dci_es"].set_index("name")
    assert t.loc["gamma", "verdict"] == "one row" and t.loc["gamma", "rank"] == 1
