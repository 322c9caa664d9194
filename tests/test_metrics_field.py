"""IRS, unsupervised scores, UDR, DCI-ES and InfoMEC: hand-computed values, invariances, bad input."""

import math

import numpy as np
import pytest
import scipy.linalg

from disbench.errors import InvalidInputError, UnknownNameError
from disbench.metrics import (
    dci_es_from_codes,
    explicitness_from_curve,
    gaussian_total_correlation,
    gaussian_wasserstein_correlation,
    infomec_from_codes,
    irs_from_codes,
    udr_from_codes,
    unsupervised_from_codes,
)
from disbench.metrics.infomec import _normalised_max_share
from disbench.metrics.udr import relative_strength, spearman_matrix
from disbench.metrics.utils import logistic_regression


def _grid(*sizes):
    return np.stack(np.meshgrid(*[np.arange(s) for s in sizes], indexing="ij"), -1).reshape(-1, len(sizes))


# ---------------------------------------------------------------- IRS
def test_irs_hand_computed():
    # z = 0, 1, 2, 3 with g = 0, 0, 1, 1: each group's largest deviation from its mean is 0.5,
    # the largest deviation from the overall mean 1.5 -> IRS = 1 - 0.5 / 1.5
    out = irs_from_codes(np.arange(4.0)[:, None], np.array([[0], [0], [1], [1]]), diff_quantile=1.0)
    assert out["score"] == pytest.approx(2 / 3)
    assert out["irs_matrix"] == [[pytest.approx(2 / 3)]]


def test_irs_is_one_for_codes_equal_to_factors_and_drops_constant_codes():
    f = _grid(3, 4, 5)
    codes = np.concatenate([f.astype(float), np.full((len(f), 1), 7.0)], axis=1)
    out = irs_from_codes(codes, f, factor_bins=None)
    assert out["score"] == pytest.approx(1.0)
    assert out["num_active_codes"] == 3 and out["parents"] == [0, 1, 2]
    assert irs_from_codes(np.ones((len(f), 2)), f)["score"] == 0.0


def test_irs_invariances():
    # each code's IRS is invariant to its own affine map; the score weights codes by their
    # largest deviation, so it is invariant to a common scale, shifts and the code order
    rng = np.random.default_rng(0)
    f = rng.integers(0, 5, size=(500, 3))
    codes = np.concatenate([f + rng.normal(0, 0.4, f.shape), rng.normal(size=(500, 1))], axis=1)
    base = irs_from_codes(codes, f)
    scaled = irs_from_codes(codes * [2.0, -3.0, 0.5, 4.0] + 1.0, f)
    np.testing.assert_allclose(scaled["per_code"], base["per_code"], atol=1e-12)
    assert irs_from_codes(codes * -3.0 + [1, 2, 3, 4], f)["score"] == pytest.approx(base["score"], abs=1e-12)
    assert irs_from_codes(codes[:, ::-1], f)["score"] == pytest.approx(base["score"], abs=1e-12)
    assert 0.0 < base["score"] < 1.0


def test_irs_factor_bins_pool_large_factors():
    # a factor of 40 values binned into 20 bins pools pairs of values: the code equal to it
    # then varies inside a bin and scores below 1; with exact values it scores 1
    f = _grid(40, 2)
    codes = f.astype(float)
    assert irs_from_codes(codes, f, factor_bins=None)["score"] == pytest.approx(1.0)
    assert irs_from_codes(codes, f)["per_code"][0] < 1.0


def test_irs_rejects_bad_quantile():
    with pytest.raises(InvalidInputError, match="diff_quantile"):
        irs_from_codes(np.arange(4.0)[:, None], np.zeros((4, 1), int), diff_quantile=0.0)


# ---------------------------------------------------------------- unsupervised scores
def test_gaussian_scores_hand_computed():
    r = 0.6
    cov = np.array([[1.0, r], [r, 1.0]])
    assert gaussian_total_correlation(cov) == pytest.approx(-0.5 * math.log(1 - r * r))
    assert gaussian_wasserstein_correlation(cov) == pytest.approx(4 - 2 * (math.sqrt(1 + r) + math.sqrt(1 - r)))
    assert gaussian_total_correlation(np.diag([2.0, 3.0])) == pytest.approx(0.0)
    assert gaussian_wasserstein_correlation(np.diag([2.0, 3.0])) == pytest.approx(0.0, abs=1e-12)


def test_wasserstein_matches_scipy_sqrtm():
    a = np.random.default_rng(1).normal(size=(6, 6))
    cov = a @ a.T + 0.1 * np.eye(6)
    want = 2 * np.trace(cov) - 2 * np.trace(scipy.linalg.sqrtm(cov * np.diag(cov)[:, None])).real
    assert gaussian_wasserstein_correlation(cov) == pytest.approx(want, abs=1e-10)


def test_unsupervised_scores_of_independent_and_duplicated_codes():
    rng = np.random.default_rng(2)
    z = rng.normal(size=(20_000, 3))
    out = unsupervised_from_codes(z)
    assert out["gaussian_total_correlation"] < 1e-3 and out["mutual_info_score"] < 0.02
    dup = unsupervised_from_codes(np.concatenate([z[:, :1], z[:, :1] * 3 + 1], axis=1))
    # two copies of one code: the binned codes are equal, MI = their entropy
    assert dup["mutual_info_score"] > 2.0
    scaled = unsupervised_from_codes(z * [1.0, 5.0, 0.2])
    assert scaled["gaussian_total_correlation"] == pytest.approx(out["gaussian_total_correlation"], abs=1e-9)
    assert scaled["mutual_info_score"] == pytest.approx(out["mutual_info_score"], abs=1e-12)


def test_total_correlation_of_a_constant_code_raises():
    z = np.random.default_rng(3).normal(size=(50, 2))
    z[:, 1] = 1.0
    with pytest.raises(InvalidInputError, match="zero variance"):
        unsupervised_from_codes(z)


# ---------------------------------------------------------------- UDR
def test_relative_strength_hand_computed():
    assert relative_strength(np.eye(3)) == pytest.approx(1.0)
    assert relative_strength(np.ones((4, 4))) == pytest.approx(0.25)  # max^2 / sum = 1/4 everywhere
    # R = [[2, 0], [1, 1]]: columns max^2/sum = 4/3, 1 (mean 7/6); rows 4/2, 1/2 (mean 5/4)
    assert relative_strength([[2.0, 0.0], [1.0, 1.0]]) == pytest.approx((7 / 6 + 5 / 4) / 2)
    assert relative_strength(np.zeros((2, 2))) == 0.0


def test_spearman_matrix_matches_rank_correlation():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(100, 3)), rng.normal(size=(100, 2))
    b[:, 0] = np.exp(a[:, 1])  # monotone: rank correlation 1
    m = spearman_matrix(a, b)
    assert m.shape == (3, 2) and m[1, 0] == pytest.approx(1.0)


@pytest.mark.parametrize("correlation", ["lasso", "spearman"])
def test_udr_ranks_a_rotated_model_below_permuted_copies(correlation):
    rng = np.random.default_rng(5)
    base = rng.normal(size=(500, 4))
    perm = base[:, [2, 0, 3, 1]] * [1, -1, 2, 1]
    q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    out = udr_from_codes([base, perm, base + rng.normal(0, 0.01, base.shape), base @ q], correlation=correlation)
    scores = out["model_scores"]
    # permuted, rescaled copies are one model to UDR (equal scores); under Lasso R is the
    # permutation matrix times the shrinkage of a standardised unit coefficient (1 - alpha)
    assert scores[0] == pytest.approx(scores[1], abs=1e-12)
    if correlation == "lasso":
        np.testing.assert_allclose(scores[:3], 0.9, atol=2e-3)
    assert scores[3] < min(scores[:3]) - 0.1
    assert np.all(np.diag(out["pairwise"]) == 0)


def test_udr_ignores_uninformative_latents():
    rng = np.random.default_rng(6)
    z = rng.normal(size=(300, 3))
    noisy = [np.concatenate([z, rng.normal(size=(300, 1))], axis=1) for _ in range(2)]
    kl = [np.array([1.0, 1.0, 1.0, 0.001])] * 2
    out = udr_from_codes(noisy, kl, correlation="spearman")
    assert out["num_informative"] == [3, 3]
    # the uninformative latent is as if absent; counted, it lowers the score
    clean = udr_from_codes([z, z], correlation="spearman")["model_scores"][0]
    assert out["model_scores"][0] == pytest.approx(clean, abs=1e-12)
    assert udr_from_codes(noisy, correlation="spearman")["model_scores"][0] < clean - 0.05


def test_udr_bad_input():
    z = np.zeros((10, 2))
    with pytest.raises(InvalidInputError, match="at least 2"):
        udr_from_codes([z])
    with pytest.raises(InvalidInputError, match="same observations"):
        udr_from_codes([z, np.zeros((9, 2))])
    with pytest.raises(InvalidInputError, match="correlation"):
        udr_from_codes([z, z], correlation="pearson")


# ---------------------------------------------------------------- DCI-ES
def test_explicitness_hand_computed():
    assert explicitness_from_curve([1, 2, 3], [0.0, 0.0, 0.0], 0.5) == pytest.approx(1.0)
    assert explicitness_from_curve([1, 2, 3], [0.5, 0.5, 0.5], 0.5) == pytest.approx(0.0)
    # trapezoid 1->2 of (0.5 + 0) / 2 = 0.25; Z = (3 - 1) * 0.5 = 1
    assert explicitness_from_curve([1, 2, 3], [0.5, 0.0, 0.0], 0.5) == pytest.approx(0.75)
    # the running minimum: a larger probe that does worse counts as the best so far
    assert explicitness_from_curve([1, 2, 3], [0.25, 0.5, 0.25], 0.5) == pytest.approx(0.5)
    with pytest.raises(InvalidInputError):
        explicitness_from_curve([1, 1, 2], [0, 0, 0], 0.5)


def test_dci_es_explicitness_variants_by_hand():
    # issue 22.2: losses [.5, .3, .1, .05, .05] at depths 1, 2, 3, 4, 6, baseline .8.
    # paper (Sec. 4, l* = 0): area = (.8/2)1 + (.4/2)1 + (.15/2)1 + (.1/2)2 = .775, Z = 5 x .8 = 4 -> 1 - .775/4
    # authors' script: above the minimum .05 the losses are [.45, .25, .05, 0, 0]: area = .35 + .15 + .025 + 0
    # = .525, doubled: 1 - 2 x .525 / 4
    depths, losses = [1, 2, 3, 4, 6], [0.5, 0.3, 0.1, 0.05, 0.05]
    assert explicitness_from_curve(depths, losses, 0.8) == pytest.approx(0.80625)
    assert explicitness_from_curve(depths, losses, 0.8, variant="paper") == pytest.approx(0.80625)
    assert explicitness_from_curve(depths, losses, 0.8, variant="authors_script") == pytest.approx(0.7375)
    # a curve flat at the baseline: nothing can be read from the codes; the paper gives 0, the script 1
    assert explicitness_from_curve(depths, [0.8] * 5, 0.8) == pytest.approx(0.0)
    assert explicitness_from_curve(depths, [0.8] * 5, 0.8, variant="authors_script") == pytest.approx(1.0)
    with pytest.raises(InvalidInputError, match="unknown explicitness variant"):
        explicitness_from_curve(depths, losses, 0.8, variant="script")


def test_dci_es_result_names_its_variant():
    rng = np.random.default_rng(3)
    f = rng.integers(0, 4, size=(300, 2))
    codes = f + rng.normal(0, 0.8, f.shape)
    out = dci_es_from_codes(codes[:200], f[:200], codes[200:], f[200:], depths=(1, 3), n_jobs=1)
    assert out["variant"] == "paper" and out["score"] == out["explicitness"] == out["explicitness_paper"]
    # the per-factor curves recomputed by hand under the script's definition
    script = np.mean([explicitness_from_curve((1, 3), np.array(out["test_error"])[:, k], out["baseline_error"][k],
                                              variant="authors_script") for k in range(2)])  # fmt: skip
    assert out["explicitness_authors_script"] == pytest.approx(script)
    other = dci_es_from_codes(codes[:200], f[:200], codes[200:], f[200:], depths=(1, 3), n_jobs=1,
                              variant="authors_script")  # fmt: skip
    assert other["variant"] == "authors_script" and other["score"] == pytest.approx(script)
    with pytest.raises(InvalidInputError, match="unknown explicitness variant"):
        dci_es_from_codes(codes[:200], f[:200], codes[200:], f[200:], depths=(1, 3), variant="nope")


def test_dci_es_perfect_and_noise_codes():
    rng = np.random.default_rng(7)
    f = rng.integers(0, 4, size=(600, 2))
    perfect = f + rng.normal(0, 0.01, f.shape)
    out = dci_es_from_codes(perfect[:400], f[:400], perfect[400:], f[400:], depths=(1, 2, 3), n_jobs=1)
    assert out["explicitness"] == pytest.approx(1.0) and out["size"] == 1.0
    assert out["disentanglement"] > 0.95 and out["informativeness"] == 1.0
    noise = rng.normal(size=(600, 4))
    bad = dci_es_from_codes(noise[:400], f[:400], noise[400:], f[400:], depths=(1, 2, 3), n_jobs=1)
    assert bad["explicitness"] < 0.2 and bad["size"] == 0.5
    with pytest.raises(InvalidInputError, match="including 3"):
        dci_es_from_codes(perfect[:400], f[:400], perfect[400:], f[400:], depths=(1, 2))


# ---------------------------------------------------------------- InfoMEC
def test_normalised_max_share_hand_computed():
    assert _normalised_max_share(np.eye(2)) == pytest.approx(1.0)
    assert _normalised_max_share(np.full((2, 2), 0.5)) == pytest.approx(0.0)
    # columns (0.6, 0.2) and (0, 0.4): shares 0.75 and 1 -> mean 0.875 -> (0.875 - 0.5) / 0.5
    assert _normalised_max_share(np.array([[0.6, 0.0], [0.2, 0.4]])) == pytest.approx(0.75)


def test_infomec_discrete_latents_equal_to_factors():
    f = _grid(3, 4)
    f = np.tile(f, (20, 1))
    out = infomec_from_codes(f.astype(float), f, discrete_latents=True)
    assert out["infom"] == pytest.approx(1.0) and out["infoc"] == pytest.approx(1.0)
    np.testing.assert_allclose(out["nmi"], np.eye(2), atol=1e-12)
    assert out["infoe"] > 0.99


def test_infomec_continuous_orders_aligned_above_mixed():
    rng = np.random.default_rng(8)
    f = rng.integers(0, 5, size=(2000, 2))
    aligned = f + rng.normal(0, 0.1, f.shape)
    mixed = aligned @ np.array([[1.0, 1.0], [1.0, -1.0]])
    a = infomec_from_codes(aligned, f)
    m = infomec_from_codes(mixed, f)
    assert a["infom"] > 0.9 and a["infoc"] > 0.9 and a["infoe"] > 0.9
    assert m["infom"] < a["infom"] - 0.3 and m["infoc"] < a["infoc"] - 0.3


# ---------------------------------------------------------------- classifiers
def test_study_classifier_is_one_vs_rest_liblinear():
    rng = np.random.default_rng(9)
    x = rng.normal(size=(300, 3))
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5)
    study = logistic_regression("study", 0).fit(x, y)
    current = logistic_regression("current", 0).fit(x, y)
    assert len(study.estimators_) == 3  # one binary model per class
    np.testing.assert_allclose(study.predict_proba(x).sum(1), 1.0)
    assert not np.allclose(study.predict_proba(x), current.predict_proba(x))
    with pytest.raises(UnknownNameError, match="classifier"):
        logistic_regression("newest", 0)


@pytest.mark.parametrize("case", ["plain", "ties", "unique_label"])
def test_knn_mutual_information_equals_sklearn_mutual_info_classif(case):
    from sklearn.feature_selection import mutual_info_classif

    from disbench.metrics.infomec import knn_mutual_information

    rng = np.random.default_rng(10)
    y = rng.integers(0, 7, 3000)
    x = y * 0.3 + rng.normal(size=3000)
    if case == "ties":
        x = np.round(x, 1)
    if case == "unique_label":
        y[0] = 99
    want = mutual_info_classif(x[:, None], y, discrete_features=False, n_neighbors=10, random_state=3)[0]
    assert knn_mutual_information(x, y, n_neighbors=10, random_state=3) == pytest.approx(want, abs=1e-12)
