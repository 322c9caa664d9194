"""PCA and ICA sanity rows do what their names say (not only give (N, 10) arrays):
PCA keeps the 10 directions of largest variance; ICA unmixes a linear mixture of
independent factors, which PCA does not."""

from __future__ import annotations

import numpy as np
import pytest

from disbench.data.base import GroundTruthDataset
from disbench.representations import make


class Mixed(GroundTruthDataset):
    """Observations ``(1, 1, D)`` = ``matrix @ scaled factors`` (independent, uniform, non-Gaussian)."""

    name = "mixed"

    def __init__(self, sizes, matrix):
        self.factors_num_values = tuple(sizes)
        self.factor_names = tuple(f"f{i}" for i in range(len(sizes)))
        self.matrix = np.asarray(matrix, dtype=np.float64)
        self.observation_shape = (1, 1, self.matrix.shape[0])

    def _observations(self, factors, rng):
        scaled = factors / (np.asarray(self.factors_num_values) - 1.0)
        return (scaled @ self.matrix.T)[:, None, None, :].astype(np.float32)


def _abs_corr(codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """|Pearson correlation| of every code (rows) with every factor (columns)."""
    k = codes.shape[1]
    return np.abs(np.corrcoef(codes.T, factors.T)[:k, k:])


def test_pca_keeps_the_ten_largest_variance_directions():
    # 12 independent coordinates with standard deviations proportional to 12, 11, ..., 1:
    # the principal axes are the coordinate axes, the two smallest are dropped
    ds = Mixed([4] * 12, np.diag(np.arange(12, 0, -1.0)))
    factors, x = ds.sample(2000, np.random.default_rng(1))
    codes = make("pca", ds, random_state=0, num_fit=4000)(x)
    corr = _abs_corr(codes, factors)
    np.testing.assert_array_less(0.98, np.diag(corr[:, :10]))  # code i is coordinate i (up to sign)
    assert corr[:, 10:].max() < 0.1  # the two smallest-variance coordinates are left out
    variances = codes.var(axis=0)
    assert np.all(np.diff(variances) < 0)  # ordered by explained variance
    # the codes are centred projections: each is ± (x_i - mean), so its spread is x_i's
    np.testing.assert_allclose(np.sqrt(variances), x.reshape(len(x), -1)[:, :10].std(axis=0), rtol=0.02)


@pytest.fixture(scope="module")
def mixture():
    q, _ = np.linalg.qr(np.random.default_rng(3).normal(size=(10, 10)))
    ds = Mixed([2, 3, 4, 5, 6, 7, 8, 9, 10, 11], q @ np.diag(np.linspace(1.0, 2.0, 10)))
    factors, x = ds.sample(3000, np.random.default_rng(2))
    return ds, factors, x


def test_ica_unmixes_independent_factors(mixture):
    ds, factors, x = mixture
    corr = _abs_corr(make("ica", ds, random_state=0, num_fit=5000)(x), factors)
    # each code is one factor (up to order, sign and scale) and each factor has one code
    assert sorted(corr.argmax(axis=1)) == list(range(10))
    assert corr.max(axis=1).min() > 0.995


def test_pca_does_not_unmix_them(mixture):
    ds, factors, x = mixture
    corr = _abs_corr(make("pca", ds, random_state=0, num_fit=5000)(x), factors)
    assert corr.max(axis=1).min() < 0.9  # some principal component mixes several factors
