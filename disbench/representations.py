"""Non-learned reference representations (the sanity rows of every leaderboard).

Higgins et al. 2017 (β-VAE, Table 1) score ground truth, raw pixels, PCA and ICA next to
the learned models; :func:`make` builds their encode functions for any ground-truth
dataset:

* ``"ground_truth"``: the factor indices scaled to [0, 1] (``index / (size - 1)``); it reads
  factors, not images (``encode_factors``), so no rendering is needed.
* ``"pca"``: PCA-10 (scikit-learn, randomised SVD) fitted on ``num_fit`` flattened observations.
* ``"ica"``: ICA-10: scikit-learn ``FastICA`` on those observations' 10 leading principal
  components (what FastICA's own whitening step projects onto), fitted on the same sample.
* ``"raw_pixels"``: the flattened image (4096-d for dSprites).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from disbench.errors import InvalidInputError, unknown_name
from disbench.rng import as_generator

NUM_COMPONENTS = 10


class GroundTruthCodes:
    """The ground-truth representation: factor indices scaled to [0, 1].

    ``encode_factors(factors int (n, K)) -> float64 (n, K)``; calling it on images raises
    :class:`InvalidInputError` (use it through :mod:`disbench.metrics`).
    """

    def __init__(self, dataset):
        self.sizes = np.asarray(dataset.factors_num_values, dtype=np.float64)

    def encode_factors(self, factors) -> np.ndarray:
        return np.asarray(factors, dtype=np.float64) / np.maximum(self.sizes - 1, 1)

    def __call__(self, x):
        raise InvalidInputError("the ground-truth representation reads factors, not images; "
                                "pass it to disbench.metrics functions")


def _flatten(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x.reshape(len(x), -1)


def _fit_sample(dataset, num_fit: int, rng) -> np.ndarray:
    if int(num_fit) < NUM_COMPONENTS:
        raise InvalidInputError(f"num_fit must be at least {NUM_COMPONENTS}, got {num_fit}")
    return _flatten(dataset.sample_observations(int(num_fit), rng))


def _pca(dataset, rng, num_fit):
    from sklearn.decomposition import PCA

    pca = PCA(NUM_COMPONENTS, svd_solver="randomized", random_state=int(rng.integers(2**31 - 1)))
    pca.fit(_fit_sample(dataset, num_fit, rng))
    return lambda x: pca.transform(_flatten(x))


def _ica(dataset, rng, num_fit):
    import warnings

    from sklearn.decomposition import PCA, FastICA
    from sklearn.exceptions import ConvergenceWarning

    seed = int(rng.integers(2**31 - 1))
    pca = PCA(NUM_COMPONENTS, svd_solver="randomized", random_state=seed)
    scores = pca.fit_transform(_fit_sample(dataset, num_fit, rng))
    ica = FastICA(NUM_COMPONENTS, whiten="unit-variance", max_iter=1000, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ica.fit(scores)
    return lambda x: ica.transform(pca.transform(_flatten(x)))


REPRESENTATIONS = ("ground_truth", "pca", "ica", "raw_pixels")

# 4096-d raw pixels: the per-code classifiers of DCI (gradient boosting over every code) and
# SAP (one classifier per code and factor) would take hours; the other metrics cope with
# high dimensions. Asked for by name, they still run.
_SKIPPED_BY_DEFAULT = {"raw_pixels": ("dci", "sap")}


def default_metrics(name: str) -> list[str]:
    """The disentanglement metrics scored for sanity representation ``name`` by default."""
    from disbench.metrics.evaluate import default_metrics as metric_set

    return [m for m in metric_set() if m not in _SKIPPED_BY_DEFAULT.get(name, ())]


def make(name: str, dataset, random_state=0, num_fit: int = 10_000) -> Callable:
    """Encode function of a sanity representation.

    Args:
        name: one of :data:`REPRESENTATIONS`.
        dataset: a :class:`disbench.data.GroundTruthDataset`.
        random_state: Generator or int seed for the fitting sample and the solvers.
        num_fit: observations PCA / ICA are fitted on.

    Returns:
        A callable ``float32 (N, C, H, W) numpy -> float64 (N, D)`` (``D`` = 10 for PCA/ICA,
        ``C*H*W`` for raw pixels), or a :class:`GroundTruthCodes` for ``"ground_truth"``.

    Raises:
        UnknownNameError: unknown ``name``.
    """
    if name not in REPRESENTATIONS:
        raise unknown_name("representation", name, REPRESENTATIONS)
    rng = as_generator(random_state)
    if name == "ground_truth":
        return GroundTruthCodes(dataset)
    if name == "raw_pixels":
        return _flatten
    return (_pca if name == "pca" else _ica)(dataset, rng, num_fit)
