"""Unified disentanglement scores: DCI, MIG, SAP and modularity as aggregations of any
code-factor matrix, as disentanglement_lib computes them (``evaluation/metrics/unified_scores.py``,
``unified_scores``, ``pr_curves_values`` and the ``aggregation_*`` functions, with
``visualize/visualize_scores.py``'s ``precision``; the reference file cites no paper).

Each of three matrices (codes x factors) relating codes and factors
(``importance_gbt``: DCI's gradient-boosted-trees importances, Eastwood & Williams 2018;
``mutual_information``: the 20-bin plug-in MI of MIG and modularity, Chen et al. 2018,
Ridgeway & Mozer 2018; ``accuracy_svm``: SAP's per-code linear-SVM accuracies, Kumar et al.
2018) is aggregated by all four scores' rules:

* ``dci_disentanglement``, ``dci_completeness``: Eastwood & Williams Eqs. 1-3
  (:func:`disbench.metrics.dci.dci_from_importance`);
* ``mig``: mean over factors of the gap between the two largest entries of the factor's
  column, divided by the factor's entropy (nats) in the training sample;
* ``sap``: mean over factors of that gap, not normalised;
* ``modularity``: Ridgeway & Mozer's per-code modularity of the squared entries, averaged;

and by a precision curve: for each threshold t (every entry, descending), the number of
connected components (of >= 2 nodes) of the bipartite code-factor graph with the edges >= t;
``area_precision`` is the trapezoidal area under that count against t, ``max_precision`` its
maximum. The headline ``score`` is the MIG of the mutual-information matrix (the first check
of the reference's own test); every matrix x aggregation is reported as
``"<matrix>_matrix.<aggregation>"``, the reference's key.

Defaults: the reference has no config for this score; disbench uses the study's sizes of
the scores it generalises (10,000 training, 5,000 test points; 20 bins).
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from disbench.errors import InvalidInputError, unknown_name
from disbench.metrics.codes import cache_and_rng
from disbench.metrics.dci import dci_from_codes, dci_from_importance
from disbench.metrics.downstream import check_split
from disbench.metrics.modularity import modularity_from_mutual_information
from disbench.metrics.sap import sap_from_codes
from disbench.metrics.spec import metric
from disbench.metrics.utils import check_codes, entropy, histogram_discretize, mutual_information, top_two_gap
from disbench.rng import as_generator

MATRICES = ("importance_gbt", "mutual_information", "accuracy_svm")


def precision_count(matrix, threshold: float) -> int:
    """Connected components with at least one edge of the bipartite graph whose edges are the
    entries of ``matrix`` (codes x factors) that are ``>= threshold`` and non-zero."""
    m = np.asarray(matrix, dtype=np.float64)
    edges = (m >= threshold) & (m != 0)
    rows, cols = m.shape
    adjacency = np.zeros((rows + cols, rows + cols), dtype=bool)
    adjacency[:rows, rows:] = edges
    _, labels = connected_components(csr_matrix(adjacency), directed=False)
    sizes = np.bincount(labels)
    return int(np.sum(sizes >= 2))


def pr_curve_values(matrix) -> dict:
    """``{"area_precision", "max_precision"}`` of a (codes x factors) matrix (see the module
    docstring)."""
    thresholds = np.sort(np.asarray(matrix, dtype=np.float64).ravel())[::-1]
    precisions = np.array([precision_count(matrix, t) for t in thresholds], dtype=np.float64)
    area = float(np.sum((precisions[:-1] + precisions[1:]) * (thresholds[:-1] - thresholds[1:]) * 0.5))
    return {"area_precision": area, "max_precision": float(precisions.max())}


def unified_from_matrix(matrix, train_factors) -> dict:
    """The four aggregations and the precision curve of one (codes x factors) matrix.

    Args:
        matrix: non-negative float ``(num_codes, num_factors)``, at least 2 x 2.
        train_factors: int ``(N, num_factors)``, the training sample (for MIG's entropies).

    Returns:
        ``{"dci_disentanglement", "dci_completeness", "dci", "mig", "sap", "modularity",
        "area_precision", "max_precision", "dci_disentanglement_per_code",
        "dci_completeness_per_factor", "mig_per_factor", "sap_per_factor", "modularity_per_code"}``.

    Raises:
        InvalidInputError: a matrix that is not finite, non-negative and at least 2 x 2.
    """
    m = check_codes(matrix, name="unified-score matrix", min_rows=2, min_codes=2)
    h = entropy(np.asarray(train_factors))
    dci = dci_from_importance(m)
    with np.errstate(divide="ignore", invalid="ignore"):
        mig = top_two_gap(m) / h
    sap = top_two_gap(m)
    mod = modularity_from_mutual_information(m)
    return {"dci_disentanglement": dci["disentanglement"], "dci_completeness": dci["completeness"],
            "dci": dci["disentanglement"], "mig": float(np.mean(mig)), "sap": float(np.mean(sap)),
            "modularity": mod["score"], **pr_curve_values(m),
            "dci_disentanglement_per_code": dci["disentanglement_per_code"],
            "dci_completeness_per_factor": dci["completeness_per_factor"], "mig_per_factor": mig.tolist(),
            "sap_per_factor": sap.tolist(), "modularity_per_code": mod["per_code"]}


def code_factor_matrix(name: str, x_train, y_train, x_test, y_test, *, num_bins: int = 20, random_state=0,
                       n_jobs: int | None = None) -> np.ndarray:
    """One of :data:`MATRICES` (codes x factors) from a train/test sample.

    Raises:
        UnknownNameError: unknown ``name``.
    """
    if name == "mutual_information":
        return mutual_information(histogram_discretize(x_train, num_bins), y_train)
    if name == "importance_gbt":
        out = dci_from_codes(x_train, y_train, x_test, y_test, random_state=random_state, n_jobs=n_jobs)
        return np.asarray(out["importance_matrix"])
    if name == "accuracy_svm":
        out = sap_from_codes(x_train, y_train, x_test, y_test, random_state=random_state, n_jobs=n_jobs)
        return np.asarray(out["score_matrix"])
    raise unknown_name("unified-score matrix", name, MATRICES)


def unified_scores_from_codes(train_codes, train_factors, test_codes, test_factors, *, matrices=MATRICES,
                              num_bins: int = 20, random_state=0, n_jobs: int | None = None) -> dict:
    """Unified scores from sampled codes.

    Args:
        train_codes, test_codes: float ``(N, num_codes)``, at least 2 codes.
        train_factors, test_factors: int ``(N, num_factors)``, at least 2 factors.
        matrices: names from :data:`MATRICES`.
        num_bins: bins of the MI matrix's discretiser (20).
        random_state: seeds the trees and SVMs; n_jobs: their workers.

    Returns:
        ``{"score": mutual_information_matrix.mig (NaN without that matrix),
        "<name>_matrix.<aggregation>": see unified_from_matrix, "<name>_matrix": nested list}``.

    Raises:
        InvalidInputError: bad shapes/values; UnknownNameError: an unknown matrix.
    """
    x_train, y_train, x_test, y_test = check_split(train_codes, train_factors, test_codes, test_factors,
                                                   "unified scores")
    rng = as_generator(random_state)
    out: dict = {}
    for name in matrices:
        m = code_factor_matrix(name, x_train, y_train, x_test, y_test, num_bins=num_bins, random_state=rng,
                               n_jobs=n_jobs)
        out[f"{name}_matrix"] = m.tolist()
        for key, value in unified_from_matrix(m, y_train).items():
            out[f"{name}_matrix.{key}"] = value
    if not out:
        raise InvalidInputError(f"unified scores: name at least one matrix of {MATRICES}")
    return {"score": out.get("mutual_information_matrix.mig", float("nan")), **out}


@metric("unified", quick={"num_train": 2_500, "num_test": 1_000}, by_default=False)
def unified(dataset, encode, *, random_state=0, num_train: int = 10_000, num_test: int = 5_000, num_bins: int = 20,
            n_jobs: int | None = None) -> dict:
    """Unified scores of a representation on a ground-truth dataset (all three matrices).

    Args:
        dataset: a ground-truth dataset; encode: an encoder or a :class:`CodeCache`.
        random_state: Generator or int seed.
        num_train, num_test: sampled points (10,000 / 5,000); num_bins: 20 — see the module docstring.
        n_jobs: workers of the trees and SVMs.

    Returns:
        See :func:`unified_scores_from_codes`.
    """
    cache, rng = cache_and_rng(dataset, encode, random_state)
    x_train, y_train, x_test, y_test = cache.sample_train_test(num_train, num_test, rng)
    return unified_scores_from_codes(x_train, y_train, x_test, y_test, num_bins=num_bins, random_state=rng,
                                     n_jobs=n_jobs)
