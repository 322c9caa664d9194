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


def _welch(a, b) -> float:
    """Welch's two-sided p-value straight from scipy (the independent reference of these tests)."""
    from scipy import stats as scipy_stats

    return float(scipy_stats.ttest_ind(a, b, equal_var=False).pvalue)


def test_bold_needs_the_best_to_beat_every_row_even_a_noisy_third():
    # issue 22.1: the top beats the runner-up (raw p 2.6e-4) but not the noisy third (raw p 0.85);
    # the old rule (top vs runner-up only) made it bold although its adjusted p against the third is 0.85
    top, runner_up, noisy = [0.90, 0.91, 0.92], [0.80, 0.81, 0.82], [0.0, 0.6, 1.8]
    v = stats.compare_rows({"top": top, "runner_up": runner_up, "noisy": noisy})
    assert v.winner is None and v.reason == "not significant"
    assert v.tied == {"top", "noisy"}  # the runner-up is significantly worse, the noisy row is not
    # Holm over the k - 1 = 2 comparisons with the best: 2 x the smaller raw p, then the larger raw p
    assert v.p_vs_top("runner_up") == pytest.approx(2 * _welch(top, runner_up))
    assert v.p_vs_top("noisy") == pytest.approx(_welch(top, noisy))


def test_rows_that_do_not_matter_cannot_take_the_bold():
    # issue 22.1: top vs runner-up raw p = 0.0196; three clearly worse rows, close to each other. Holm over
    # all ten pairs (the old family) raised it to 0.078 and took the bold; over the four comparisons with
    # the best it stays 0.0196 (the largest p of the family, Holm factor 1)
    top, runner_up = [0.60, 0.62, 0.64], [0.55, 0.56, 0.57]
    worse = {"w0": [0.10, 0.11, 0.12], "w1": [0.10, 0.115, 0.13], "w2": [0.105, 0.11, 0.125]}
    alone = stats.compare_rows({"top": top, "runner_up": runner_up})
    crowded = stats.compare_rows({"top": top, "runner_up": runner_up, **worse})
    assert alone.winner == crowded.winner == "top" and crowded.reason == "significant"
    assert crowded.p_vs_top("runner_up") == pytest.approx(_welch(top, runner_up)) == pytest.approx(0.019620, abs=1e-6)


def test_a_row_with_a_missing_seed_is_marked_and_never_bold():
    # issue 22.1: the NaN seed is dropped for the test (as aggregate drops it for the mean), the row is
    # marked incomplete and cannot be crowned even when it clearly has the best mean
    v = stats.compare_rows({"a": [0.90, 0.91, np.nan, 0.92], "b": [0.10, 0.11, 0.12, 0.13]})
    assert v.incomplete == {"a"} and v.top == "a" and v.winner is None and v.reason == "missing seed"
    assert v.p_vs_top("b") == pytest.approx(_welch([0.90, 0.91, 0.92], [0.10, 0.11, 0.12, 0.13]))
    # an incomplete row that is not the best does not stop a complete best from winning
    w = stats.compare_rows({"a": [0.90, 0.91, 0.92], "b": [0.10, np.nan, 0.12]})
    assert w.winner == "a" and w.incomplete == {"b"}


def test_differences_below_the_resolution_or_the_noise_floor_are_never_significant():
    # issue 22.1: two constant rows 1e-7 apart gave p = 0 and a bold winner
    v = stats.compare_rows({"a": [0.5, 0.5, 0.5], "b": [0.5 + 1e-7] * 3})
    assert v.winner is None and v.tied == {"a", "b"} and v.p_vs_top("a") == 1.0
    assert float(stats.RESOLUTION_TEXT) == stats.RESOLUTION  # the caption prints the rule's value
    assert stats.below_floor([0.5] * 3, [0.5 + 1e-7] * 3) and not stats.below_floor([0.5] * 3, [0.5 + 1e-5] * 3)
    assert stats.compare_rows({"a": [0.5, 0.5, 0.5], "b": [0.5 + 1e-5] * 3}).winner == "b"  # above the resolution
    # a clear Welch difference (0.05, p = 6e-4) within the metric's own noise (std 0.06 over metric seeds)
    a, b = [0.60, 0.61, 0.62], [0.55, 0.56, 0.57]
    assert stats.compare_rows({"a": a, "b": b}).winner == "a"
    quiet = stats.compare_rows({"a": a, "b": b}, noise_std={"a": 0.01, "b": math.nan})
    assert quiet.winner == "a"
    noisy = stats.compare_rows({"a": a, "b": b}, noise_std={"a": 0.01, "b": 0.06})
    assert noisy.winner is None and noisy.tied == {"a", "b"} and noisy.p_vs_top("b") == 1.0
    with pytest.raises(InvalidInputError):
        stats.compare_rows({"a": a, "b": b}, resolution=-1)


def test_holm_over_the_comparisons_with_the_best_changes_the_verdict():
    # issue 26.2 under the new rule: a = [.60, .62, .64], b = [.59, .61, .63], c = [.55, .56, .57].
    # raw p(a, b) = 0.5734, raw p(a, c) = 0.0196; Holm over the k - 1 = 2 comparisons: p(a, c) = 2 x 0.0196
    # = 0.0392 (< 0.05: c is significantly worse), p(a, b) = max(0.0392, 0.5734) = 0.5734
    a, b, c = [0.60, 0.62, 0.64], [0.59, 0.61, 0.63], [0.55, 0.56, 0.57]
    v = stats.compare_rows({"a": a, "b": b, "c": c})
    assert v.winner is None and v.tied == {"a", "b"}
    assert _welch(a, c) == pytest.approx(0.019620, abs=1e-6)
    assert v.p_vs_top("c") == pytest.approx(2 * _welch(a, c)) == pytest.approx(0.039240, abs=1e-6)
    assert v.p_vs_top("b") == pytest.approx(_welch(a, b)) == pytest.approx(0.573392, abs=1e-6)
    # a case where the correction changes the tie set: raw p 0.0376 and 0.0334 are each below 0.05, but
    # Holm gives both 2 x 0.0334 = 0.0668, so both are tied with the best (without Holm: neither)
    top = np.array([0.60, 0.62, 0.64])
    w = stats.compare_rows({"a": top, "b": top - 0.050, "c": top - 0.052})
    assert _welch(top, top - 0.050) < 0.05 and _welch(top, top - 0.052) < 0.05
    assert w.tied == {"a", "b", "c"} and w.p_vs_top("b") == pytest.approx(2 * _welch(top, top - 0.052))


def test_bold_rule_alpha_is_005():
    # two rows 0.048 apart (raw p 0.0424) are bold at the rule's alpha; 0.045 apart (p 0.0511) are not
    top = np.array([0.60, 0.62, 0.64])
    assert stats.ALPHA == 0.05
    assert _welch(top, top - 0.048) == pytest.approx(0.042415, abs=1e-5)
    assert _welch(top, top - 0.045) == pytest.approx(0.051076, abs=1e-5)
    assert stats.compare_rows({"a": top, "b": top - 0.048}).winner == "a"
    assert stats.compare_rows({"a": top, "b": top - 0.045}).winner is None
    assert stats.compare_rows({"a": top, "b": top - 0.048}, alpha=0.01).winner is None
    assert "α = 0.05" in stats.RULE and "k − 1 comparisons with the best" in stats.RULE


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
