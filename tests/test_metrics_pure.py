"""The pure metric layer: hand-computed values, reference equalities, invariances, bad input."""

import math

import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

from disbench.errors import InvalidInputError
from disbench.metrics import (
    dci_from_importance,
    factor_vae_from_variances,
    mig_from_codes,
    modularity_from_mutual_information,
    sap_from_codes,
    sap_from_score_matrix,
)
from disbench.metrics.beta_vae import beta_vae_features
from disbench.metrics.utils import entropy, histogram_discretize, mutual_information


def test_mutual_information_equals_sklearn_per_pair():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 7, size=(500, 6))
    codes[:, 2] = 3  # constant code
    factors = np.stack([rng.integers(0, 4, 500), codes[:, 0] % 3, rng.integers(0, 9, 500)], axis=1)
    got = mutual_information(codes, factors, max_cells=700)  # forces several chunks
    want = np.array([[mutual_info_score(factors[:, k], codes[:, j]) for k in range(3)] for j in range(6)])
    np.testing.assert_allclose(got, want, atol=1e-12)
    assert np.all(got[2] == 0)


def test_entropy_is_mutual_information_with_itself():
    rng = np.random.default_rng(1)
    f = rng.integers(0, 5, size=(300, 2))
    np.testing.assert_allclose(entropy(f), [mutual_info_score(f[:, k], f[:, k]) for k in range(2)], atol=1e-12)
    np.testing.assert_allclose(entropy(np.arange(8)[:, None]), [math.log(8)])


def test_histogram_discretize_matches_numpy_histogram_digitize():
    rng = np.random.default_rng(2)
    codes = rng.normal(size=(200, 4))
    codes[:, 3] = 1.5
    got = histogram_discretize(codes, 20)
    for j in range(4):
        want = np.digitize(codes[:, j], np.histogram(codes[:, j], 20)[1][:-1]) - 1
        np.testing.assert_array_equal(got[:, j], want)
    assert got.min() == 0 and got[:, :3].max() == 19 and np.all(got[:, 3] == got[0, 3])


def _grid(*sizes):
    return np.stack(np.meshgrid(*[np.arange(s) for s in sizes], indexing="ij"), -1).reshape(-1, len(sizes))


def test_mig_hand_computed_on_a_full_grid():
    # factors uniform on a 3 x 40 grid, codes = factors: code 0 carries log 3 about factor 0
    # and nothing about factor 1; code 1 binned into 20 bins of 2 values carries log 20 of
    # factor 1's log 40.
    f = _grid(3, 40)
    out = mig_from_codes(f.astype(float), f)
    np.testing.assert_allclose(out["per_factor"], [1.0, math.log(20) / math.log(40)], atol=1e-12)
    np.testing.assert_allclose(out["mutual_information"], [[math.log(3), 0], [0, math.log(20)]], atol=1e-12)


def test_mig_invariant_to_code_permutation_and_affine_scaling():
    rng = np.random.default_rng(3)
    f = rng.integers(0, 5, size=(1000, 3))
    codes = np.concatenate([f + rng.normal(0, 0.3, f.shape), rng.normal(size=(1000, 2))], axis=1)
    base = mig_from_codes(codes, f)["score"]
    perm = rng.permutation(5)
    assert mig_from_codes(codes[:, perm], f)["score"] == pytest.approx(base, abs=1e-12)
    assert mig_from_codes(codes * [3, -2, 0.5, 7, 1] + 4, f)["score"] == pytest.approx(base, abs=1e-12)


def test_mig_constant_code_has_zero_information():
    f = _grid(4, 4)
    codes = np.stack([f[:, 0], np.full(16, 2.0), f[:, 1]], 1).astype(float)
    out = mig_from_codes(codes, f)
    assert np.all(np.asarray(out["mutual_information"])[1] == 0)
    assert out["score"] == pytest.approx(1.0)


def test_dci_hand_computed():
    # code 0 splits its importance over both factors (D_0 = 0), code 1 is used for factor 1
    # only (D_1 = 1); weights 2/3, 1/3 -> D = 1/3; completeness symmetric -> 1/3.
    out = dci_from_importance([[1.0, 1.0], [0.0, 1.0]])
    assert out["disentanglement"] == pytest.approx(1 / 3, abs=1e-8)
    assert out["completeness"] == pytest.approx(1 / 3, abs=1e-8)
    assert dci_from_importance(np.eye(3))["disentanglement"] == pytest.approx(1.0, abs=1e-8)
    assert dci_from_importance(np.ones((3, 3)))["completeness"] == pytest.approx(0.0, abs=1e-8)
    assert dci_from_importance(np.zeros((2, 2)))["disentanglement"] == pytest.approx(0.0, abs=1e-8)


def test_sap_hand_computed_and_permutation_invariant():
    s = np.array([[0.9, 0.2], [0.5, 0.7], [0.1, 0.6]])
    out = sap_from_score_matrix(s)
    np.testing.assert_allclose(out["per_factor"], [0.4, 0.1])
    assert out["score"] == pytest.approx(0.25)
    rng = np.random.default_rng(4)
    f = rng.integers(0, 3, size=(300, 2))
    codes = np.concatenate([f + rng.normal(0, 0.2, f.shape), rng.normal(size=(300, 1))], 1)
    a = sap_from_codes(codes[:200], f[:200], codes[200:], f[200:], n_jobs=1)
    b = sap_from_codes(codes[:200, ::-1], f[:200], codes[200:, ::-1], f[200:], n_jobs=1)
    assert a["score"] == pytest.approx(b["score"])
    assert a["score"] > 0.25  # 1-d one-vs-rest SVMs separate 2 of 3 classes: gap ~ 1/3


def test_modularity_hand_computed():
    assert modularity_from_mutual_information([[1.0, 0.0], [0.0, 2.0]])["score"] == 1.0
    # squared MI (4, 1): delta = 1 / (4 * (2 - 1)) -> 0.75; a code with no information scores 0
    out = modularity_from_mutual_information([[2.0, 1.0], [0.0, 0.0]])
    np.testing.assert_allclose(out["per_code"], [0.75, 0.0])


def test_factor_vae_votes_pruning_and_collapse():
    gvar = np.array([1.0, 4.0, 1e-4])  # code 2 collapsed (std 0.01 < 0.05)
    # points with factor 0 have the smallest normalised variance in code 0, factor 1 in code 1;
    # code 2 (collapsed) would win every point if it were not pruned.
    local = np.array([[0.1, 4.0, 0.0], [1.0, 0.4, 0.0], [0.1, 3.0, 0.0], [1.0, 0.1, 0.0]])
    labels = np.array([0, 1, 0, 0])
    out = factor_vae_from_variances(gvar, local, labels, local, labels, 2)
    assert out["num_active_codes"] == 2 and out["active_codes"] == [0, 1]
    # votes: code 0 <- factor 0 twice; code 1 <- factor 1 once, factor 0 once (tie -> factor 0)
    assert out["code_to_factor"] == [0, 0, -1]
    assert out["train_accuracy"] == pytest.approx(3 / 4)
    none = factor_vae_from_variances(np.zeros(3), local, labels, local, labels, 2)
    assert none["score"] == 0.0 and none["num_active_codes"] == 0


def test_beta_vae_feature_is_mean_absolute_difference():
    z1 = np.array([[[0.0, 1.0], [2.0, 2.0]]])
    z2 = np.array([[[1.0, 1.0], [0.0, 2.5]]])
    np.testing.assert_allclose(beta_vae_features(z1, z2), [[1.5, 0.25]])


def test_beta_vae_feature_averages_absolute_differences_not_differences_of_means():
    """Hand-computed (issue 26): pairs whose differences cancel in the mean. Code 0 differs by
    +2, −2, +2, −2 over the L = 4 pairs: mean |z1 − z2| = 2, |mean z1 − mean z2| = 0; code 1
    differs by 0, 1, 0, 3: 1.0 either way."""
    z1 = np.array([[[1.0, 5.0], [-1.0, 1.0], [3.0, 0.0], [0.0, 3.0]]])
    z2 = np.array([[[-1.0, 5.0], [1.0, 0.0], [1.0, 0.0], [2.0, 0.0]]])
    np.testing.assert_allclose(beta_vae_features(z1, z2), [[2.0, 1.0]])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_codes_rejected(bad):
    f = _grid(3, 4)
    codes = f.astype(float)
    codes[5, 1] = bad
    with pytest.raises(InvalidInputError, match="NaN or inf"):
        mig_from_codes(codes, f)


def test_bad_shapes_and_too_few_samples_rejected():
    f = _grid(3, 4)
    with pytest.raises(InvalidInputError, match="2-d"):
        mig_from_codes(np.zeros(12), f)
    with pytest.raises(InvalidInputError, match="rows"):
        mig_from_codes(np.zeros((11, 2)), f)
    with pytest.raises(InvalidInputError, match="1 codes; this metric needs at least 2"):
        mig_from_codes(np.zeros((12, 1)), f)
    with pytest.raises(InvalidInputError, match="single value"):
        mig_from_codes(np.random.default_rng(0).normal(size=(12, 2)), np.stack([f[:, 0], np.zeros(12, int)], 1))
    with pytest.raises(InvalidInputError, match="single class"):
        sap_from_codes(np.ones((4, 2)), np.zeros((4, 1), int), np.ones((4, 2)), np.zeros((4, 1), int))
