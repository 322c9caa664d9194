"""Separated Attribute Predictability (Kumar et al. 2018, "Variational Inference of
Disentangled Latent Concepts from Unlabeled Observations", ICLR 2018, Section 3).

For discrete factors, entry ``S_jk`` of the score matrix is the test accuracy of a linear
SVM predicting factor k from code j alone (scikit-learn ``LinearSVC(C=0.01,
class_weight="balanced")`` as in disentanglement_lib); SAP is the mean over factors of the
gap between the two highest entries of column k.

Defaults: disentanglement_lib ``unsupervised_study_v1`` (``sap_score``: 10,000 training and
5,000 test points, ``continuous_factors = False``). The per-factor fits run in parallel.
"""

from __future__ import annotations

import numpy as np
from joblib import Parallel, delayed
from sklearn.svm import LinearSVC

from disbench.errors import InvalidInputError
from disbench.metrics.codes import cache_and_rng
from disbench.metrics.spec import metric
from disbench.metrics.utils import check_codes, check_factors, default_n_jobs, require_classes, top_two_gap
from disbench.rng import as_generator


def sap_from_score_matrix(score_matrix) -> dict:
    """SAP from a ``(num_codes, num_factors)`` score matrix (num_codes >= 2).

    Returns:
        ``{"score": mean top-two gap, "per_factor": list of gaps}``.
    """
    s = check_codes(score_matrix, name="score matrix", min_rows=2)
    gaps = top_two_gap(s)
    return {"score": float(gaps.mean()), "per_factor": gaps.tolist()}


def _factor_column(x_train, y_train, x_test, y_test, seed) -> np.ndarray:
    col = np.empty(x_train.shape[1])
    for j in range(x_train.shape[1]):
        clf = LinearSVC(C=0.01, class_weight="balanced", random_state=seed)
        clf.fit(x_train[:, j:j + 1], y_train)
        col[j] = np.mean(clf.predict(x_test[:, j:j + 1]) == y_test)
    return col


def sap_from_codes(train_codes, train_factors, test_codes, test_factors, *, random_state=0,
                   n_jobs: int | None = None) -> dict:
    """SAP from sampled codes (discrete factors).

    Args:
        train_codes, test_codes: float ``(N, num_codes)``, at least 2 codes.
        train_factors, test_factors: int ``(N, num_factors)``.
        random_state: Generator or int seed for the SVMs.
        n_jobs: worker processes (default: one per factor, at most the usable cores).

    Returns:
        ``{"score", "per_factor", "score_matrix" (nested list, codes x factors)}``.

    Raises:
        InvalidInputError: bad shapes/values, or a factor with one class in the training set.
    """
    x_train = check_codes(train_codes, name="train codes", min_rows=2, min_codes=2)
    x_test = check_codes(test_codes, name="test codes")
    y_train = check_factors(train_factors, len(x_train), name="train factors")
    y_test = check_factors(test_factors, len(x_test), name="test factors")
    if x_test.shape[1] != x_train.shape[1] or y_test.shape[1] != y_train.shape[1]:
        raise InvalidInputError("SAP: train and test disagree in the number of codes or factors")
    k = y_train.shape[1]
    for i in range(k):
        require_classes(y_train[:, i], f"SAP factor {i}")
    seeds = as_generator(random_state).integers(2**31 - 1, size=k)
    cols = Parallel(n_jobs=n_jobs or default_n_jobs(k))(
        delayed(_factor_column)(x_train, y_train[:, i], x_test, y_test[:, i], int(seeds[i])) for i in range(k)
    )
    matrix = np.stack(cols, axis=1)
    return {**sap_from_score_matrix(matrix), "score_matrix": matrix.tolist()}


@metric("sap", quick={"num_train": 2_500, "num_test": 1_000})
def sap_score(dataset, encode, *, random_state=0, num_train: int = 10_000, num_test: int = 5_000,
              n_jobs: int | None = None) -> dict:
    """SAP of a representation on a ground-truth dataset (discrete factors).

    Args:
        dataset: a :class:`disbench.data.GroundTruthDataset`.
        encode: observations -> codes (see :mod:`disbench.metrics.codes`), or a :class:`CodeCache`.
        random_state: Generator or int seed.
        num_train, num_test: sampled points (10,000 / 5,000, ``unsupervised_study_v1``).
        n_jobs: parallel per-factor fits.

    Returns:
        See :func:`sap_from_codes`.
    """
    cache, rng = cache_and_rng(dataset, encode, random_state)
    x_train, y_train, x_test, y_test = cache.sample_train_test(num_train, num_test, rng)
    return sap_from_codes(x_train, y_train, x_test, y_test, random_state=rng, n_jobs=n_jobs)
