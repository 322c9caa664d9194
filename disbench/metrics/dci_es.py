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
authors' setting: noiseless factors).

**Two named variants** (DESIGN.md, "A variant has a name"; :data:`VARIANTS`):

* ``"paper"`` (the default): the definition above, Section 4's text.
* ``"authors_script"``: what the authors' ``metrics/explitcitness.py``
  (``compute_explitcitness``, called from ``Explitcitness.get_explitcitness``) computes:
  ``E_j = 1 - 2 * integral (l_j(kappa) - min_kappa l_j) dkappa / ((kappa_max - kappa_min) l_j^b)``
  — the area is measured above the curve's *own minimum*, doubled, over the baseline's
  rectangle. On the losses [.5, .3, .1, .05, .05] at depths 1, 2, 3, 4, 6 with baseline .8 the
  paper's E is 1 − .775 / 4 = 0.80625 and the script's 1 − 2 · .525 / 4 = 0.7375.

Why the paper's is the default: its boundary cases are the ones the paper states and a
leaderboard needs — E = 0 when no probe beats the baseline. The script's measures only the
curve's descent: a curve flat at the baseline (nothing about the factor can be read from the
codes) gets E = 1, the best score, so a useless representation would top the column. The
script's variant is there to compare with the authors' published numbers (their code says it
is the one "used in the iclr paper"), which a reproduction must do like with like. Every
output says which ran: ``"variant"`` in the result (``dci_es.variant`` in ``metrics.json``),
both values side by side (``explicitness_paper``, ``explicitness_authors_script``), and the
leaderboard's header (``DCI-ES E (paper)``).

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
VARIANTS = {
    "paper": "E = 1 − area under the loss–capacity curve / the baseline's (Eastwood et al. 2023, Sec. 4; 0 when no "
             "probe beats the baseline)",
    "authors_script": "the authors' metrics/explitcitness.py: E = 1 − 2 · area above the curve's own minimum / the "
                      "baseline's (1 for any flat curve)",
}
DEFAULT_VARIANT = "paper"


def explicitness_from_curve(capacities, losses, baseline_loss: float, *, lowest_loss: float = 0.0,
                            variant: str = DEFAULT_VARIANT) -> float:
    """Explicitness E of one loss-capacity curve, in one of the :data:`VARIANTS` (module docstring).

    Args:
        capacities: increasing probe capacities ``(P,)``, P >= 2.
        losses: test losses of the probes ``(P,)`` (the running minimum is taken).
        baseline_loss: loss of the best constant prediction (> ``lowest_loss``).
        lowest_loss: the lowest achievable loss (0; the ``"paper"`` variant only — the
            script measures from the curve's own minimum).
        variant: ``"paper"`` (``1 - AULCC / Z``) or ``"authors_script"``
            (``1 - 2 * area above min(l) / ((kappa_max - kappa_min) l^b)``).

    Returns:
        E. Paper: 1 = the smallest probe is optimal; 0 = no probe beats the baseline;
        negative when the probes are worse than the baseline. Script: 1 for any flat curve.

    Raises:
        InvalidInputError: fewer than 2 points, capacities not increasing, lengths that
            differ, ``baseline_loss <= lowest_loss``, or an unknown variant.
    """
    x = np.asarray(capacities, dtype=np.float64)
    y = np.minimum.accumulate(np.asarray(losses, dtype=np.float64))
    if x.ndim != 1 or x.shape != y.shape or len(x) < 2 or np.any(np.diff(x) <= 0):
        raise InvalidInputError("DCI-ES: capacities must be >= 2 increasing values, one loss each")
    if not baseline_loss > lowest_loss:
        raise InvalidInputError(f"DCI-ES: baseline loss {baseline_loss} must exceed the lowest loss {lowest_loss}")
    if variant == "authors_script":
        floor = float(y.min())
        area = float(np.sum(np.diff(x) * ((y[1:] - floor) + (y[:-1] - floor)) / 2))
        return 1.0 - 2.0 * area / ((x[-1] - x[0]) * baseline_loss)
    if variant != "paper":
        raise InvalidInputError(f"DCI-ES: unknown explicitness variant {variant!r}; use one of {sorted(VARIANTS)}")
    area = float(np.sum(np.diff(x) * ((y[1:] - lowest_loss) + (y[:-1] - lowest_loss)) / 2))
    return 1.0 - area / ((x[-1] - x[0]) * (baseline_loss - lowest_loss))


def dci_es_from_codes(train_codes, train_factors, test_codes, test_factors, *, depths=DEPTHS, random_state=0,
                      n_jobs: int | None = None, variant: str = DEFAULT_VARIANT) -> dict:
    """D, C, I, E and S from sampled codes.

    Args:
        train_codes, test_codes: float ``(N, num_codes)``, at least 2 codes.
        train_factors, test_factors: int ``(N, num_factors)``, at least 2 factors.
        depths: increasing probe depths (1, 2, 3, 4, 6); must include 3.
        random_state: Generator or int seed (one seed per factor, the same at every depth).
        n_jobs: threads per classifier fit.
        variant: the explicitness variant of ``score`` (:data:`VARIANTS`; ``"paper"``).

    Returns:
        ``{"score": explicitness, "explicitness" (the chosen variant), "variant",
        "explicitness_paper", "explicitness_authors_script" (both, always),
        "explicitness_per_factor" (chosen variant), "size", "disentanglement",
        "completeness", "informativeness" (depth 3), "capacities", "test_error" (depths x
        factors nested list), "baseline_error" (per factor)}``.

    Raises:
        InvalidInputError: as :func:`disbench.metrics.dci.dci_from_codes`; depths without 3
            or not increasing; an unknown variant.
    """
    if variant not in VARIANTS:
        raise InvalidInputError(f"DCI-ES: unknown explicitness variant {variant!r}; use one of {sorted(VARIANTS)}")
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
    per_variant = {v: [explicitness_from_curve(depths, errors[:, k], baseline[k], variant=v) if baseline[k] > 0
                       else 1.0 for k in range(errors.shape[1])] for v in VARIANTS}  # fmt: skip
    per_factor = per_variant[variant]
    ref = runs[REFERENCE_DEPTH]
    num_codes = len(ref["disentanglement_per_code"])
    return {"score": float(np.mean(per_factor)), "explicitness": float(np.mean(per_factor)), "variant": variant,
            **{f"explicitness_{v}": float(np.mean(e)) for v, e in per_variant.items()},
            "explicitness_per_factor": per_factor, "size": min(1.0, y_train.shape[1] / num_codes),
            "disentanglement": ref["disentanglement"], "completeness": ref["completeness"],
            "informativeness": ref["informativeness"], "capacities": depths, "test_error": errors.tolist(),
            "baseline_error": baseline}


@metric("dci_es", quick={"num_train": 2_500, "num_test": 1_000}, by_default=False)
def dci_es(dataset, encode, *, random_state=0, num_train: int = 10_000, num_test: int = 5_000, depths: tuple = DEPTHS,
           n_jobs: int | None = None, variant: str = DEFAULT_VARIANT) -> dict:
    """DCI-ES of a representation on a ground-truth dataset.

    Args:
        dataset: a ground-truth dataset; encode: observations -> codes, or a :class:`CodeCache`.
        random_state: Generator or int seed.
        num_train, num_test: sampled points (10,000 / 5,000).
        depths: probe depths; n_jobs: threads per classifier fit.
        variant: explicitness variant of the score, ``"paper"`` (default) or ``"authors_script"``.

    Returns:
        See :func:`dci_es_from_codes`.
    """
    cache, rng = cache_and_rng(dataset, encode, random_state)
    x_train, y_train, x_test, y_test = cache.sample_train_test(num_train, num_test, rng)
    return dci_es_from_codes(x_train, y_train, x_test, y_test, depths=depths, random_state=rng, n_jobs=n_jobs,
                             variant=variant)
