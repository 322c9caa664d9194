"""Metric values pinned against hand computations and plain reference implementations.

DCI on a non-square importance matrix (the entropy bases of codes and factors differ, so
swapping them changes the result), and KID against a plain numpy unbiased MMD² with the
cubic polynomial kernel of Bińkowski et al. 2018, Eq. (3) and Appendix.
"""

from __future__ import annotations

import numpy as np
import pytest

from disbench.errors import InvalidInputError
from disbench.metrics import dci_from_importance
from disbench.metrics.fid import kid_from_features


# --- DCI (Eastwood & Williams 2018, Eqs. 1-3) -----------------------------------------------
def test_dci_non_square_hand_case():
    # 4 codes x 2 factors. Disentanglement (entropy base K = 2 factors): code 0 splits over
    # both factors (D_0 = 0), codes 1, 2 use one factor each (D = 1), code 3 is unused
    # (weight 0); weights rho = (2, 1, 1, 0) / 4 -> D = 0.5.
    # Completeness (entropy base 4 codes): each factor is spread evenly over two codes,
    # H_4 = log 2 / log 4 = 1/2 -> C_k = 0.5, C = 0.5.
    # With the bases swapped one gets D = 0.75 and C = 0.
    out = dci_from_importance([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    assert out["disentanglement"] == pytest.approx(0.5, abs=1e-8)
    assert out["completeness"] == pytest.approx(0.5, abs=1e-8)
    np.testing.assert_allclose(out["disentanglement_per_code"], [0.0, 1.0, 1.0, 0.0], atol=1e-8)
    np.testing.assert_allclose(out["completeness_per_factor"], [0.5, 0.5], atol=1e-8)


def test_dci_wide_hand_case():
    # 2 codes x 4 factors: code 0 predicts factors 0, 1 equally, code 1 factors 2, 3 equally.
    # D_j = 1 - H_4(1/2, 1/2, 0, 0) = 1/2 per code; C_k = 1 - H_2(1, 0) = 1 per factor.
    out = dci_from_importance([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]])
    assert out["disentanglement"] == pytest.approx(0.5, abs=1e-8)
    assert out["completeness"] == pytest.approx(1.0, abs=1e-8)


# --- KID (Bińkowski et al. 2018) ------------------------------------------------------------
def unbiased_mmd2_cubic(x: np.ndarray, y: np.ndarray) -> float:
    """Plain unbiased MMD² (Gretton et al. 2012, Eq. 3) with k(a, b) = (aᵀb / D + 1)³, float64."""
    d = x.shape[1]
    kxx, kyy, kxy = ((a @ b.T / d + 1.0) ** 3 for a, b in ((x, x), (y, y), (x, y)))
    m, n = len(x), len(y)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                 - 2.0 * kxy.mean())  # fmt: skip


def test_kid_hand_computed_in_one_dimension():
    # D = 1, x = (0, 1), y = (2, 3): k(0,1) = 1, k(2,3) = 7³ = 343, cross terms 1, 1, 27, 64
    # -> MMD² = 1 + 343 - 2 * 93 / 4 = 297.5
    out = kid_from_features([[0.0], [1.0]], [[2.0], [3.0]], subsets=1, subset_size=2)
    assert out["kid_mean"] == pytest.approx(297.5, rel=1e-6)
    assert out["kid_std"] == 0.0 and out["kid_subset_size"] == 2


def test_kid_one_full_subset_equals_the_plain_unbiased_mmd2():
    # one subset holding every row is a permutation of the rows; MMD² is permutation-invariant
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 6))
    y = rng.normal(loc=0.3, scale=1.2, size=(40, 6))
    got = kid_from_features(x, y, subsets=1, subset_size=1000, random_state=3)
    assert got["kid_subset_size"] == 40
    assert got["kid_mean"] == pytest.approx(unbiased_mmd2_cubic(x, y), rel=1e-4)


def test_kid_subsets_of_every_row_have_zero_spread():
    # both arrays hold exactly subset_size rows, so each of the 5 subsets is the full set:
    # the mean is the full-set MMD² and the (population) std over subsets is 0
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(30, 3)), rng.normal(size=(30, 3)) + 0.5
    out = kid_from_features(x, y, subsets=5, subset_size=30, random_state=0)
    assert out["kid_mean"] == pytest.approx(unbiased_mmd2_cubic(x, y), rel=1e-4)
    assert out["kid_std"] == pytest.approx(0.0, abs=1e-4 * abs(out["kid_mean"]))
    assert out["kid_subsets"] == 5


@pytest.mark.parametrize(
    ("real", "fake", "kwargs", "match"),
    [
        (np.zeros((5,)), np.zeros((5, 2)), {}, "2-d array"),
        (np.zeros((5, 2)), np.zeros((5, 3)), {}, "dimensions differ"),
        (np.full((5, 2), np.nan), np.zeros((5, 2)), {}, "NaN or inf"),
        (np.zeros((5, 2)), np.full((5, 2), np.inf), {}, "NaN or inf"),
        (np.zeros((1, 2)), np.zeros((5, 2)), {}, "at least 2"),
        (np.zeros((5, 2)), np.zeros((5, 2)), {"subset_size": 1}, "at least 2"),
        (np.zeros((5, 2)), np.zeros((5, 2)), {"subsets": 0}, "subsets must be a positive int"),
    ],
)  # fmt: skip
def test_kid_documented_errors(real, fake, kwargs, match):
    with pytest.raises(InvalidInputError, match=match):
        kid_from_features(real, fake, **kwargs)
