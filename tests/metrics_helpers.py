"""Small datasets and representations for the metric tests (no rendering cost)."""

from __future__ import annotations

import numpy as np

from disbench.data.base import GroundTruthDataset


class TinyDataset(GroundTruthDataset):
    """Factors of the given sizes; the observation is the scaled factor vector, shape (1, 1, K)."""

    name = "tiny"

    def __init__(self, sizes=(3, 4, 5, 6)):
        self.factors_num_values = tuple(sizes)
        self.factor_names = tuple(f"f{i}" for i in range(len(sizes)))
        self.observation_shape = (1, 1, len(sizes))

    def _observations(self, factors, rng):
        scaled = factors / np.maximum(np.asarray(self.factors_num_values) - 1.0, 1.0)
        return scaled[:, None, None, :].astype(np.float32)


class NoisyTinyDataset(TinyDataset):
    """Like TinyDataset but draws noise per observation (not cacheable)."""

    deterministic = False

    def _observations(self, factors, rng):
        return super()._observations(factors, rng) + rng.normal(0, 0.01, size=(len(factors), 1, 1, self.num_factors)).astype(np.float32)


class FactorCodes:
    """A representation computed from factors: ``codes = scaled factors @ matrix`` (+ noise table)."""

    def __init__(self, dataset, matrix=None, noise=0.0, seed=0):
        self.dataset = dataset
        k = dataset.num_factors
        self.matrix = np.eye(k) if matrix is None else np.asarray(matrix)
        self.noise = noise
        self.table = np.random.default_rng(seed).normal(size=(len(dataset), self.matrix.shape[1]))

    def encode_factors(self, factors):
        scaled = factors / (np.asarray(self.dataset.factors_num_values) - 1.0)
        return scaled @ self.matrix + self.noise * self.table[self.dataset.index_of(factors)]


class NoiseCodes(FactorCodes):
    """Pure noise: a fixed random code per observation, independent of the factors."""

    def encode_factors(self, factors):
        return self.table[self.dataset.index_of(factors)]


def random_rotation(k: int, seed: int = 0) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(k, k)))
    return q * np.sign(np.diag(r))
