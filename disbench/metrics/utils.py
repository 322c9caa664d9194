"""Array helpers shared by the metrics: input checks, discretisation, entropy, mutual information.

Conventions: codes are float ``(N, num_codes)`` (one row per observation), factors are
integer indices ``(N, num_factors)``; information is in nats (natural log), as in
scikit-learn's ``mutual_info_score`` which disentanglement_lib uses.
"""

from __future__ import annotations

import os

import numpy as np

from disbench.errors import InvalidInputError


def check_codes(codes, *, name: str = "codes", min_rows: int = 1, min_codes: int = 1) -> np.ndarray:
    """Return ``codes`` as float64 ``(N, num_codes)``.

    Raises:
        InvalidInputError: not 2-d, fewer than ``min_rows`` rows or ``min_codes`` columns,
            or a NaN/inf entry (an encoder that diverged must not give a score).
    """
    arr = np.asarray(codes)
    if arr.ndim != 2:
        raise InvalidInputError(f"{name} must be a 2-d array (num_points, num_codes), got shape {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise InvalidInputError(f"{name} must be numeric, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if arr.shape[0] < min_rows:
        raise InvalidInputError(f"{name} has {arr.shape[0]} points; this metric needs at least {min_rows}")
    if arr.shape[1] < min_codes:
        raise InvalidInputError(f"{name} has {arr.shape[1]} codes; this metric needs at least {min_codes}")
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).any(axis=0).sum())
        raise InvalidInputError(
            f"{name} contain NaN or inf in {bad} of {arr.shape[1]} codes; "
            "the encoder diverged or returned invalid values, fix it before scoring"
        )
    return arr


def check_factors(factors, num_rows: int, *, name: str = "factors") -> np.ndarray:
    """Return ``factors`` as int64 ``(num_rows, num_factors)`` of non-negative indices.

    Raises:
        InvalidInputError: wrong shape, row count other than ``num_rows``, non-integer or
            negative values.
    """
    arr = np.asarray(factors)
    if arr.ndim != 2 or arr.shape[1] < 1:
        raise InvalidInputError(f"{name} must be a 2-d array (num_points, num_factors), got shape {arr.shape}")
    if arr.shape[0] != num_rows:
        raise InvalidInputError(f"{name} has {arr.shape[0]} rows but the codes have {num_rows}")
    if not np.issubdtype(arr.dtype, np.integer):
        if not (np.isfinite(arr).all() and np.all(np.mod(arr, 1) == 0)):
            raise InvalidInputError(f"{name} must be integer factor indices (discrete factors)")
    arr = arr.astype(np.int64)
    if arr.size and arr.min() < 0:
        raise InvalidInputError(f"{name} must be non-negative factor indices")
    return arr


def histogram_discretize(codes: np.ndarray, num_bins: int = 20) -> np.ndarray:
    """Discretise each code into ``num_bins`` equal-width bins over its sample range.

    Bin edges are those of ``numpy.histogram(code, num_bins)`` and a value goes to the bin
    ``numpy.digitize`` assigns with the lower edges, so the maximum falls in the last bin
    (disentanglement_lib ``utils._histogram_discretize``, used by MIG and modularity in
    ``unsupervised_study_v1``). A constant code lands in a single bin.

    Args:
        codes: float ``(N, num_codes)``.
        num_bins: number of bins (>= 1).

    Returns:
        int64 ``(N, num_codes)`` bin indices in ``[0, num_bins)``.
    """
    codes = np.asarray(codes, dtype=np.float64)
    if not isinstance(num_bins, (int, np.integer)) or num_bins < 1:
        raise InvalidInputError(f"num_bins must be a positive int, got {num_bins!r}")
    lo, hi = codes.min(axis=0), codes.max(axis=0)
    const = lo == hi
    lo = np.where(const, lo - 0.5, lo)  # numpy.histogram's range for a constant sample
    hi = np.where(const, hi + 0.5, hi)
    edges = np.linspace(lo, hi, num_bins + 1, axis=1)[:, :-1]  # (num_codes, num_bins) lower edges
    out = np.empty(codes.shape, dtype=np.int64)
    for j in range(codes.shape[1]):
        out[:, j] = np.searchsorted(edges[j], codes[:, j], side="right") - 1
    return out


def entropy(labels: np.ndarray) -> np.ndarray:
    """Entropy in nats of each column of integer ``labels`` ``(N, K)`` -> float64 ``(K,)``.

    Equals ``sklearn.metrics.mutual_info_score(y, y)`` (disentanglement_lib
    ``utils.discrete_entropy``).
    """
    labels = np.asarray(labels, dtype=np.int64)
    out = np.empty(labels.shape[1])
    for k in range(labels.shape[1]):
        p = np.bincount(labels[:, k]) / labels.shape[0]
        p = p[p > 0]
        out[k] = -np.sum(p * np.log(p))
    return out


def mutual_information(codes: np.ndarray, factors: np.ndarray, *, max_cells: int = 1 << 24) -> np.ndarray:
    """Mutual information (nats) between every discrete code and every factor.

    Vectorised contingency tables (one ``bincount`` per factor over all codes at once,
    chunked over codes to bound memory) instead of disentanglement_lib's loop calling
    ``sklearn.metrics.mutual_info_score`` per pair; the values are the same (plug-in
    estimate ``sum p(z,v) log p(z,v) / (p(z) p(v))``).

    Args:
        codes: int ``(N, num_codes)`` non-negative bin indices (see :func:`histogram_discretize`).
        factors: int ``(N, num_factors)`` non-negative factor indices.
        max_cells: bound on ``N * codes-per-chunk`` (memory of one chunk's index array).

    Returns:
        float64 ``(num_codes, num_factors)``.
    """
    codes = np.asarray(codes, dtype=np.int64)
    factors = np.asarray(factors, dtype=np.int64)
    n, num_codes = codes.shape
    code_sizes = codes.max(axis=0) + 1
    num_bins = int(code_sizes.max())
    p_code = np.zeros((num_codes, num_bins))
    for j in range(num_codes):
        p_code[j, : code_sizes[j]] = np.bincount(codes[:, j], minlength=code_sizes[j]) / n
    out = np.empty((num_codes, factors.shape[1]))
    chunk = max(1, max_cells // max(n, 1))
    for k in range(factors.shape[1]):
        f = factors[:, k]
        nv = int(f.max()) + 1
        p_f = np.bincount(f, minlength=nv) / n
        for start in range(0, num_codes, chunk):
            stop = min(num_codes, start + chunk)
            offs = (np.arange(stop - start) * num_bins)[None, :]
            idx = ((codes[:, start:stop] + offs) * nv + f[:, None]).ravel()
            joint = np.bincount(idx, minlength=(stop - start) * num_bins * nv).reshape(stop - start, num_bins, nv) / n
            indep = p_code[start:stop, :, None] * p_f[None, None, :]
            nz = joint > 0
            terms = np.zeros_like(joint)
            terms[nz] = joint[nz] * np.log(joint[nz] / indep[nz])
            out[start:stop, k] = terms.sum(axis=(1, 2))
    return np.maximum(out, 0.0)


def top_two_gap(matrix: np.ndarray) -> np.ndarray:
    """Per column, the largest minus the second-largest entry of ``matrix`` ``(num_codes, K)``."""
    s = np.sort(matrix, axis=0)
    return s[-1] - s[-2]


def default_n_jobs(num_tasks: int) -> int:
    """Worker processes for per-factor work: one per task, at most the usable cores."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS / Windows
        cores = os.cpu_count() or 1
    return max(1, min(num_tasks, cores))


def require_classes(labels: np.ndarray, what: str) -> None:
    """Raise InvalidInputError when a classifier's training labels hold fewer than 2 classes."""
    if np.unique(labels).size < 2:
        raise InvalidInputError(
            f"{what}: the training sample holds a single class; increase the number of training points"
        )



# the logistic regressions of the β-VAE metric and of explicitness: "current" is today's
# scikit-learn LogisticRegression() (lbfgs, multinomial); "study" the default of the
# scikit-learn the published study ran (< 0.22: liblinear, one-vs-rest), which moves
# explicitness and the β-VAE metric by up to ~0.007
CLASSIFIERS = {
    "current": "LogisticRegression() (lbfgs, multinomial; scikit-learn >= 0.22 default)",
    "study": "LogisticRegression(solver='liblinear') one-vs-rest (scikit-learn < 0.22 default, as in "
             "disentanglement_lib's study)",
}


def logistic_regression(classifier: str, seed: int):
    """An unfitted logistic regression of the kind ``classifier`` names (:data:`CLASSIFIERS`).

    ``"study"`` is ``OneVsRestClassifier(LogisticRegression(solver="liblinear"))``: what
    ``LogisticRegression()`` was before scikit-learn 0.22 (C = 1, tol 1e-4, 100 iterations,
    regularised intercept; probabilities of the binary fits normalised to sum 1).

    Raises:
        UnknownNameError: an unknown ``classifier``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    from disbench.errors import unknown_name

    if classifier not in CLASSIFIERS:
        raise unknown_name("classifier", classifier, CLASSIFIERS)
    if classifier == "study":
        return OneVsRestClassifier(LogisticRegression(solver="liblinear", random_state=seed))
    return LogisticRegression(random_state=seed)
