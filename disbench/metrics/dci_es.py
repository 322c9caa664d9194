"""DCI-ES: explicitness (E) and size (S) beside disentanglement, completeness and
informativeness (Eastwood et al. 2023, "DCI-ES: An Extended Disentanglement Framework with
Connections to Identifiability", ICLR 2023, Section 4; the authors' code:
andreinicolicioiu/DCI-ES, ``metrics/explitcitness.py``).

**Explicitness** reads a *loss-capacity curve*: probes of increasing capacity ``kappa``
predict factor j from all codes, and ``l_j(kappa)`` is the best test loss reached up to
that capacity (the running minimum, as the authors' ``add_curve``). With the baseline loss
``l_j^b`` (the best constant prediction) and the lowest achievable loss ``l_j^*``,

``E_j = 1 - AULCC_j / Z_j``, ``AULCC_j = integral (l_j(kappa) - l_j^*) dkappa`` (trapezoids
over the probed capacities), ``Z_j = (kappa_max - kappa_min)(l_j^b - l_j^*)``,

and ``E`` is the mean over factors: 1 when the smallest probe already reaches ``l^*``, 0
when no probe beats the baseline. Here the probes are disbench's gradient-boosted trees
(the DCI estimator) of depth 1, 2, 3, 4, 6 (capacity = depth, on a linear axis as the
authors use for their tree probes), the loss the test classification error, ``l^b`` the
error of always predicting the training set's most frequent class and ``l^* = 0`` (the
authors' setting: noiseless factors). The authors' script multiplies the area by 2 and
subtracts the curve's own minimum; we follow the definition above (their code comments say
the paper assumes ``l^* = 0``).

**Size** ``S = min(1, num_factors / num_codes)``: the representation's size relative to
the factors' (1 when it has no more codes than factors), as we read Section 4.

D, C and I are those of the depth-3 probe — disentanglement_lib's DCI (:mod:`dci`).
Defaults: 10,000 training and 5,000 test points (``unsupervised_study_v1``'s DCI).
"""

from __future__ import annotations

import numpy as np

from disbench.errors import InvalidInputError
from disbench.metrics.codes import cache_and_rng
from disbench.metrics.dci import dci_from_codes
from disbench.metrics.spec import metric
from disbench.metrics.utils import check_factors
from disbench.rng import as_generator

DEPTHS = (1, 2, 3, 4, 6)
REFERENCE_DEPTH = 3


def explicitness_from_curve(capacities, losses, baseline_loss: float, *, lowest_loss: float = 0.0) -> float:
    """``E = 1 - AULCC / Z`` of one loss-capacity curve (see the module docstring).

    Args:
        capacities: increasing probe capacities ``(P,)``, P >= 2.
        losses: test losses of the probes ``(P,)`` (the running minimum is taken).
        baseline_loss: loss of the best constant prediction (> ``lowest_loss``).
        lowest_loss: the lowest achievable loss (0).

    Returns:
        E (1 = the smallest probe is optimal; 0 = no probe beats the baseline; negative
        when the probes are worse than the baseline).

    Raises:
        InvalidInputError: fewer than 2 points, capacities not increasing, lengths that
            differ, or ``baseline_loss <= lowest_loss``.
    """
    x = np.asarray(capacities, dtype=np.float64)
    y = np.minimum.accumulate(np.asarray(losses, dtype=np.float64))
    if x.ndim != 1 or x.shape != y.shape or len(x) < 2 or np.any(np.diff(x) <= 0):
        raise InvalidInputError("DCI-ES: capacities must be >= 2 increasing values, one loss each")
    if not baseline_loss > lowest_loss:
        raise InvalidInputError(f"DCI-ES: baseline loss {baseline_loss} must exceed the lowest loss {lowest_loss}")
    area = float(np.sum(np.diff(x) * ((y[1:] - lowest_loss) + (y[:-1] - lowest_loss)) / 2))
    return 1.0 - area / ((x[-1] - x[0]) * (baseline_loss - lowest_loss))


def dci_es_from_codes(train_codes, train_factors, test_codes, test_factors, *, depths=DEPTHS, random_state=0,
                      n_jobs: int | None = None) -> dict:
    """D, C, I, E and S from sampled codes.

    Args:
        train_codes, test_codes: float ``(N, num_codes)``, at least 2 codes.
        train_factors, test_factors: int ``(N, num_factors)``, at least 2 factors.
        depths: increasing probe depths (1, 2, 3, 4, 6); must include 3.
        random_state: Generator or int seed (one seed per factor, the same at every depth).
        n_jobs: threads per classifier fit.

    Returns:
        ``{"score": explicitness, "explicitness", "explicitness_per_factor", "size",
        "disentanglement", "completeness", "informativeness" (depth 3), "capacities",
        "test_error" (depths x factors nested list), "baseline_error" (per factor)}``.

    Raises:
        InvalidInputError: as :func:`disbench.metrics.dci.dci_from_codes`; depths without 3
            or not increasing.
    """
    depths = [int(d) for d in depths]
    if REFERENCE_DEPTH not in depths or len(depths) < 2 or np.any(np.diff(depths) <= 0):
        raise InvalidInputError(f"DCI-ES: depths must be >= 2 increasing values including {REFERENCE_DEPTH}, "
                                f"got {depths}")
    seed = int(as_generator(random_state).integers(2**31 - 1))
    runs = {d: dci_from_codes(train_codes, train_factors, test_codes, test_factors, random_state=seed,
                              n_jobs=n_jobs, max_depth=d) for d in depths}
    y_train = check_factors(train_factors, len(train_factors), name="train factors")
    y_test = check_factors(test_factors, len(test_factors), name="test factors")
    errors = np.array([[1.0 - a for a in runs[d]["informativeness_test_per_factor"]] for d in depths])
    baseline = []
    for k in range(y_train.shape[1]):
        majority = np.bincount(y_train[:, k]).argmax()
        baseline.append(float(np.mean(y_test[:, k] != majority)))
    per_factor = [explicitness_from_curve(depths, errors[:, k], baseline[k]) if baseline[k] > 0 else 1.0
                  for k in range(errors.shape[1])]
    ref = runs[REFERENCE_DEPTH]
    num_codes = len(ref["disentanglement_per_code"])
    return {"score": float(np.mean(per_factor)), "explicitness": float(np.mean(per_factor)),
            "explicitness_per_factor": per_factor, "size": min(1.0, y_train.shape[1] / num_codes),
            "disentanglement": ref["disentanglement"], "completeness": ref["completeness"],
            "informativeness": ref["informativeness"], "capacities": depths, "test_error": errors.tolist(),
            "baseline_error": baseline}


@metric("dci_es", quick={"num_train": 2_500, "num_test": 1_000}, by_default=False)
def dci_es(dataset, encode, *, random_state=0, num_train: int = 10_000, num_test: int = 5_000, depths: tuple = DEPTHS,
           n_jobs: int | None = None) -> dict:
    """DCI-ES of a representation on a ground-truth dataset.

    Args:
        dataset: a ground-truth dataset; encode: observations -> codes, or a :class:`CodeCache`.
        random_state: Generator or int seed.
        num_train, num_test: sampled points (10,000 / 5,000).
        depths: probe depths; n_jobs: threads per classifier fit.

    Returns:
        See :func:`dci_es_from_codes`.
    """
    cache, rng = cache_and_rng(dataset, encode, random_state)
    x_train, y_train, x_test, y_test = cache.sample_train_test(num_train, num_test, rng)
    return dci_es_from_codes(x_train, y_train, x_test, y_test, depths=depths, random_state=rng, n_jobs=n_jobs)
