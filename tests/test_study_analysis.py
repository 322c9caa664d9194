"""Study analysis on small synthetic results tables: the statistics against hand-computed
values and independent implementations, the tables in their consuming tools, the figures."""

from __future__ import annotations

import base64
import io
import math
import re

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy import stats as sps
from test_exports import _pdflatex, _render_rows

from disbench import stats
from disbench.errors import InvalidInputError
from disbench.results import RunRecord
from disbench.study.analysis import (
    ALL_METHODS,
    median_iqr_table,
    median_iqr_tables,
    render_sections,
    scores_frame,
    spearman_table,
    variance_table,
    write_analysis,
)
from disbench.study.grid import GRID_COLUMNS, Study, StudyPlan


# --- statistics ----------------------------------------------------------------------------
def test_median_iqr_by_hand():
    assert stats.median_iqr([4, 1, 3, 2]) == (2.5, 1.75, 3.25)  # type 7: q1 = 1 + 0.75 · (2 − 1)
    assert stats.median_iqr([5.0, np.nan, 1.0, 3.0]) == (3.0, 2.0, 4.0)
    assert all(math.isnan(v) for v in stats.median_iqr([np.nan]))
    with pytest.raises(InvalidInputError):
        stats.median_iqr(np.zeros((2, 2)))


def test_variance_share_by_hand():
    # groups {1, 2, 3} and {4, 5, 6}: grand mean 3.5, SS_between = 3·1.5² · 2 = 13.5, SS_within = 2 + 2 = 4
    share = stats.variance_share([1, 2, 3, 4, 5, 6], ["a"] * 3 + ["b"] * 3)
    assert share.between == pytest.approx(13.5 / 17.5)
    assert share.within == pytest.approx(4 / 17.5)
    assert share.f == pytest.approx(13.5 / (4 / 4))
    assert share.p == pytest.approx(sps.f.sf(13.5, 1, 4))
    assert (share.n_groups, share.n) == (2, 6)


def test_variance_share_invariances_and_undefined_cases():
    rng = np.random.default_rng(0)
    x, g = rng.normal(size=12), np.repeat(["a", "b", "c"], 4)
    base = stats.variance_share(x, g).between
    assert stats.variance_share(3 * x + 7, g).between == pytest.approx(base)  # affine invariance
    perm = rng.permutation(12)
    assert stats.variance_share(x[perm], g[perm]).between == pytest.approx(base)  # order does not matter
    assert stats.variance_share(x + np.repeat([0, 100, 200], 4), g).between > 0.999  # the group dominates
    assert stats.variance_share(np.tile([0.0, 1.0], 6), np.repeat(["a", "b", "c"], 4)).between == 0  # equal means
    # one run per group: the seed cannot be told apart; one group; constant scores
    for values, groups in (([1, 2, 3], "abc"), ([1, 2, 3], "aaa"), ([2, 2, 2, 2], "aabb")):
        assert math.isnan(stats.variance_share(values, list(groups)).between)
    assert stats.variance_share([1, 2, np.nan, 4], list("aabb")).n == 3  # NaN dropped with its label
    with pytest.raises(InvalidInputError, match="same length"):
        stats.variance_share([1, 2], ["a"])


def test_spearman_matrix_matches_pandas_pairwise_and_by_hand():
    rng = np.random.default_rng(1)
    table = pd.DataFrame(rng.normal(size=(20, 3)), columns=["a", "b", "c"])
    table["b"] += table["a"]
    table.loc[[2, 5, 7], "c"] = np.nan  # pairwise-complete rows
    ours = stats.spearman_matrix(table)
    pd.testing.assert_frame_equal(ours, table.corr(method="spearman"), atol=1e-12)
    # monotone transforms: ρ = 1, reversed: −1; a constant column: undefined
    hand = stats.spearman_matrix(pd.DataFrame({"x": [1, 2, 3, 4], "ex": np.exp([1, 2, 3, 4]), "neg": [9, 7, 5, 0],
                                               "const": [1, 1, 1, 1]}))  # fmt: skip
    assert hand.loc["x", "ex"] == 1 and hand.loc["x", "neg"] == -1
    assert hand["const"].isna().all()


# --- a synthetic study ---------------------------------------------------------------------
def synthetic(seeds=(0, 1)) -> tuple[StudyPlan, list[RunRecord]]:
    """Two methods × two values × ``seeds`` on dsprites. β-VAE's MIG depends on the value only
    through ``value`` + seed noise ±1 (hand-computable shares); the β-VAE metric is −MIG."""
    study = Study("toy_study", "A toy study", "Someone 2024", "nowhere", ("dsprites",), (0,),
                  ("beta_vae", "mig"), {"quick": "quick"})  # fmt: skip
    grid, records = [], []
    for method, display, key, values in (("bvae", "β-VAE", "beta", (1.0, 4.0)), ("fvae", "FactorVAE", "gamma", (10.0, 20.0))):
        for value in values:
            for seed in seeds:
                rid = f"{method}-{value:g}-s{seed}"
                grid.append([rid, method, display, "none", "posterior mean", key, value, "dsprites", seed, None])
                mig = value + (1.0 if seed % 2 else -1.0)  # value 1: {0, 2}, value 4: {3, 5} for seeds 0, 1
                records.append(RunRecord(run_id=rid, kind="train", name=method, model=method, dataset="dsprites",
                                         profile="quick", seed=seed, state="completed",
                                         metrics={"mig": mig, "beta_vae": -mig, "fid": 3.0, "metric_preset": "quick"},
                                         spec={"display_name": display}))  # fmt: skip
    records.append(RunRecord(run_id="elsewhere", kind="train", name="bvae", model="bvae", dataset="dsprites",
                             profile="quick", seed=0, state="completed", metrics={"mig": 99.0}))  # not in the grid
    grid_frame = pd.DataFrame(grid, columns=GRID_COLUMNS)
    return StudyPlan(study, "quick", [{"run_id": r} for r in grid_frame["run_id"]], grid_frame), records


def test_scores_frame_keeps_the_grid_runs_and_the_study_metrics():
    plan, records = synthetic()
    scores = scores_frame(plan.grid, records, plan.study.metrics)
    assert len(scores) == 8 * 2  # 8 runs × 2 metrics; fid and the run outside the grid are left out
    assert set(scores["metric"]) == {"beta_vae", "mig"} and "elsewhere" not in set(scores["run_id"])
    failed = [r for r in records if r.run_id != "bvae-1-s0"] + [
        RunRecord(run_id="bvae-1-s0", kind="train", name="bvae", model="bvae", dataset="dsprites", profile="quick",
                  seed=0, state="failed", metrics=None)]  # fmt: skip
    assert scores_frame(plan.grid, failed, plan.study.metrics)["run_id"].nunique() == 7  # partial: what is done


def test_median_iqr_variance_and_spearman_on_the_synthetic_study():
    plan, records = synthetic()
    scores = scores_frame(plan.grid, records, plan.study.metrics)
    table = median_iqr_table(scores).set_index(["method", "metric"])
    # β-VAE MIG scores {0, 2, 3, 5}: median 2.5, q1 1.5, q3 3.5
    assert table.loc[("bvae", "mig"), ["median", "q1", "q3", "iqr"]].tolist() == [2.5, 1.5, 3.5, 2.0]
    assert table.loc[("bvae", "mig"), ["n_runs", "n_values", "n_seeds"]].tolist() == [4, 2, 2]
    shares = variance_table(scores).set_index(["method", "metric"])
    # groups {0, 2} and {3, 5}: SS_between = 2·1.5² · 2 = 9, SS_within = 4 → η² = 9/13
    assert shares.loc[("bvae", "mig"), "hyperparameter"] == pytest.approx(9 / 13)
    assert shares.loc[("bvae", "mig"), "seed"] == pytest.approx(4 / 13)
    # FactorVAE {9, 11} and {19, 21}: SS_between = 100, SS_within = 4
    assert shares.loc[("fvae", "mig"), "hyperparameter"] == pytest.approx(100 / 104)
    # all methods: 4 configurations, each two scores ±1 around its mean (within-SS 2 each, 8 in all)
    mig = np.array([0, 2, 3, 5, 9, 11, 19, 21], dtype=float)
    assert shares.loc[(ALL_METHODS, "mig"), "hyperparameter"] == pytest.approx(1 - 8 / ((mig - mig.mean()) ** 2).sum())
    assert shares.loc[(ALL_METHODS, "mig"), "n_values"] == 4
    assert ALL_METHODS not in set(variance_table(scores[scores["method"] == "bvae"])["method"])  # one method: no pool
    rho = spearman_table(scores, "dsprites")
    assert rho.loc["mig", "beta_vae"] == pytest.approx(-1.0)  # β-VAE metric = −MIG
    plan1, records1 = synthetic(seeds=(0,))
    one_seed = scores_frame(plan1.grid, records1, plan1.study.metrics)
    assert variance_table(one_seed)["hyperparameter"].isna().all()  # one seed: the seed cannot be told apart


def test_median_iqr_table_through_the_leaderboard_writers(tmp_path):
    plan, records = synthetic()
    tables = median_iqr_tables(scores_frame(plan.grid, records, plan.study.metrics), "Toy study.")
    from disbench.leaderboard import latex_tables, markdown_tables

    md = markdown_tables(tables)
    rows = _render_rows(md)  # CommonMark + GFM tables parser
    assert rows[0][:4] == ["Model", "Supervision", "Representation", "β-VAE ↑"]
    bvae = next(r for r in rows if r[0] == "β-VAE (4 runs)")
    assert bvae[3] == "-2.500 [-3.500, -1.500]" and bvae[4] == "2.500 [1.500, 3.500]"
    tex = latex_tables(tables)
    assert r"{\tiny[1.500, 3.500]}" in tex  # IQR bounds on the second line (not ± std)
    _pdflatex(tmp_path, tex, "[twocolumn]{article}")


def _images(page: str) -> list[Image.Image]:
    return [Image.open(io.BytesIO(base64.b64decode(b))) for b in re.findall(r'src="data:image/png;base64,([^"]+)"', page)]


def test_sections_and_analysis_files_hold_real_plots(tmp_path):
    plan, records = synthetic(seeds=(0, 1, 2))
    page_part = render_sections(scores_frame(plan.grid, records, plan.study.metrics), "Toy")
    images = _images(page_part)
    assert len(images) == 2 + 1  # a distribution figure per metric + the Spearman heat-map
    for im in images:
        pixels = np.asarray(im.convert("L"), dtype=float)
        assert im.width > 200 and pixels.std() > 10  # drawn, not blank
    paths = write_analysis(plan, records, tmp_path / "analysis", echo=lambda _: None)
    assert {p.name for p in paths.values()} == {"scores.csv", "median_iqr.csv", "median_iqr.tex", "median_iqr.md",
                                                 "variance.csv", "spearman-dsprites.csv", "analysis.html"}  # fmt: skip
    assert "12 of 12 planned runs completed" in paths["html"].read_text()
    empty = write_analysis(plan, [], tmp_path / "none", echo=lambda _: None)  # nothing done yet: still a page
    assert "no completed runs" in empty["html"].read_text()
