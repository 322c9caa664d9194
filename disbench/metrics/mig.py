"""Mutual Information Gap (Chen et al. 2018, "Isolating Sources of Disentanglement in
Variational Autoencoders", NeurIPS 2018, Section 4.1, Eq. 6).

``MIG = 1/K sum_k (I(z_j(k); v_k) - max_{j != j(k)} I(z_j; v_k)) / H(v_k)`` with
``j(k) = argmax_j I(z_j; v_k)``. As in disentanglement_lib (``unsupervised_study_v1``:
``mig.num_train = 10000``, ``histogram_discretizer`` with 20 bins), each code is
discretised into 20 equal-width bins over its sample range and the plug-in mutual
information (nats) is computed on 10,000 samples. A constant (collapsed) code falls in a
single bin and so has zero mutual information with every factor.
"""

from __future__ import annotations

import numpy as np

from disbench.errors import InvalidInputError
from disbench.metrics.codes import cache_and_rng
from disbench.metrics.spec import metric
from disbench.metrics.utils import (
    check_codes,
    check_factors,
    entropy,
    histogram_discretize,
    mutual_information,
    top_two_gap,
)


def mig_from_codes(codes, factors, *, num_bins: int = 20) -> dict:
    """MIG from sampled codes and their factors.

    Args:
        codes: float ``(N, num_codes)``, at least 2 codes.
        factors: int ``(N, num_factors)`` factor indices.
        num_bins: equal-width bins per code (20).

    Returns:
        ``{"score": mean normalised gap, "per_factor": list of K gaps,
        "mutual_information": (num_codes x K) nested list in nats,
        "factor_entropy": list of K entropies in nats}``.

    Raises:
        InvalidInputError: bad shapes, NaN/inf, fewer than 2 codes, or a factor taking a
            single value in the sample (zero entropy: the gap is undefined).
    """
    codes = check_codes(codes, min_rows=2, min_codes=2)
    factors = check_factors(factors, len(codes))
    h = entropy(factors)
    if np.any(h == 0):
        k = int(np.flatnonzero(h == 0)[0])
        raise InvalidInputError(f"MIG: factor {k} takes a single value in the sample (zero entropy); "
                                "use more points or a dataset where every factor varies")
    mi = mutual_information(histogram_discretize(codes, num_bins), factors)
    gaps = top_two_gap(mi) / h
    return {"score": float(gaps.mean()), "per_factor": gaps.tolist(), "mutual_information": mi.tolist(),
            "factor_entropy": h.tolist()}


# quick keeps the default size: the plug-in MI is biased upward on small samples (README,
# "quick vs default"), and with the code cache 10,000 points cost little
@metric("mig", quick={})
def mig(dataset, encode, *, random_state=0, num_train: int = 10_000, num_bins: int = 20) -> dict:
    """MIG of a representation on a ground-truth dataset.

    Args:
        dataset: a :class:`disbench.data.GroundTruthDataset`.
        encode: observations -> codes (see :mod:`disbench.metrics.codes`), or a :class:`CodeCache`.
        random_state: Generator or int seed.
        num_train: sampled points (10,000); num_bins: bins per code (20) — ``unsupervised_study_v1``.

    Returns:
        See :func:`mig_from_codes`.
    """
    cache, rng = cache_and_rng(dataset, encode, random_state)
    codes, factors = cache.sample(int(num_train), rng)
    return mig_from_codes(codes, factors, num_bins=num_bins)
