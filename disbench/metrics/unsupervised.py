"""Unsupervised scores of a representation (disentanglement_lib ``unsupervised_metrics.py``,
used in Locatello et al. 2019, "Challenging Common Assumptions in the Unsupervised Learning
of Disentangled Representations", ICML 2019, Section 5.1 and Appendix).

They need codes only, no factor labels:

* **Gaussian total correlation**: the KL divergence between a Gaussian with the codes'
  covariance ``S`` and the product of its marginals,
  ``TC = 1/2 (sum_j log S_jj - log det S)`` (nats; 0 for uncorrelated codes).
* **Gaussian Wasserstein correlation**: the squared 2-Wasserstein distance between those
  two Gaussians, ``W = 2 tr S - 2 tr (diag(S) S)^(1/2)``; ``..._norm`` divides it by
  ``tr S`` (scale-free).
* **Mutual-information score**: the mean plug-in mutual information (nats) between pairs
  of distinct codes, each discretised into 20 equal-width bins.

All three are 0 for independent codes and grow with their dependence; ``score`` is the
Gaussian total correlation (lower is better). Defaults: ``unsupervised_study_v1``
(``unsupervised.gin``: 10,000 points, 20-bin histogram discretiser); the covariance is
``numpy.cov`` (``ddof = 1``) as there. ``tr (diag(S) S)^(1/2)`` is computed as the sum of
the square roots of the eigenvalues of the symmetric ``D^(1/2) S D^(1/2)`` (a similar
matrix), the same value as the reference's ``scipy.linalg.sqrtm`` without its
complex round-off.
"""

from __future__ import annotations

import numpy as np

from disbench.errors import InvalidInputError
from disbench.metrics.codes import cache_and_rng
from disbench.metrics.spec import metric
from disbench.metrics.utils import check_codes, histogram_discretize, mutual_information


def _check_cov(cov) -> np.ndarray:
    c = check_codes(cov, name="covariance", min_rows=1)
    if c.shape[0] != c.shape[1] or not np.allclose(c, c.T):
        raise InvalidInputError(f"covariance must be a symmetric square matrix, got shape {c.shape}")
    return c


def gaussian_total_correlation(cov) -> float:
    """Total correlation (nats) of a Gaussian with covariance ``cov`` ``(D, D)``.

    Raises:
        InvalidInputError: not symmetric square, or a non-positive variance (a constant
            code: the total correlation is undefined).
    """
    c = _check_cov(cov)
    if np.any(np.diag(c) <= 0):
        raise InvalidInputError("Gaussian total correlation: a code has zero variance (collapsed); "
                                "it is undefined for constant codes")
    return float(0.5 * (np.sum(np.log(np.diag(c))) - np.linalg.slogdet(c)[1]))


def gaussian_wasserstein_correlation(cov) -> float:
    """Squared 2-Wasserstein distance between ``N(0, cov)`` and ``N(0, diag(cov))``.

    Args:
        cov: float ``(D, D)`` positive semi-definite covariance.
    """
    c = _check_cov(cov)
    d = np.sqrt(np.clip(np.diag(c), 0.0, None))
    eig = np.linalg.eigvalsh(d[:, None] * c * d[None, :])
    return float(2.0 * np.trace(c) - 2.0 * np.sum(np.sqrt(np.clip(eig, 0.0, None))))


def unsupervised_from_codes(codes, *, num_bins: int = 20) -> dict:
    """The three unsupervised scores of sampled codes.

    Args:
        codes: float ``(N, num_codes)``, at least 2 points and 2 codes.
        num_bins: equal-width bins per code for the mutual information (20).

    Returns:
        ``{"score": gaussian_total_correlation, "gaussian_total_correlation",
        "gaussian_wasserstein_correlation", "gaussian_wasserstein_correlation_norm",
        "mutual_info_score"}`` (nats, squared code units, unitless, nats).

    Raises:
        InvalidInputError: bad shapes, NaN/inf, a constant code.
    """
    z = check_codes(codes, min_rows=2, min_codes=2)
    cov = np.cov(z, rowvar=False)
    tc = gaussian_total_correlation(cov)
    wc = gaussian_wasserstein_correlation(cov)
    binned = histogram_discretize(z, num_bins)
    mi = mutual_information(binned, binned)
    np.fill_diagonal(mi, 0.0)
    k = z.shape[1]
    return {"score": tc, "gaussian_total_correlation": tc, "gaussian_wasserstein_correlation": wc,
            "gaussian_wasserstein_correlation_norm": wc / float(np.trace(cov)),
            "mutual_info_score": float(mi.sum() / (k * k - k))}


# the default size in quick too (the plug-in MI is biased upward on small samples; codes are cached)
@metric("unsupervised", quick={}, by_default=False)
def unsupervised(dataset, encode, *, random_state=0, num_train: int = 10_000, num_bins: int = 20) -> dict:
    """Unsupervised scores of a representation on ``num_train`` sampled observations.

    Args:
        dataset: a ground-truth dataset (only its observations are used).
        encode: observations -> codes, or a :class:`CodeCache`.
        random_state: Generator or int seed.
        num_train: sampled points (10,000); num_bins: bins per code (20) — ``unsupervised_study_v1``.

    Returns:
        See :func:`unsupervised_from_codes`.
    """
    cache, rng = cache_and_rng(dataset, encode, random_state)
    codes, _ = cache.sample(int(num_train), rng)
    return unsupervised_from_codes(codes, num_bins=num_bins)
