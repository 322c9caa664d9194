"""Reduced downstream task: how much of a factor is left in the codes once its most
informative code(s) are removed — disentanglement_lib's score of that name (the reference
file cites no paper; it follows the downstream task of Locatello et al. 2019, ICML, Sec. 5.5,
and DCI's importances, Eastwood & Williams 2018), as disentanglement_lib computes it
(``evaluation/metrics/reduced_downstream_task.py``,
``compute_reduced_downstream_task``, ``compute_reduced_representation`` with
``compute_factorwise_dci``, and ``compute_predictive_accuracy``).

For each factor of interest k: ``num_factors_to_remove`` times, the code with the largest
DCI importance for k is deleted (the importance of a gradient-boosted-trees classifier of
``v_k`` on the remaining codes, ``dci.compute_importance_gbt``; the reference computes the
whole importance matrix and reads column k, which is the same classifier); then a classifier
is fitted to every factor on the reduced codes. Reported per k: the accuracy on k (the
"reduced factor") and the mean accuracy on the other factors; aggregated over k.

The headline ``score`` is the mean test accuracy on the reduced factors: low when each
factor lives in few codes (the information leaves with them), so **lower is better** — but an
uninformative representation also scores low, so read it beside the downstream accuracy
(``"mean_test_accuracy_other_factors"`` and :mod:`disbench.metrics.downstream`).

Defaults: the reference ships this score only in its test config
(``config/tests/evaluation/evaluate_test_configs/reduced_downstream_task.gin``:
``num_factors_to_remove = 1``, ``correlation_measure = @factorwise_dci``,
``predictor_fn = @gradient_boosting_classifier``, 100/100 points); disbench keeps those and
takes the sizes of the study's other GBT scores (DCI: 10,000 training, 5,000 test points).
The GBT is :class:`disbench.metrics.gbt.GradientBoostedTrees` (= scikit-learn's
``GradientBoostingClassifier()``; ties broken at random, so reproducible up to that spread).
"""

from __future__ import annotations

import numpy as np

from disbench.errors import InvalidInputError
from disbench.metrics.codes import cache_and_rng
from disbench.metrics.downstream import PREDICTORS, check_sizes, check_split, factor_accuracies, fit_predictor
from disbench.metrics.gbt import GradientBoostedTrees
from disbench.metrics.spec import metric
from disbench.rng import as_generator


def most_informative_code(codes, labels, *, random_state=0, n_jobs: int | None = None) -> int:
    """Index of the code with the largest GBT feature importance for ``labels`` (``(N,)``);
    0 when the labels hold a single class or no tree splits (as ``numpy.argmax`` of zeros)."""
    if np.unique(labels).size < 2:
        return 0
    seed = int(as_generator(random_state).integers(2**31 - 1))
    model = GradientBoostedTrees(random_state=seed, n_jobs=n_jobs).fit(codes, labels)
    return int(np.argmax(np.abs(model.feature_importances_)))


def reduced_downstream_task_from_codes(train_codes, train_factors, test_codes, test_factors, *,
                                       num_factors_to_remove: int = 1, predictor: str = "gbt", random_state=0,
                                       n_jobs: int | None = None) -> dict:
    """Reduced downstream task at one training-set size.

    Args:
        train_codes, test_codes: float ``(N, num_codes)``, more codes than ``num_factors_to_remove``.
        train_factors, test_factors: int ``(N, num_factors)``, at least 2 factors.
        num_factors_to_remove: codes removed per factor of interest (1).
        predictor: the classifier on the reduced codes (``"gbt"``, the reference's; or
            ``"logistic_regression"``).
        random_state: seeds the trees; n_jobs: threads per GBT fit.

    Returns:
        ``{"score": mean_test_accuracy_reduced_factor, "mean_{train,test}_accuracy_reduced_factor",
        "mean_{train,test}_accuracy_other_factors", "removed_codes": per factor the original
        indices of the removed codes, "train_accuracy" / "test_accuracy": (K x K) nested lists,
        row k = the reduced codes of factor k, column i = accuracy on factor i}``.

    Raises:
        InvalidInputError: bad shapes/values, fewer than 2 factors, or no code left.
    """
    x_train, y_train, x_test, y_test = check_split(train_codes, train_factors, test_codes, test_factors,
                                                   "reduced downstream task")
    remove = int(num_factors_to_remove)
    if remove < 0 or remove >= x_train.shape[1] or y_train.shape[1] < 2:
        raise InvalidInputError(f"reduced downstream task: needs at least 2 factors and more than "
                                f"num_factors_to_remove={num_factors_to_remove} codes (got {x_train.shape[1]})")
    if predictor not in PREDICTORS:
        fit_predictor(predictor, x_train[:2], y_train[:2, 0])  # raises UnknownNameError
    rng = as_generator(random_state)
    num_factors = y_train.shape[1]
    train_acc, test_acc, removed = [], [], []
    for k in range(num_factors):
        kept = list(range(x_train.shape[1]))
        for _ in range(remove):
            j = most_informative_code(x_train[:, kept], y_train[:, k], random_state=rng, n_jobs=n_jobs)
            kept.pop(j)
        removed.append(sorted(set(range(x_train.shape[1])) - set(kept)))
        tr, te = factor_accuracies(x_train[:, kept], y_train, x_test[:, kept], y_test, predictor=predictor,
                                   random_state=rng, n_jobs=n_jobs)
        train_acc.append(tr)
        test_acc.append(te)
    tr, te = np.array(train_acc), np.array(test_acc)
    others = ~np.eye(num_factors, dtype=bool)
    out = {
        "mean_train_accuracy_reduced_factor": float(np.mean(np.diag(tr))),
        "mean_test_accuracy_reduced_factor": float(np.mean(np.diag(te))),
        "mean_train_accuracy_other_factors": float(np.mean([tr[k][others[k]].mean() for k in range(num_factors)])),
        "mean_test_accuracy_other_factors": float(np.mean([te[k][others[k]].mean() for k in range(num_factors)])),
        "removed_codes": removed, "train_accuracy": tr.tolist(), "test_accuracy": te.tolist(),
    }  # fmt: skip
    return {"score": out["mean_test_accuracy_reduced_factor"], **out}


@metric("reduced_downstream", quick={"num_train": (1_000,), "num_test": 500}, by_default=False)
def reduced_downstream(dataset, encode, *, random_state=0, num_train=(10_000,), num_test: int = 5_000,
                       num_factors_to_remove: int = 1, n_jobs: int | None = None) -> dict:
    """Reduced downstream task of a representation on a ground-truth dataset.

    Args:
        dataset: a ground-truth dataset; encode: an encoder or a :class:`CodeCache`.
        random_state: Generator or int seed.
        num_train: training-set sizes ((10000,)); num_test: test points (5,000);
        num_factors_to_remove: codes removed per factor (1) — see the module docstring.
        n_jobs: threads per GBT fit.

    Returns:
        ``{"score": the last size's mean test accuracy on the reduced factors (lower is
        better), "mean_test_accuracy_other_factors": the same size's on the others,
        "per_size": {n: see reduced_downstream_task_from_codes}}``.
    """
    cache, rng = cache_and_rng(dataset, encode, random_state)
    sizes = check_sizes(num_train, "reduced downstream task")
    per_size = {}
    for size in sizes:
        x_train, y_train, x_test, y_test = cache.sample_train_test(size, num_test, rng)
        per_size[str(size)] = reduced_downstream_task_from_codes(
            x_train, y_train, x_test, y_test, num_factors_to_remove=num_factors_to_remove, random_state=rng,
            n_jobs=n_jobs)  # fmt: skip
    last = per_size[str(sizes[-1])]
    return {"score": last["score"], "mean_test_accuracy_other_factors": last["mean_test_accuracy_other_factors"],
            "per_size": {s: {k: v for k, v in r.items() if k != "score"} for s, r in per_size.items()}}
