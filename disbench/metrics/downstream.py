"""Downstream task (Locatello et al. 2019, "Challenging Common Assumptions in the Unsupervised
Learning of Disentangled Representations", ICML 2019, Section 5.5, "Are these disentangled
representations useful for downstream tasks in terms of the sample complexity of learning?"),
as disentanglement_lib computes it (``evaluation/metrics/downstream_task.py``,
``compute_downstream_task`` and ``_compute_loss``).

For each training-set size n, n points and a test set are sampled (train drawn first,
then test, a fresh pair per size); for every factor k a classifier predicts ``v_k`` from
all codes ``z``; the outputs are each factor's train/test accuracy and their mean and minimum
over factors. The headline ``score`` is the mean test accuracy at the last (largest) size;
the sample efficiency of the paper is the ratio of the accuracies at 100 and 10,000 points.

Two predictors, two registered metrics, as the reference's two configs
(``config/unsupervised_study_v1/metric_configs/downstream_task_{logistic_regression,
boosted_trees}.gin``; the same in ``fairness_study_v1``): ``num_train = [10, 100, 1000,
10000]``, ``num_test = 5000`` and

* ``downstream_lr``: ``logistic_regression_cv`` (``utils.py``): scikit-learn's
  ``LogisticRegressionCV(Cs=10, cv=KFold(n_splits=5))`` — today's scikit-learn (lbfgs,
  multinomial; before 0.22 it was one-vs-rest). Deterministic.
* ``downstream_gbt``: ``gradient_boosting_classifier``, scikit-learn's
  ``GradientBoostingClassifier()``, here :class:`disbench.metrics.gbt.GradientBoostedTrees`
  (the same estimator; exactly tied splits are broken at random in both, so the score is
  reproducible only up to that spread).

One departure: where a factor takes a single value in a (small) training sample the
reference's classifiers raise; here that factor is predicted as its one value (reported in
``"single_class_factors"``).
"""

from __future__ import annotations

import warnings

import numpy as np

from disbench.errors import InvalidInputError, unknown_name
from disbench.metrics.codes import cache_and_rng
from disbench.metrics.gbt import GradientBoostedTrees
from disbench.metrics.spec import metric
from disbench.metrics.utils import check_codes, check_factors
from disbench.rng import as_generator

PREDICTORS = {
    "logistic_regression": "LogisticRegressionCV(Cs=10, cv=KFold(n_splits=5)) (disentanglement_lib "
                           "logistic_regression_cv)",
    "gbt": "gradient-boosted trees = GradientBoostingClassifier() (disentanglement_lib gradient_boosting_classifier)",
}


class _OneClass:
    """The predictor of a factor seen with a single value: always that value."""

    def __init__(self, label):
        self.label = label

    def predict(self, x):
        return np.full(len(x), self.label)


def fit_predictor(predictor: str, x, y, *, random_state=0, n_jobs: int | None = None):
    """Fit the named classifier (:data:`PREDICTORS`) to codes ``x`` ``(N, num_codes)`` and one
    factor's labels ``y`` ``(N,)``; a single-valued ``y`` gives a constant predictor.

    Returns:
        a fitted object with ``predict(x) -> labels``.

    Raises:
        UnknownNameError: unknown ``predictor``.
    """
    if predictor not in PREDICTORS:
        raise unknown_name("predictor", predictor, PREDICTORS)
    y = np.asarray(y)
    if np.unique(y).size < 2:
        return _OneClass(y[0])
    if predictor == "gbt":
        seed = int(as_generator(random_state).integers(2**31 - 1))
        return GradientBoostedTrees(random_state=seed, n_jobs=n_jobs).fit(x, y)
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import KFold
    from threadpoolctl import threadpool_limits

    # one BLAS thread: the problems are tiny (codes x classes), and threaded BLAS inside the
    # lbfgs path made one fit 30x slower in wall time on a loaded 2-core machine (34 s vs 1.2 s)
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)  # folds lacking a class (small samples)
        warnings.simplefilter("ignore", FutureWarning)  # scikit-learn 1.9's notice on its fitted attributes
        return LogisticRegressionCV(Cs=10, cv=KFold(n_splits=5)).fit(x, y)


def factor_accuracies(x_train, y_train, x_test, y_test, *, predictor: str = "gbt", random_state=0,
                      n_jobs: int | None = None, factors=None) -> tuple[list, list]:
    """Per factor, train and test accuracy of a classifier fitted on the training codes.

    Args:
        x_train, x_test: float codes ``(N, num_codes)``; y_train, y_test: int factors ``(N, K)``.
        predictor: a key of :data:`PREDICTORS`.
        random_state: seeds the classifiers (one draw per factor).
        factors: the factor indices to score (default all), in order.

    Returns:
        ``(train accuracies, test accuracies)``, lists of floats in [0, 1].
    """
    rng = as_generator(random_state)
    train, test = [], []
    for k in range(y_train.shape[1]) if factors is None else factors:
        model = fit_predictor(predictor, x_train, y_train[:, k], random_state=rng, n_jobs=n_jobs)
        train.append(float(np.mean(model.predict(x_train) == y_train[:, k])))
        test.append(float(np.mean(model.predict(x_test) == y_test[:, k])))
    return train, test


def check_split(train_codes, train_factors, test_codes, test_factors, what: str):
    """Checked ``(x_train, y_train, x_test, y_test)`` (codes float64, factors int64).

    Raises:
        InvalidInputError: bad shapes/values, or train and test disagree in codes/factors.
    """
    x_train = check_codes(train_codes, name=f"{what} train codes", min_rows=1)
    x_test = check_codes(test_codes, name=f"{what} test codes", min_rows=1)
    y_train = check_factors(train_factors, len(x_train), name=f"{what} train factors")
    y_test = check_factors(test_factors, len(x_test), name=f"{what} test factors")
    if x_test.shape[1] != x_train.shape[1] or y_test.shape[1] != y_train.shape[1]:
        raise InvalidInputError(f"{what}: train and test disagree in the number of codes or factors")
    return x_train, y_train, x_test, y_test


def downstream_task_from_codes(train_codes, train_factors, test_codes, test_factors, *, predictor: str = "gbt",
                               random_state=0, n_jobs: int | None = None) -> dict:
    """Downstream accuracies at one training-set size (``_compute_loss`` of the reference).

    Args:
        train_codes, test_codes: float ``(N, num_codes)``.
        train_factors, test_factors: int ``(N, num_factors)``.
        predictor: ``"logistic_regression"`` or ``"gbt"`` (:data:`PREDICTORS`).
        random_state: seeds the GBT classifiers (unused by the logistic regression).
        n_jobs: threads per GBT fit.

    Returns:
        ``{"score": mean test accuracy, "mean_train_accuracy", "mean_test_accuracy",
        "min_train_accuracy", "min_test_accuracy", "train_accuracy_per_factor",
        "test_accuracy_per_factor", "single_class_factors"}``.

    Raises:
        InvalidInputError: bad shapes/values; UnknownNameError: unknown ``predictor``.
    """
    x_train, y_train, x_test, y_test = check_split(train_codes, train_factors, test_codes, test_factors,
                                                   "downstream task")
    train, test = factor_accuracies(x_train, y_train, x_test, y_test, predictor=predictor,
                                    random_state=random_state, n_jobs=n_jobs)
    single = [k for k in range(y_train.shape[1]) if np.unique(y_train[:, k]).size < 2]
    return {"score": float(np.mean(test)), "mean_train_accuracy": float(np.mean(train)),
            "mean_test_accuracy": float(np.mean(test)), "min_train_accuracy": float(np.min(train)),
            "min_test_accuracy": float(np.min(test)), "train_accuracy_per_factor": train,
            "test_accuracy_per_factor": test, "single_class_factors": single}


def check_sizes(num_train, what: str) -> list[int]:
    """``num_train`` (an int or a sequence of ints) as a non-empty list of positive ints."""
    sizes = [num_train] if isinstance(num_train, int | np.integer) else list(num_train)
    if not sizes or any(int(s) < 1 for s in sizes):
        raise InvalidInputError(f"{what}: num_train must be positive training-set sizes, got {num_train!r}")
    return [int(s) for s in sizes]


def _downstream(dataset, encode, predictor, random_state, num_train, num_test, n_jobs) -> dict:
    cache, rng = cache_and_rng(dataset, encode, random_state)
    per_size = {}
    for size in check_sizes(num_train, "downstream task"):
        x_train, y_train, x_test, y_test = cache.sample_train_test(size, num_test, rng)
        per_size[str(size)] = downstream_task_from_codes(x_train, y_train, x_test, y_test, predictor=predictor,
                                                         random_state=rng, n_jobs=n_jobs)
    last = per_size[str(check_sizes(num_train, "downstream task")[-1])]
    out = {"score": last["score"], "predictor": PREDICTORS[predictor]}
    for size, r in per_size.items():
        out[f"test_accuracy_{size}"] = r["mean_test_accuracy"]
    if "100" in per_size and "10000" in per_size and per_size["10000"]["mean_test_accuracy"] > 0:
        out["sample_efficiency"] = per_size["100"]["mean_test_accuracy"] / per_size["10000"]["mean_test_accuracy"]
    out["per_size"] = {size: {k: v for k, v in r.items() if k != "score"} for size, r in per_size.items()}
    return out


QUICK = {"num_train": (10, 100, 1000), "num_test": 1000}


@metric("downstream_lr", quick=QUICK, by_default=False)
def downstream_lr(dataset, encode, *, random_state=0, num_train=(10, 100, 1000, 10_000), num_test: int = 5_000,
                  n_jobs: int | None = None) -> dict:
    """Downstream task with 5-fold cross-validated logistic regression.

    Args:
        dataset: a ground-truth dataset; encode: an encoder or a :class:`CodeCache`.
        random_state: Generator or int seed.
        num_train: training-set sizes ((10, 100, 1000, 10000)); num_test: test points (5,000)
            — ``downstream_task_logistic_regression.gin``.
        n_jobs: unused (the signature of the metrics that fit classifiers).

    Returns:
        ``{"score": mean test accuracy at the last size, "test_accuracy_<n>" per size,
        "sample_efficiency" (accuracy at 100 / at 10,000 points, when both are sizes),
        "per_size": {n: see downstream_task_from_codes}, "predictor"}``.
    """
    return _downstream(dataset, encode, "logistic_regression", random_state, num_train, num_test, n_jobs)


@metric("downstream_gbt", quick=QUICK, by_default=False)
def downstream_gbt(dataset, encode, *, random_state=0, num_train=(10, 100, 1000, 10_000), num_test: int = 5_000,
                   n_jobs: int | None = None) -> dict:
    """Downstream task with gradient-boosted trees.

    Args:
        dataset, encode, random_state: see :func:`downstream_lr`.
        num_train, num_test: ((10, 100, 1000, 10000), 5,000) — ``downstream_task_boosted_trees.gin``.
        n_jobs: threads per GBT fit.

    Returns:
        See :func:`downstream_lr`.
    """
    return _downstream(dataset, encode, "gbt", random_state, num_train, num_test, n_jobs)
