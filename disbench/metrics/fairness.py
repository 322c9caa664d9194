"""Unfairness of classifiers trained on a representation (Locatello, Abbati, Rainforth,
Bauer, Schölkopf, Bachem 2019, "On the Fairness of Disentangled Representations", NeurIPS
2019, Section 4), as disentanglement_lib computes it (``evaluation/metrics/fairness.py``,
``compute_fairness``, ``inter_group_fairness``, ``compute_scores_dict``).

For a target factor y = ``v_i`` and a sensitive factor s = ``v_j`` (``j != i``), a classifier
predicts y from the codes (trained on ``num_train`` points); ``num_test_points_per_class``
factor rows are drawn and, for every value c of s, *intervened* on (``v_j := c``, the rest
kept) and encoded. With ``P(ŷ | do(s = c))`` the distribution of the predictions under
intervention c and ``P(ŷ) = sum_c P(ŷ | do(s = c)) n_c / n`` their pooled distribution,
the unfairness is the total variation distance, averaged over the values of s weighted by
their counts (Section 4, the demographic-parity gap under interventions),

    ``unfairness(ŷ, s) = sum_c n_c / n * 1/2 sum_y |P(ŷ = y | do(s = c)) - P(ŷ = y)|``,

and its maximum over c (``max_fairness``). The (K x K) matrices (diagonal undefined) are
reduced by mean or max over sensitive and over target factors; the paper's score (the
headline ``score``; **lower is better**) is ``mean_fairness:mean_pred:mean_sens``: per target
the mean over sensitive factors, then the mean over targets.

Defaults: ``config/fairness_study_v1/metric_configs/fairness.gin`` — ``num_train = 10000``,
``num_test_points_per_class = 100``, ``predictor_fn = @gradient_boosting_classifier``
(scikit-learn's ``GradientBoostingClassifier()``, here
:class:`disbench.metrics.gbt.GradientBoostedTrees`: the same estimator, ties broken at
random in both). The reference normalises the counts in float32; disbench in float64
(differences ~1e-7).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from disbench.errors import InvalidInputError
from disbench.metrics.codes import cache_and_rng
from disbench.metrics.downstream import fit_predictor
from disbench.metrics.spec import metric
from disbench.metrics.utils import check_codes, check_factors
from disbench.rng import as_generator

HEADLINE = "mean_fairness:mean_pred:mean_sens"


def inter_group_fairness(counts) -> tuple[float, float]:
    """Count-weighted mean and maximum total variation distance of each sensitive class's
    prediction distribution to the pooled one.

    Args:
        counts: non-negative ``(num_predicted_classes, num_sensitive_classes)`` counts of
            predictions (rows) per sensitive class (columns), each column with a positive sum.

    Returns:
        ``(mean, max)``, floats in [0, 1].

    Raises:
        InvalidInputError: not a 2-d non-negative array, or an empty column.
    """
    c = np.asarray(counts, dtype=np.float64)
    if c.ndim != 2 or c.size == 0 or (c < 0).any() or not np.isfinite(c).all():
        raise InvalidInputError("fairness: counts must be a finite non-negative 2-d array")
    per_class = c.sum(axis=0)
    if (per_class == 0).any():
        raise InvalidInputError("fairness: every sensitive class needs at least one prediction counted")
    overall = c.sum(axis=1) / c.sum()
    tv = np.abs(c / per_class - overall[:, None]).sum(axis=0) / 2.0
    return float(np.sum(tv * per_class) / per_class.sum()), float(tv.max())


def fairness_scores(matrix, prefix: str) -> dict:
    """Every reduction of a (K x K) fairness matrix (diagonal ignored), named as the reference's
    ``compute_scores_dict``: ``{prefix}:pred{i}:sens{j}``, ``{prefix}:pred{i}:{mean,max}_sens``,
    ``{prefix}:sens{j}:{mean,max}_pred`` and the eight ``{prefix}:{a}_{sens,pred}:{b}_{pred,sens}``.

    Raises:
        InvalidInputError: not a square matrix of at least 2 x 2.
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] < 2:
        raise InvalidInputError("fairness: the matrix must be square with at least 2 factors")
    k = m.shape[0]
    off = ~np.eye(k, dtype=bool)
    out = {f"{prefix}:pred{i}:sens{j}": float(m[i, j]) for i in range(k) for j in range(k) if i != j}
    rows = [m[i][off[i]] for i in range(k)]  # per target: over the sensitive factors
    cols = [m[:, j][off[:, j]] for j in range(k)]  # per sensitive factor: over the targets
    for i, r in enumerate(rows):
        out[f"{prefix}:pred{i}:mean_sens"], out[f"{prefix}:pred{i}:max_sens"] = float(r.mean()), float(r.max())
    for j, c in enumerate(cols):
        out[f"{prefix}:sens{j}:mean_pred"], out[f"{prefix}:sens{j}:max_pred"] = float(c.mean()), float(c.max())
    col_mean, col_max = np.array([c.mean() for c in cols]), np.array([c.max() for c in cols])
    row_mean, row_max = np.array([r.mean() for r in rows]), np.array([r.max() for r in rows])
    out.update({
        f"{prefix}:mean_sens:mean_pred": float(col_mean.mean()), f"{prefix}:mean_sens:max_pred": float(col_max.mean()),
        f"{prefix}:max_sens:mean_pred": float(col_mean.max()), f"{prefix}:max_sens:max_pred": float(col_max.max()),
        f"{prefix}:mean_pred:mean_sens": float(row_mean.mean()), f"{prefix}:mean_pred:max_sens": float(row_max.mean()),
        f"{prefix}:max_pred:mean_sens": float(row_mean.max()), f"{prefix}:max_pred:max_sens": float(row_max.max()),
    })  # fmt: skip
    return out


def fairness_from_codes(train_codes, train_factors, test_factors: Mapping, codes_of: Callable, factor_sizes, *,
                        predictor: str = "gbt", random_state=0, n_jobs: int | None = None) -> dict:
    """Unfairness of every (target, sensitive) pair of factors.

    Args:
        train_codes: float ``(N, num_codes)``; train_factors: int ``(N, K)``.
        test_factors: ``{(i, j): int (n, K) factor rows}`` for every target i != sensitive j:
            the rows intervened on (their factor j is replaced by each of its values).
        codes_of: ``int (m, K) factor rows -> float (m, num_codes)`` codes.
        factor_sizes: the K factor sizes.
        predictor: ``"gbt"`` (the reference's) or ``"logistic_regression"``.
        random_state: seeds the trees; n_jobs: threads per GBT fit.

    Returns:
        ``{"score": mean_fairness:mean_pred:mean_sens, "mean_fairness", "max_fairness": (K x K)
        nested lists (diagonal NaN), and every key of fairness_scores for both}``.

    Raises:
        InvalidInputError: bad shapes, fewer than 2 factors, a missing pair.
    """
    x_train = check_codes(train_codes, name="fairness train codes", min_rows=1)
    y_train = check_factors(train_factors, len(x_train), name="fairness train factors")
    sizes = [int(s) for s in factor_sizes]
    k = len(sizes)
    if k < 2 or y_train.shape[1] != k:
        raise InvalidInputError(f"fairness: needs at least 2 factors and factors of width {k}")
    rng = as_generator(random_state)
    mean_m, max_m = np.full((k, k), np.nan), np.full((k, k), np.nan)
    for i in range(k):
        model = fit_predictor(predictor, x_train, y_train[:, i], random_state=rng, n_jobs=n_jobs)
        for j in range(k):
            if i == j:
                continue
            if (i, j) not in test_factors:
                raise InvalidInputError(f"fairness: no test rows for target {i}, sensitive factor {j}")
            rows = np.asarray(test_factors[(i, j)])
            counts = np.zeros((sizes[i], sizes[j]), dtype=np.int64)
            for c in range(sizes[j]):
                intervened = rows.copy()
                intervened[:, j] = c
                predictions = np.asarray(model.predict(check_codes(codes_of(intervened), min_rows=1)), dtype=np.int64)
                counts[:, c] = np.bincount(predictions, minlength=sizes[i])
            mean_m[i, j], max_m[i, j] = inter_group_fairness(counts)
    out = {**fairness_scores(mean_m, "mean_fairness"), **fairness_scores(max_m, "max_fairness")}
    return {"score": out[HEADLINE], "mean_fairness": mean_m.tolist(), "max_fairness": max_m.tolist(), **out}


@metric("fairness", quick={"num_train": 2_500}, by_default=False)
def fairness(dataset, encode, *, random_state=0, num_train: int = 10_000, num_test_points_per_class: int = 100,
             n_jobs: int | None = None) -> dict:
    """Unfairness of a representation's GBT classifiers on a ground-truth dataset.

    Args:
        dataset: a ground-truth dataset; encode: an encoder or a :class:`CodeCache`.
        random_state: Generator or int seed.
        num_train: training points (10,000); num_test_points_per_class: rows intervened on per
            (target, sensitive) pair (100) — ``fairness_study_v1/metric_configs/fairness.gin``.
        n_jobs: threads per GBT fit.

    Returns:
        See :func:`fairness_from_codes` (``score``: lower is better).
    """
    cache, rng = cache_and_rng(dataset, encode, random_state)
    x_train, y_train = cache.sample(int(num_train), rng)
    sizes = cache.dataset.factors_num_values
    k = len(sizes)
    test = {(i, j): cache.dataset.sample_factors(int(num_test_points_per_class), rng)
            for i in range(k) for j in range(k) if i != j}
    return fairness_from_codes(x_train, y_train, test, lambda f: cache.codes(f, rng), sizes, random_state=rng,
                               n_jobs=n_jobs)
