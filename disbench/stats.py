"""Statistics over seeds: means, confidence intervals, significance tests, ranks, CD diagrams.

One module for the leaderboard, the report and study analysis (DESIGN.md, "Seams"); the
distributions come from :mod:`scipy.stats`.

* :func:`mean_ci` — Student-t confidence interval of a mean over seeds. With 3–5 seeds a
  percentile bootstrap of the mean undercovers badly (3 values give only 10 distinct
  resample means, and its interval is never wider than the sample range); the t interval is
  the textbook one for a handful of roughly normal values.
* :func:`welch_pvalue` — two-sided Welch's t-test (unequal variances; Welch 1947) of two
  rows' per-seed scores, through ``scipy.stats.ttest_ind(equal_var=False)``. Chosen over a
  permutation test because with 3 seeds per row an exact permutation test has only
  C(6, 3) = 20 relabellings, so its smallest two-sided p-value is 0.1 and it can never reach
  α = 0.05; Welch's test assumes roughly normal seed scores, which is the usual assumption
  of seed-averaged tables and can reach significance with 3 seeds when the rows separate.
* :func:`holm` — Holm's (1979) step-down correction of a family of p-values.
* :func:`compare_rows` — the bold/tie rule of a leaderboard column (:data:`RULE`, the words
  every caption uses): the best row is *bold* only when it is significantly better than
  every other row (Welch, Holm over the k − 1 comparisons with the best, α = 0.05); the rows
  not significantly worse than the best are *tied* (†); a row with a NaN seed is marked and
  never bold; a difference of means within the metric's noise floor or under
  :data:`RESOLUTION` is never significant. With fewer than two seeds in any row nothing is
  claimed.
* :func:`average_ranks`, :func:`friedman_test`, :func:`nemenyi_cd`,
  :func:`cd_diagram` — Demšar (2006, JMLR 7, Sec. 3.2.2): average ranks over blocks, the
  Friedman test, the Nemenyi critical difference
  ``CD = q_α √(k (k + 1) / (6 N))`` with ``q_α`` the studentized range quantile divided by
  √2 (``scipy.stats.studentized_range``), and the critical-difference diagram.
* :func:`median_iqr`, :func:`spearman_matrix`, :func:`variance_share` — the summaries of a
  study (Locatello et al. 2019): median and inter-quartile range per method, Spearman rank
  correlation between metrics over runs, and the one-way ANOVA share (η²) of a score's
  variance explained by the hyper-parameter versus the seed.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from disbench.errors import InvalidInputError

ALPHA = 0.05
CONFIDENCE = 0.95
RESOLUTION = 1e-6
RESOLUTION_TEXT = "1e-6"
TEST_NAME = "Welch's t-test, Holm-corrected"
RULE = (f"Bold: the best mean, significantly better than every other row of its supervision group ({TEST_NAME} over "
        f"the k − 1 comparisons with the best, α = {ALPHA}); † not significantly worse than the best; differences "
        f"of means within the metric's sampling noise (its noise std) or under {RESOLUTION_TEXT} are never significant; "
        f"a row with a missing (NaN) seed is marked and never bold. Rows are compared only with rows of the same "
        f"dataset, profile, metric preset and supervision.")


def mean_ci(values, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Student-t confidence interval of the mean: ``mean ± t_{(1+c)/2, n-1} · s / √n``.

    Args:
        values: 1-d float scores (one per seed).
        confidence: coverage in (0, 1), default 0.95.

    Returns:
        ``(low, high)``; ``(nan, nan)`` below two values; ``(mean, mean)`` when all are equal.

    Raises:
        InvalidInputError: not 1-d, or ``confidence`` outside (0, 1).
    """
    x = _vector(values, "values")
    if not 0 < confidence < 1:
        raise InvalidInputError(f"confidence must be in (0, 1), got {confidence}")
    if x.size < 2:
        return math.nan, math.nan
    half = stats.t.ppf((1 + confidence) / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size)
    return float(x.mean() - half), float(x.mean() + half)


def welch_pvalue(a, b) -> float:
    """Two-sided p-value of Welch's t-test that rows ``a`` and ``b`` have equal means.

    ``scipy.stats.ttest_ind(a, b, equal_var=False)``; when both rows are constant the test is
    degenerate and the answer is exact: 0 if the means differ, 1 if they are equal.

    Args:
        a, b: 1-d float scores, at least two each.

    Raises:
        InvalidInputError: not 1-d or fewer than two values in a row.
    """
    a, b = _vector(a, "a"), _vector(b, "b")
    if a.size < 2 or b.size < 2:
        raise InvalidInputError(f"Welch's t-test needs at least two values per row, got {a.size} and {b.size}")
    if np.ptp(a) == 0 and np.ptp(b) == 0:
        return 0.0 if a[0] != b[0] else 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy's precision note on near-constant rows
        p = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
    return 1.0 if math.isnan(p) else p


def holm(pvalues) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values, in the input order.

    The i-th smallest p-value is multiplied by ``m - i`` (i from 0), made monotone
    non-decreasing along the sorted order, and capped at 1; reject where adjusted < α.

    Raises:
        InvalidInputError: not 1-d, NaN, or outside [0, 1].
    """
    p = _vector(pvalues, "pvalues")
    if p.size and (np.isnan(p).any() or p.min() < 0 or p.max() > 1):
        raise InvalidInputError("p-values must lie in [0, 1]")
    order = np.argsort(p, kind="stable")
    scaled = np.maximum.accumulate((p.size - np.arange(p.size)) * p[order])
    out = np.empty_like(p)
    out[order] = np.minimum(scaled, 1.0)
    return out


@dataclass(frozen=True)
class ColumnVerdict:
    """What a leaderboard column may claim (see :func:`compare_rows`).

    Attributes:
        winner: the best row when it is significantly better than *every* other row; else None.
        tied: rows not significantly worse than the best row (the best row included) when
            there is no winner and the test could run; else empty.
        reason: ``"significant"``, ``"not significant"``, ``"missing seed"`` (the best row has
            a NaN seed, so it cannot be crowned), ``"one seed"`` (some row has fewer than two
            finite seeds) or ``"one row"``.
        top, runner_up: the rows with the best and second-best means (None if absent).
        p_holm: Holm-adjusted p-value of each other row against the best, keyed
            ``(top, row)`` (the family is the k − 1 comparisons with the best).
        incomplete: rows with at least one NaN seed (marked, never bold).
    """

    winner: str | None
    tied: frozenset[str]
    reason: str
    top: str | None = None
    runner_up: str | None = None
    p_holm: Mapping[tuple[str, str], float] = field(default_factory=dict)
    incomplete: frozenset[str] = frozenset()

    def p_vs_top(self, row: str) -> float:
        """Holm-adjusted p-value of ``row`` against the best row (NaN for the best row or untested)."""
        if row == self.top:
            return math.nan
        return self.p_holm.get((self.top, row), math.nan)


def below_floor(a, b, *, resolution: float = RESOLUTION, noise_floor: float = 0.0) -> bool:
    """True when the means of ``a`` and ``b`` differ by no more than ``max(resolution, noise_floor)``.

    Such a difference is never significant in :func:`compare_rows`: it is below the stated
    resolution of the scores (two constant rows 1e-7 apart are equal for every purpose a
    table serves) or below the metric's own sampling noise (``<metric>.noise_std``: two
    models closer than the spread of the metric on one model are not told apart).

    Args:
        a, b: 1-d float scores (finite).
        resolution: smallest difference of means a table may claim (≥ 0).
        noise_floor: the metric's sampling noise std for this pair (≥ 0; NaN counts as 0).
    """
    floor = max(resolution, 0.0 if math.isnan(noise_floor) else noise_floor)
    return abs(float(np.mean(a)) - float(np.mean(b))) <= floor


def compare_rows(samples: Mapping[str, Sequence[float]], *, higher_is_better: bool = True,
                 alpha: float = ALPHA, resolution: float = RESOLUTION,
                 noise_std: Mapping[str, float] | None = None) -> ColumnVerdict:  # fmt: skip
    """The bold/tie rule of one metric column over its rows' per-seed scores — the one place it is written.

    **Bold** = the best row (best mean over its finite seeds, by ``higher_is_better``) is
    significantly better than *every* other row: each other row is compared with the best by
    :func:`welch_pvalue`, the k − 1 p-values are corrected with :func:`holm`, and all adjusted
    p-values must be below ``alpha``. Rows that do not matter cannot take the bold away (the
    family holds only comparisons with the best), and a noisy row the best does not beat
    cannot be skipped. **†** (tied) = the rows whose adjusted p-value against the best is at
    least ``alpha`` (not significantly worse), the best included, when there is no winner.

    * A row with a NaN seed (a failed or unscored metric) is *incomplete*: its mean is taken
      over its finite seeds (as :func:`disbench.leaderboard.aggregate` does), it is listed in
      ``incomplete`` and it is never bold; when it has the best mean nobody is bold.
    * A difference of means no larger than ``resolution`` or than the metric's noise floor
      (the larger ``noise_std`` of the two rows) is never significant (p = 1): see
      :func:`below_floor`.
    * With fewer than two finite seeds in any row nothing is claimed.

    The caller groups the rows: only rows of one (dataset, profile, metric preset,
    supervision) group are compared (:data:`RULE`).

    Args:
        samples: row name -> scores over seeds (any order; NaN = a missing seed).
        higher_is_better: direction of the metric (False for FID/KID).
        alpha: significance level of the bold rule, default :data:`ALPHA` (0.05).
        resolution: smallest difference of means that can be significant, default
            :data:`RESOLUTION` (1e-6).
        noise_std: row name -> the metric's sampling noise std on that row (NaN or absent: none).

    Returns:
        a :class:`ColumnVerdict`.

    Raises:
        InvalidInputError: ``alpha`` outside (0, 1) or a negative ``resolution``.
    """
    if not 0 < alpha < 1:
        raise InvalidInputError(f"alpha must be in (0, 1), got {alpha}")
    if not resolution >= 0:
        raise InvalidInputError(f"resolution must be >= 0, got {resolution}")
    vectors = {name: _vector(v, name) for name, v in samples.items()}
    incomplete = frozenset(n for n, x in vectors.items() if np.isnan(x).any())
    rows = {name: x[~np.isnan(x)] for name, x in vectors.items()}
    rows = {name: x for name, x in rows.items() if x.size}
    noise = dict(noise_std or {})
    sign = 1.0 if higher_is_better else -1.0
    ranked = sorted(rows, key=lambda n: -sign * rows[n].mean())
    top = ranked[0] if ranked else None
    runner_up = ranked[1] if len(ranked) > 1 else None
    if runner_up is None:
        return ColumnVerdict(None, frozenset(), "one row", top, runner_up, incomplete=incomplete)
    if min(x.size for x in rows.values()) < 2:
        return ColumnVerdict(None, frozenset(), "one seed", top, runner_up, incomplete=incomplete)
    others = ranked[1:]
    raw = []
    for b in others:
        floor = max((v for v in (noise.get(top), noise.get(b)) if v is not None and not math.isnan(v)), default=0.0)
        raw.append(1.0 if below_floor(rows[top], rows[b], resolution=resolution, noise_floor=floor)
                   else welch_pvalue(rows[top], rows[b]))  # fmt: skip
    adjusted = holm(raw)
    p_holm = {(top, b): float(p) for b, p in zip(others, adjusted)}
    if top not in incomplete and bool(np.all(adjusted < alpha)):
        return ColumnVerdict(top, frozenset(), "significant", top, runner_up, p_holm, incomplete)
    tied = frozenset([top] + [b for b, p in zip(others, adjusted) if p >= alpha])
    reason = "missing seed" if top in incomplete and bool(np.all(adjusted < alpha)) else "not significant"
    return ColumnVerdict(None, tied, reason, top, runner_up, p_holm, incomplete)


# --- ranks across blocks (Demšar 2006) ------------------------------------------------------
def average_ranks(scores: pd.DataFrame, higher_is_better: Mapping[str, bool] | bool = True) -> pd.Series:
    """Average rank of each model over blocks (rank 1 = best; ties get their mean rank).

    Args:
        scores: float table, one row per block (a metric, a dataset...) and one column per
            model; blocks with a missing score are dropped.
        higher_is_better: per block (index label -> bool) or one bool for all.

    Returns:
        float Series indexed by model, sorted best first.

    Raises:
        InvalidInputError: fewer than two models or no complete block.
    """
    ranks = block_ranks(scores, higher_is_better)
    return ranks.mean(axis=0).sort_values()


def block_ranks(scores: pd.DataFrame, higher_is_better: Mapping[str, bool] | bool = True) -> pd.DataFrame:
    """Per-block ranks (1 = best, ties averaged, ``scipy.stats.rankdata``) of the complete blocks.

    Raises:
        InvalidInputError: fewer than two models or no complete block.
    """
    scores = scores.dropna(axis=0, how="any")
    if scores.shape[1] < 2 or scores.empty:
        raise InvalidInputError(f"ranking needs at least two models and one complete block, got {scores.shape}")
    out = {}
    for block, row in scores.iterrows():
        hib = higher_is_better if isinstance(higher_is_better, bool) else higher_is_better[block]
        out[block] = stats.rankdata(-row.to_numpy(float) if hib else row.to_numpy(float))
    return pd.DataFrame.from_dict(out, orient="index", columns=scores.columns)


def friedman_test(scores: pd.DataFrame, higher_is_better: Mapping[str, bool] | bool = True) -> tuple[float, float]:
    """Friedman's test that all models have equal average rank (Demšar 2006, Sec. 3.2.2).

    ``scipy.stats.friedmanchisquare`` on the per-block ranks (the same ranks as
    :func:`average_ranks`).

    Returns:
        ``(chi-square statistic, p-value)``.

    Raises:
        InvalidInputError: fewer than three models or two complete blocks.
    """
    ranks = block_ranks(scores, higher_is_better)
    if ranks.shape[1] < 3 or ranks.shape[0] < 2:
        raise InvalidInputError(f"Friedman's test needs at least 3 models and 2 blocks, got {ranks.shape[::-1]}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-tied blocks: NaN, reported as p = 1
        res = stats.friedmanchisquare(*(ranks[c].to_numpy() for c in ranks.columns))
    stat, p = float(res.statistic), float(res.pvalue)
    return (0.0, 1.0) if math.isnan(p) else (stat, p)


def nemenyi_q(k: int, alpha: float = ALPHA) -> float:
    """Nemenyi's ``q_α`` for ``k`` models: the studentized range quantile (infinite degrees of
    freedom) at ``1 − α``, divided by √2 (Demšar 2006, Table 5: 2.343 for k = 3, 2.728 for 5)."""
    if k < 2:
        raise InvalidInputError(f"the Nemenyi test needs at least two models, got {k}")
    return float(stats.studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2))


def nemenyi_cd(k: int, n_blocks: int, alpha: float = ALPHA) -> float:
    """Critical difference of average ranks, ``q_α √(k (k + 1) / (6 N))`` (Demšar 2006, Sec. 3.2.2)."""
    if n_blocks < 1:
        raise InvalidInputError(f"the Nemenyi test needs at least one block, got {n_blocks}")
    return nemenyi_q(k, alpha) * math.sqrt(k * (k + 1) / (6 * n_blocks))


@dataclass(frozen=True)
class RankSummary:
    """Average ranks over blocks with the Friedman test and the Nemenyi critical difference."""

    ranks: pd.Series  # model -> average rank, best first
    n_blocks: int
    friedman_stat: float
    friedman_p: float
    cd: float
    alpha: float = ALPHA

    def cliques(self) -> list[tuple[str, ...]]:
        """Maximal runs of models (in rank order) whose average ranks differ by less than CD."""
        names, r = list(self.ranks.index), self.ranks.to_numpy()
        out: list[tuple[str, ...]] = []
        last = 0
        for i in range(len(names)):
            j = max(k for k in range(i, len(names)) if r[k] - r[i] < self.cd)
            if j > max(i, last):  # not inside the previous clique
                out.append(tuple(names[i : j + 1]))
                last = j
        return out


def rank_summary(scores: pd.DataFrame, higher_is_better: Mapping[str, bool] | bool = True,
                 alpha: float = ALPHA) -> RankSummary:  # fmt: skip
    """Average ranks, Friedman test and Nemenyi CD of ``scores`` (blocks × models, see :func:`average_ranks`).

    Raises:
        InvalidInputError: fewer than three models or two complete blocks.
    """
    ranks = block_ranks(scores, higher_is_better)
    stat, p = friedman_test(scores, higher_is_better)
    k, n = ranks.shape[1], ranks.shape[0]
    return RankSummary(ranks.mean(axis=0).sort_values(), n, stat, p, nemenyi_cd(k, n, alpha), alpha)


def cd_diagram(summary: RankSummary, *, title: str | None = None):
    """A critical-difference diagram (Demšar 2006, Fig. 1) as a matplotlib figure.

    A rank axis (1 on the left = best), each model's name joined to its average rank, the CD
    as a bar above the axis, and thick bars joining the models no farther apart than CD
    (not significantly different by the Nemenyi test).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ranks = summary.ranks
    k = len(ranks)
    half = math.ceil(k / 2)
    fig, ax = plt.subplots(figsize=(7, 1.0 + 0.3 * half))
    lo, hi = 1, max(k, 2)
    ax.set_xlim(lo - 0.5, hi + 0.5)
    ax.set_ylim(-half - 0.3, 1.5)
    ax.axis("off")
    ax.hlines(0, lo, hi, color="k", lw=1)
    for r in range(lo, hi + 1):
        ax.vlines(r, 0, 0.15, color="k", lw=1)
        ax.text(r, 0.25, str(r), ha="center", va="bottom", fontsize=8)
    ax.plot([lo, lo + summary.cd], [1.0, 1.0], color="k", lw=1.5)
    ax.vlines([lo, lo + summary.cd], 0.9, 1.1, color="k", lw=1)
    ax.text(lo + summary.cd / 2, 1.12, f"CD = {summary.cd:.2f}", ha="center", va="bottom", fontsize=8)
    for i, (name, r) in enumerate(ranks.items()):
        left = i < half
        y = -(i + 1) if left else -(k - i)
        x_text = lo - 0.45 if left else hi + 0.45
        ax.plot([r, r, x_text], [0, y, y], color="0.3", lw=0.8)
        ax.text(x_text, y + 0.08, f"{name} ({r:.2f})", ha="left" if left else "right", va="bottom", fontsize=8)
    for j, clique in enumerate(summary.cliques()):
        y = -0.35 - 0.22 * j
        ax.plot([ranks[clique[0]] - 0.03, ranks[clique[-1]] + 0.03], [y, y], color="k", lw=3, solid_capstyle="round")
    ax.set_title(title or f"Average rank over {summary.n_blocks} blocks (Friedman p = {summary.friedman_p:.3g})",
                 fontsize=9)  # fmt: skip
    return fig

# --- study analysis (Locatello et al. 2019) ----------------------------------------------------
def median_iqr(values) -> tuple[float, float, float]:
    """Median, first and third quartile of ``values`` (``numpy.percentile``'s linear
    interpolation, Hyndman & Fan 1996 type 7 — also R's and pandas' default).

    Returns:
        ``(median, q1, q3)``; the inter-quartile range is ``q3 - q1``. NaN values are dropped;
        all three are NaN when none is left.

    Raises:
        InvalidInputError: not 1-d.
    """
    x = _vector(values, "values")
    x = x[~np.isnan(x)]
    if x.size == 0:
        return math.nan, math.nan, math.nan
    q1, med, q3 = np.percentile(x, [25, 50, 75])
    return float(med), float(q1), float(q3)


def spearman_matrix(table: pd.DataFrame) -> pd.DataFrame:
    """Spearman's rank correlation ρ between every pair of columns of ``table``.

    Each pair uses the rows where both columns are present (pairwise complete), through
    ``scipy.stats.spearmanr`` (ties get average ranks). A pair with fewer than three common
    rows, or in which a column is constant, has no rank correlation: NaN. The diagonal is 1
    for every column with at least three values that are not all equal.

    Args:
        table: float columns (e.g. one per metric), one row per observation (a run).

    Returns:
        A symmetric float DataFrame indexed and labelled by ``table``'s columns.
    """
    cols = list(table.columns)
    out = pd.DataFrame(np.nan, index=cols, columns=cols, dtype=float)
    data = table.astype(float)
    for i, a in enumerate(cols):
        for b in cols[i:]:
            pair = data[[a, b]].dropna() if a != b else data[[a]].dropna()
            x = pair[a].to_numpy()
            y = pair[b].to_numpy() if a != b else x
            if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
                continue
            rho = 1.0 if a == b else float(stats.spearmanr(x, y).statistic)
            out.loc[a, b] = out.loc[b, a] = rho
    return out


@dataclass(frozen=True)
class VarianceShare:
    """How much of a score's variance the groups (hyper-parameter values) explain.

    Attributes:
        between: η² = SS_between / SS_total, the share explained by the group (the
            hyper-parameter value); NaN when it cannot be told apart from the seed (see
            :func:`variance_share`).
        within: 1 − η², the share left to the seed (variation among runs of one group).
        f, p: the one-way ANOVA F statistic and its p-value (``scipy.stats.f_oneway``).
        n_groups, n: groups with at least one value, and values.
    """

    between: float
    within: float
    f: float
    p: float
    n_groups: int
    n: int


def variance_share(values, groups) -> VarianceShare:
    """One-way ANOVA decomposition of ``values`` by ``groups``: the share of the variance
    explained by the group (η², Cohen 1973) versus the spread within groups.

    ``SS_total = Σ (x − x̄)²`` splits exactly into ``SS_between = Σ_g n_g (x̄_g − x̄)²`` and
    ``SS_within = Σ_g Σ_{i∈g} (x_i − x̄_g)²``; η² = SS_between / SS_total. In a study the groups
    are a method's hyper-parameter values and the runs within a group differ only by their
    seed, so η² is the share of the hyper-parameter and 1 − η² that of the seed (the question
    of Locatello et al. 2019, Sec. 5.3). η² is biased upwards in small samples (with one run
    per group it is 1 whatever the data); the F test says whether it is distinguishable
    from no effect.

    Args:
        values: 1-d float scores; NaN entries are dropped with their group label.
        groups: one hashable label per value.

    Returns:
        :class:`VarianceShare`; ``between``, ``within``, ``f`` and ``p`` are NaN with fewer
        than two groups, with no group of two or more values (no within-group variation to
        compare with), or when all values are equal.

    Raises:
        InvalidInputError: not 1-d, or ``groups`` of another length than ``values``.
    """
    x = _vector(values, "values")
    labels = np.asarray(groups, dtype=object)
    if labels.shape != x.shape:
        raise InvalidInputError(f"values and groups must have the same length, got {x.shape} and {labels.shape}")
    keep = ~np.isnan(x)
    frame = pd.DataFrame({"x": x[keep], "g": labels[keep]})
    parts = [g["x"].to_numpy() for _, g in frame.groupby("g", sort=False)]
    nan = VarianceShare(math.nan, math.nan, math.nan, math.nan, len(parts), int(keep.sum()))
    if len(parts) < 2 or max(p.size for p in parts) < 2 or np.ptp(frame["x"]) == 0:
        return nan
    grand = frame["x"].mean()
    ss_total = float(((frame["x"] - grand) ** 2).sum())
    ss_between = float(sum(p.size * (p.mean() - grand) ** 2 for p in parts))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant groups: scipy warns, F is inf (p 0) or NaN
        res = stats.f_oneway(*parts)
    share = min(1.0, ss_between / ss_total)
    return VarianceShare(share, 1.0 - share, float(res.statistic), float(res.pvalue), len(parts), int(keep.sum()))


def _vector(values, name: str) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1:
        raise InvalidInputError(f"{name} must be 1-d, got shape {x.shape}")
    return x
