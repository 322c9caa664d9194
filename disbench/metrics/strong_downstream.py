"""Strong downstream task: generalisation of a factor's classifier under a covariate shift of
another factor (systematic generalisation), as disentanglement_lib computes it
(``evaluation/metrics/strong_downstream_task.py``, ``compute_strong_downstream_task``,
``_compute_loss_intervene`` and ``intervene``; the reference file cites no paper: "strong
generalization under covariate shifts").

For each training-set size n, n training and ``num_test`` test factor rows are drawn. First
the plain downstream task (a classifier per factor on the codes, as
:mod:`disbench.metrics.downstream`). Then, for every target factor k and ``n_experiment``
times, an **intervention**: a factor ``j != k`` is drawn uniformly, and a value ``c`` of it;
every training row gets ``v_j = c``, every test row a value of ``v_j`` drawn uniformly from
the others (``!= c``); a classifier of ``v_k`` is fitted on the codes of the intervened
training rows and scored on the intervened test rows, which never show ``v_j = c``. Outputs:
``mean_{train,test}_accuracy`` (plain), ``mean_strong_{train,test}_accuracy`` (over targets ×
experiments) and the ``strong_generalization_gap = 1 - strong test accuracy / test accuracy``.
The headline ``score`` is the mean strong test accuracy at the last size (higher is better).

Defaults: the reference has no study config for this score (only its test: 1,000 training
and test points, ``n_experiment = 2``, ``predictor_fn = @gradient_boosting_classifier``);
disbench keeps the GBT predictor and ``_compute_loss_intervene``'s own ``n_experiment = 10``,
with the study's downstream sizes (10,000 training, 5,000 test points). The GBT is
:class:`disbench.metrics.gbt.GradientBoostedTrees` (= scikit-learn's
``GradientBoostingClassifier()``; ties broken at random). The reference draws the
interventions from numpy's global random state; here from ``random_state``.
"""

from __future__ import annotations

import numpy as np

from disbench.errors import InvalidInputError
from disbench.metrics.codes import cache_and_rng
from disbench.metrics.downstream import check_sizes, check_split, factor_accuracies
from disbench.metrics.spec import metric
from disbench.metrics.utils import check_codes, check_factors
from disbench.rng import as_generator


def intervene(train_factors, test_factors, target: int, factor_sizes, random_state=0):
    """The intervention of the strong downstream task (reference ``intervene``).

    Args:
        train_factors, test_factors: int ``(N, K)`` factor rows (not modified).
        target: the factor the classifier predicts (never intervened on).
        factor_sizes: the K factor sizes.
        random_state: Generator or int seed.

    Returns:
        ``(train, test, factor, value)``: copies with factor ``factor`` (uniform among the
        others than ``target``) set to ``value`` (uniform) in every training row and to a
        uniform value ``!= value`` in each test row.

    Raises:
        InvalidInputError: fewer than 2 factors, or a candidate factor with a single value.
    """
    sizes = [int(s) for s in factor_sizes]
    candidates = [j for j in range(len(sizes)) if j != int(target)]
    if not candidates or any(sizes[j] < 2 for j in candidates):
        raise InvalidInputError("strong downstream task: every factor but the target needs at least 2 values "
                                "(an intervention moves the test rows off the training value)")
    rng = as_generator(random_state)
    factor = candidates[int(rng.integers(len(candidates)))]
    value = int(rng.integers(sizes[factor]))
    train, test = np.array(train_factors, copy=True), np.array(test_factors, copy=True)
    train[:, factor] = value
    others = np.delete(np.arange(sizes[factor]), value)
    test[:, factor] = others[rng.integers(len(others), size=len(test))]
    return train, test, factor, value


def strong_downstream_task_from_codes(train_codes, train_factors, test_codes, test_factors, interventions, *,
                                      predictor: str = "gbt", random_state=0, n_jobs: int | None = None) -> dict:
    """Strong downstream task at one training-set size, from codes.

    Args:
        train_codes, test_codes: float ``(N, num_codes)``; train_factors, test_factors: int
            ``(N, K)``: the plain (not intervened) sample.
        interventions: sequence of ``(target, train_codes, train_factors, test_codes,
            test_factors)``, the codes and factor rows after an intervention (:func:`intervene`)
            and the factor the classifier predicts.
        predictor: ``"gbt"`` (the reference's) or ``"logistic_regression"``.
        random_state: seeds the trees; n_jobs: threads per GBT fit.

    Returns:
        ``{"score": mean_strong_test_accuracy, "mean_train_accuracy", "mean_test_accuracy",
        "mean_strong_train_accuracy", "mean_strong_test_accuracy", "strong_generalization_gap",
        "strong_test_accuracy_per_factor": mean over that target's experiments}``.

    Raises:
        InvalidInputError: bad shapes/values or no intervention.
    """
    x_train, y_train, x_test, y_test = check_split(train_codes, train_factors, test_codes, test_factors,
                                                   "strong downstream task")
    if len(interventions) == 0:
        raise InvalidInputError("strong downstream task: no intervention given (n_experiment must be >= 1)")
    rng = as_generator(random_state)
    train, test = factor_accuracies(x_train, y_train, x_test, y_test, predictor=predictor, random_state=rng,
                                    n_jobs=n_jobs)
    strong_train, strong_test, targets = [], [], []
    for target, xi_train, yi_train, xi_test, yi_test in interventions:
        xi_train = check_codes(xi_train, name="intervened train codes", min_rows=1)
        xi_test = check_codes(xi_test, name="intervened test codes", min_rows=1)
        yi_train = check_factors(yi_train, len(xi_train), name="intervened train factors")
        yi_test = check_factors(yi_test, len(xi_test), name="intervened test factors")
        tr, te = factor_accuracies(xi_train, yi_train, xi_test, yi_test, predictor=predictor, random_state=rng,
                                   n_jobs=n_jobs, factors=[int(target)])
        strong_train += tr
        strong_test += te
        targets.append(int(target))
    mean_test, strong = float(np.mean(test)), float(np.mean(strong_test))
    per_factor = [float(np.mean([a for a, t in zip(strong_test, targets) if t == k])) if k in targets else float("nan")
                  for k in range(y_train.shape[1])]
    return {"score": strong, "mean_train_accuracy": float(np.mean(train)), "mean_test_accuracy": mean_test,
            "mean_strong_train_accuracy": float(np.mean(strong_train)), "mean_strong_test_accuracy": strong,
            "strong_generalization_gap": 1.0 - strong / mean_test if mean_test > 0 else float("nan"),
            "strong_test_accuracy_per_factor": per_factor}


@metric("strong_downstream", quick={"num_train": (1_000,), "num_test": 500, "n_experiment": 2}, by_default=False)
def strong_downstream(dataset, encode, *, random_state=0, num_train=(10_000,), num_test: int = 5_000,
                      n_experiment: int = 10, n_jobs: int | None = None) -> dict:
    """Strong downstream task of a representation on a ground-truth dataset.

    Args:
        dataset: a ground-truth dataset; encode: an encoder or a :class:`CodeCache`.
        random_state: Generator or int seed.
        num_train: training-set sizes ((10000,)); num_test: test points (5,000);
        n_experiment: interventions per target factor (10) — see the module docstring.
        n_jobs: threads per GBT fit.

    Returns:
        ``{"score": the last size's mean strong test accuracy, "strong_generalization_gap",
        "mean_test_accuracy": the same size's, "per_size": {n: see
        strong_downstream_task_from_codes}}``.

    Raises:
        InvalidInputError: ``n_experiment < 1`` or a dataset factor with a single value.
    """
    if int(n_experiment) < 1:
        raise InvalidInputError(f"strong downstream task: n_experiment must be >= 1, got {n_experiment}")
    cache, rng = cache_and_rng(dataset, encode, random_state)
    sizes_of = cache.dataset.factors_num_values
    sizes = check_sizes(num_train, "strong downstream task")
    per_size = {}
    for size in sizes:
        f_train = cache.dataset.sample_factors(size, rng)
        f_test = cache.dataset.sample_factors(int(num_test), rng)
        x_train, x_test = cache.codes(f_train, rng), cache.codes(f_test, rng)
        interventions = []
        for k in range(len(sizes_of)):
            for _ in range(int(n_experiment)):
                fi_train, fi_test, _, _ = intervene(f_train, f_test, k, sizes_of, rng)
                interventions.append((k, cache.codes(fi_train, rng), fi_train, cache.codes(fi_test, rng), fi_test))
        per_size[str(size)] = strong_downstream_task_from_codes(x_train, f_train, x_test, f_test, interventions,
                                                                random_state=rng, n_jobs=n_jobs)
    last = per_size[str(sizes[-1])]
    return {"score": last["score"], "strong_generalization_gap": last["strong_generalization_gap"],
            "mean_test_accuracy": last["mean_test_accuracy"],
            "per_size": {s: {k: v for k, v in r.items() if k != "score"} for s, r in per_size.items()}}
