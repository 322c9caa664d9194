"""disbench.stats against hand-computed values and published tables (Demšar 2006)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from disbench import stats
from disbench.errors import InvalidInputError


def test_mean_ci_student_t_by_hand():
    # [1, 2, 3]: mean 2, s = 1, t_{0.975, 2} = 4.302653 -> half width 4.302653 / sqrt(3)
    low, high = stats.mean_ci([1.0, 2.0, 3.0])
    assert (low, high) == pytest.approx((2 - 2.484138, 2 + 2.484138), abs=1e-6)
    assert stats.mean_ci([0.4, 0.4]) == (0.4, 0.4)
    assert all(math.isnan(x) for x in stats.mean_ci([0.3]))
    with pytest.raises(InvalidInputError):
        stats.mean_ci([[1.0, 2.0]])
    with pytest.raises(InvalidInputError):
        stats.mean_ci([1.0, 2.0], confidence=1.0)


def test_welch_pvalue_closed_form_two_degrees_of_freedom():
    # b is constant: Welch df = n_a - 1 = 2, t = 0.14 / (0.04 / sqrt 3); for 2 df the two-sided
    # p-value is exactly 1 - t / sqrt(2 + t^2)
    t = 0.14 / (0.04 / math.sqrt(3))
    assert stats.welch_pvalue([0.50, 0.54, 0.58], [0.4, 0.4, 0.4]) == pytest.approx(1 - t / math.sqrt(2 + t * t))
    assert stats.welch_pvalue([0.4, 0.4], [0.5, 0.5]) == 0.0  # both constant: exact answers
    assert stats.welch_pvalue([0.4, 0.4], [0.4, 0.4]) == 1.0
    with pytest.raises(InvalidInputError, match="at least two values"):
        stats.welch_pvalue([0.4], [0.5, 0.6])


def test_holm_by_hand():
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04 -> monotone 0.02, 0.03, 0.06, 0.06
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])  # capped at 1
    assert stats.holm([]).size == 0
    with pytest.raises(InvalidInputError):
        stats.holm([0.2, 1.5])


def test_clear_winner_is_the_only_claim():
    v = stats.compare_rows({"alpha": [0.50, 0.54, 0.58], "beta": [0.20, 0.26, 0.23], "gamma": [0.4, 0.4, 0.4]})
    assert (v.winner, v.top, v.runner_up, v.reason, v.tied) == ("alpha", "alpha", "gamma", "significant", frozenset())
    # three pairs: alpha-gamma has the largest raw p (0.0261, see the Welch test above), Holm factor 1
    assert v.p_vs_top("gamma") == pytest.approx(stats.welch_pvalue([0.50, 0.54, 0.58], [0.4] * 3))
    assert math.isnan(v.p_vs_top("alpha"))
    # lower is better: the same scores, the other end wins
    low = stats.compare_rows({"a": [30.0, 34, 32], "b": [12.0, 16, 14], "c": [50.0] * 3}, higher_is_better=False)
    assert low.winner == "b" and low.runner_up == "a"


def test_overlapping_seeds_give_ties_not_a_winner():
    v = stats.compare_rows({"alpha": [0.50, 0.60, 0.40], "beta": [0.45, 0.55, 0.50], "gamma": [0.10, 0.12, 0.11]})
    assert v.winner is None and v.reason == "not significant"
    assert v.tied == {"alpha", "beta"}  # gamma is significantly worse than the top (Holm p 0.041)
    assert v.p_vs_top("beta") == 1.0
    # exactly equal top means are a tie even when both rows are constant
    eq = stats.compare_rows({"a": [0.5, 0.5], "b": [0.5, 0.5], "c": [0.1, 0.1]})
    assert eq.winner is None and eq.tied == {"a", "b"}


def test_one_seed_or_one_row_claims_nothing():
    v = stats.compare_rows({"a": [0.9], "b": [0.1, 0.2]})
    assert (v.winner, v.tied, v.reason, v.top) == (None, frozenset(), "one seed", "a")
    assert stats.compare_rows({"a": [0.9, 0.8]}).reason == "one row"
    with pytest.raises(InvalidInputError):
        stats.compare_rows({"a": [1.0, 2.0]}, alpha=0)


def test_nemenyi_q_matches_demsar_table_5():
    # Demšar (2006), Table 5(a), alpha = 0.05, k = 2..10 (printed to 3 decimals)
    table = [1.960, 2.343, 2.569, 2.728, 2.850, 2.949, 3.031, 3.102, 3.164]
    assert [stats.nemenyi_q(k) for k in range(2, 11)] == pytest.approx(table, abs=1e-3)
    assert stats.nemenyi_cd(4, 14) == pytest.approx(2.569 * math.sqrt(4 * 5 / (6 * 14)), rel=1e-3)
    with pytest.raises(InvalidInputError):
        stats.nemenyi_q(1)


def test_average_ranks_and_friedman_by_hand():
    # blocks x models; block "fid" is lower-is-better
    scores = pd.DataFrame({"A": [0.9, 0.8, 10.0], "B": [0.5, 0.8, 20.0], "C": [0.1, 0.2, 30.0]},
                          index=["mig", "dci", "fid"])  # fmt: skip
    hib = {"mig": True, "dci": True, "fid": False}
    ranks = stats.block_ranks(scores, hib)
    assert ranks.loc["dci"].tolist() == [1.5, 1.5, 3.0]  # tie shares ranks 1 and 2
    avg = stats.average_ranks(scores, hib)
    assert avg.to_dict() == pytest.approx({"A": 3.5 / 3, "B": 5.5 / 3, "C": 3.0})
    assert list(avg.index) == ["A", "B", "C"]
    # Friedman chi2 = 12 N / (k (k+1)) * (sum R_j^2 - k (k+1)^2 / 4), corrected for the tie as scipy does
    stat, p = stats.friedman_test(scores, hib)
    r = np.array([3.5, 5.5, 9.0]) / 3
    chi2 = 12 * 3 / (3 * 4) * (np.sum(r**2) - 3 * 16 / 4)
    tie_correction = 1 - (2**3 - 2) / (3 * (3**3 - 3))  # one tie of 2 in 3 blocks of 3
    assert stat == pytest.approx(chi2 / tie_correction)
    assert 0 < p < 1
    with pytest.raises(InvalidInputError, match="at least 3 models"):
        stats.friedman_test(scores[["A", "B"]], hib)


def test_rank_summary_cliques():
    ranks = pd.Series({"A": 1.0, "B": 1.5, "C": 2.5, "D": 4.0})
    s = stats.RankSummary(ranks, n_blocks=6, friedman_stat=0.0, friedman_p=1.0, cd=1.2)
    # A-B (0.5 < 1.2), B-C (1.0 < 1.2), C-D 1.5 >= 1.2; A-C 1.5 is not a clique
    assert s.cliques() == [("A", "B"), ("B", "C")]
    s2 = stats.RankSummary(ranks, n_blocks=6, friedman_stat=0.0, friedman_p=1.0, cd=5.0)
    assert s2.cliques() == [("A", "B", "C", "D")]


def test_cd_diagram_draws_every_model(tmp_path):
    scores = pd.DataFrame(np.random.default_rng(0).random((6, 4)), columns=list("ABCD"))
    summary = stats.rank_summary(scores)
    assert summary.cd == pytest.approx(stats.nemenyi_cd(4, 6))
    fig = stats.cd_diagram(summary)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert all(any(t.startswith(f"{m} (") for t in texts) for m in "ABCD")
    assert f"CD = {summary.cd:.2f}" in texts
    fig.savefig(tmp_path / "cd.png")
