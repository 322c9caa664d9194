"""FID (Heusel et al. 2017) and KID (Bińkowski et al. 2018) of generated images.

FID is the Fréchet distance between Gaussian fits of the features of real and
generated images (Heusel et al. 2017, Eq. 6):

    d² = ||μ_r − μ_g||² + Tr(Σ_r + Σ_g − 2 (Σ_r Σ_g)^½).

The statistics are streamed over batches in float64 and the distance computed by
torchmetrics' :class:`~torchmetrics.image.fid.FrechetInceptionDistance` (its state: the
feature sum and the sum of outer products, both float64; the matrix square root through
the eigenvalues of Σ_r Σ_g). Features come from

* ``feature="factor_net"`` (default, reported as ``fid``): the per-dataset factor
  classifier of :mod:`disbench.metrics.feature_net` — trained by disbench to classify
  every ground-truth factor, so the distance measures what matters on that dataset and
  works offline on a CPU. Its features are **standardised with the real images' feature
  statistics** (:func:`standardize_features`: each feature minus its mean over the real
  sample, divided by its standard deviation there; features constant on the real sample
  are dropped), so FID is in squared real-standard-deviation units: 0 for identical
  distributions, and a generator whose features sit at the real mean with no spread
  scores the number of features used (the trace of the real correlation matrix, ≤ 128).
  Without it the raw ReLU features have arbitrary scale and FID/KID landed in the
  thousands to millions (README, "FID and KID scale", for calibration values); or
* ``feature="inception"`` (reported as ``fid_inception``): the standard Inception-v3
  pool3 features (2048-d) of :mod:`disbench.metrics.inception`, optional extra
  ``disbench[inception]``, the standard definition on raw pool3 features (no
  standardisation, comparable with published FIDs). Slow on a CPU (about 0.2 s per image
  per core).

KID is the unbiased squared MMD with the cubic polynomial kernel
``k(x, y) = (xᵀy / d + 1)³`` (Bińkowski et al. 2018, Sec. 3 and App. D), averaged over
``kid_subsets = 100`` random subsets of ``min(1000, n_real, n_fake)`` real and generated
features each (the subset sizes of Bińkowski et al. and of torchmetrics / torch-fidelity),
using torchmetrics' estimator (:func:`torchmetrics.image.kid.poly_mmd`) with subsets drawn
from ``random_state``. The kernels are computed in float32 (on dSprites features the
estimate moves by < 1e-3 against float64, for a subset spread of ~20).

Two layers, as every metric: :func:`fid` draws images and extracts features; the pure
functions :func:`fid_from_features`, :func:`kid_from_features` and
:func:`frechet_distance` work on arrays.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance, _compute_fid
from torchmetrics.image.kid import poly_mmd

from disbench.allocator import tune_allocator
from disbench.errors import InvalidInputError, unknown_name
from disbench.metrics.feature_net import as_dataset, as_images, load_feature_net
from disbench.rng import as_generator

FEATURES = ("factor_net", "inception")
KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000


def fid(
    dataset,
    sample,
    *,
    num_real: int = 10_000,
    num_fake: int = 10_000,
    feature: str = "factor_net",
    random_state=0,
    batch_size: int = 500,
    device=None,
) -> dict:
    """FID and KID between a dataset and a generator's samples.

    Args:
        dataset: a :class:`~disbench.data.GroundTruthDataset` or its registry name; the
            real images are ``num_real`` observations of factors drawn uniformly.
        sample: ``sample(n)`` -> ``n`` generated images, float32 in [0, 1] of shape
            ``(n, *dataset.observation_shape)`` (torch tensor or numpy array); called
            with ``n <= batch_size``.
        num_real, num_fake: numbers of real and generated images (default 10,000 each,
            as in Heusel et al. 2017 Sec. 4 / the TTUR code). Each must exceed the
            feature dimension so both covariances can be full rank.
        feature: ``"factor_net"`` (the dataset's factor classifier, trained once with
            seed 0 and cached, see :func:`~disbench.metrics.feature_net.load_feature_net`)
            or ``"inception"`` (Inception-v3 pool3, optional extra).
        random_state: Generator or int seed for the real factors and the KID subsets.
        batch_size: images per feature-extraction batch.
        device: torch device for the feature network (default CPU; ``"auto"``: CUDA if present).

    Returns:
        ``{"score": FID (float, ≥ 0; squared real-standard-deviation units for
        ``factor_net``, squared pool3 units for ``inception``), "kid_mean", "kid_std": KID over
        the subsets, "num_real", "num_fake", "feature", "feature_dim", "feature_dims_used"
        (after dropping features constant on the real sample), "feature_scaling" ("real
        z-score" or "none"), "kid_subsets", "kid_subset_size"}``.

    Raises:
        UnknownNameError: unknown ``feature`` or dataset name.
        InvalidInputError: bad counts, or ``sample`` returned images of the wrong shape,
            with NaN/inf or outside [0, 1].
        MissingFileError: ``feature="inception"`` without ``disbench[inception]``.
    """
    tune_allocator()
    if feature not in FEATURES:
        raise unknown_name("FID feature network", feature, FEATURES)
    dataset = as_dataset(dataset)
    batch_size = _positive_int(batch_size, "batch_size")
    num_real = _positive_int(num_real, "num_real")
    num_fake = _positive_int(num_fake, "num_fake")
    rng = as_generator(random_state)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(device or "cpu")
    if feature == "factor_net":
        net = load_feature_net(dataset, seed=0).to(device)
    else:
        from disbench.metrics.inception import InceptionFeatures

        net = InceptionFeatures().to(device)
    dim = net.num_features
    for n, name in ((num_real, "num_real"), (num_fake, "num_fake")):
        if n <= dim:
            raise InvalidInputError(
                f"FID needs more images than feature dimensions ({dim}) for a full-rank covariance; "
                f"got {name}={n}"
            )

    factors = dataset.sample_factors(num_real, rng)
    real, fake = [], []
    with torch.no_grad():
        for start in range(0, num_real, batch_size):
            x = dataset.sample_observations_from_factors(factors[start : start + batch_size], rng)
            real.append(net.features(as_images(x, dataset.observation_shape, "real images").to(device)).cpu())
        for start in range(0, num_fake, batch_size):
            m = min(batch_size, num_fake - start)
            x = as_images(sample(m), dataset.observation_shape, "generated images", num=m)
            fake.append(net.features(x.to(device)).cpu())
    real, fake = torch.cat(real), torch.cat(fake)
    used = dim
    if feature == "factor_net":
        real, fake, used = standardize_features(real, fake)
    out = {"score": fid_from_features(real, fake)}
    out.update(kid_from_features(real, fake, random_state=rng))
    out.update(num_real=num_real, num_fake=num_fake, feature=feature, feature_dim=dim, feature_dims_used=used,
               feature_scaling="real z-score" if feature == "factor_net" else "none")  # fmt: skip
    return out


def standardize_features(real_features, fake_features) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Z-score both feature sets with the real set's per-feature mean and standard deviation.

    Features whose real standard deviation is below ``1e-6`` times the largest (constant on
    the real sample, e.g. ReLU units that never fire on real images) are dropped: no real
    spread to measure them in. FID on the result is in squared real-standard-deviation
    units and invariant to any per-feature affine rescaling of the inputs.

    Args:
        real_features, fake_features: float ``(n_real, D)`` and ``(n_fake, D)``.

    Returns:
        ``(real float64 (n_real, D'), fake float64 (n_fake, D'), D')``: the real columns then
        have mean 0 and sample standard deviation (ddof 1) exactly 1.

    Raises:
        InvalidInputError: bad shapes, NaN/inf, fewer than 2 real rows, or no feature varies.
    """
    real = _features(real_features, "real_features")
    fake = _features(fake_features, "fake_features")
    _same_dim(real, fake)
    if len(real) < 2:
        raise InvalidInputError(f"standardising needs at least 2 real feature rows, got {len(real)}")
    mean, std = real.mean(dim=0), real.std(dim=0, unbiased=True)
    keep = std > 1e-6 * std.max()
    if not keep.any():
        raise InvalidInputError("no feature varies over the real images; check the feature network")
    return (real[:, keep] - mean[keep]) / std[keep], (fake[:, keep] - mean[keep]) / std[keep], int(keep.sum())


def fid_from_features(real_features, fake_features, *, batch_size: int | None = None) -> float:
    """FID between two feature sets (Heusel et al. 2017, Eq. 6).

    The features are streamed into torchmetrics' ``FrechetInceptionDistance`` (float64
    sums), ``batch_size`` rows at a time (default: all at once; the result is the same).

    Args:
        real_features, fake_features: float arrays/tensors ``(n_real, D)`` and
            ``(n_fake, D)``, each with more rows than columns.

    Returns:
        The Fréchet distance (float, ≥ 0).

    Raises:
        InvalidInputError: not 2-d, different D, NaN/inf, or ``n <= D``.
    """
    real = _features(real_features, "real_features")
    fake = _features(fake_features, "fake_features")
    _same_dim(real, fake)
    for x, name in ((real, "real_features"), (fake, "fake_features")):
        if len(x) <= x.shape[1]:
            raise InvalidInputError(
                f"{name}: {len(x)} samples of dimension {x.shape[1]}; a full-rank covariance "
                f"needs more samples than dimensions"
            )
    metric = FrechetInceptionDistance(feature=_Float64Features(real.shape[1]), normalize=True)
    step = batch_size or max(len(real), len(fake))
    for x, is_real in ((real, True), (fake, False)):
        for start in range(0, len(x), step):
            metric.update(x[start : start + step], real=is_real)
    return max(float(metric.compute()), 0.0)


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2) (Heusel et al. 2017, Eq. 6).

    Computed in float64 by torchmetrics' FID routine (``Tr (Σ1 Σ2)^½`` as the sum of the
    square roots of the eigenvalues of ``Σ1 Σ2``). Rounding below 0 is clipped to 0.

    Args:
        mu1, mu2: means, shape ``(D,)``.
        sigma1, sigma2: symmetric positive semi-definite covariances ``(D, D)``.

    Raises:
        InvalidInputError: shapes do not match or values are not finite.
    """
    mu1, mu2 = (torch.as_tensor(np.asarray(m, dtype=np.float64)) for m in (mu1, mu2))
    sigma1, sigma2 = (torch.as_tensor(np.asarray(s, dtype=np.float64)) for s in (sigma1, sigma2))
    d = mu1.shape[0] if mu1.ndim == 1 else -1
    if mu1.ndim != 1 or mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise InvalidInputError(
            "frechet_distance needs means (D,) and covariances (D, D); got "
            f"{tuple(mu1.shape)}, {tuple(sigma1.shape)}, {tuple(mu2.shape)}, {tuple(sigma2.shape)}"
        )
    if not all(torch.isfinite(t).all() for t in (mu1, mu2, sigma1, sigma2)):
        raise InvalidInputError("frechet_distance: means and covariances must be finite")
    return max(float(_compute_fid(mu1, sigma1, mu2, sigma2)), 0.0)


def kid_from_features(
    real_features, fake_features, *, subsets: int = KID_SUBSETS, subset_size: int = KID_SUBSET_SIZE, random_state=0
) -> dict:
    """KID: unbiased MMD² with kernel ``(xᵀy / D + 1)³`` over random subsets (Bińkowski et al. 2018).

    Args:
        real_features, fake_features: float ``(n_real, D)``, ``(n_fake, D)``.
        subsets: number of subsets (default 100).
        subset_size: rows per subset, capped at ``min(n_real, n_fake)`` (default 1000).
        random_state: Generator or int seed choosing the subsets (without replacement).

    Returns:
        ``{"kid_mean", "kid_std" (population std over subsets), "kid_subsets", "kid_subset_size"}``.

    Raises:
        InvalidInputError: bad shapes, NaN/inf, or fewer than 2 rows.
    """
    real = _features(real_features, "real_features")
    fake = _features(fake_features, "fake_features")
    _same_dim(real, fake)
    real, fake = real.float(), fake.float()  # kernels in float32: 2x faster, sums still pairwise
    size = min(subset_size, len(real), len(fake))
    if size < 2:
        raise InvalidInputError(f"KID needs at least 2 real and 2 generated samples, got {len(real)} and {len(fake)}")
    gen = torch.Generator().manual_seed(int(as_generator(random_state).integers(2**62)))
    scores = torch.stack(
        [
            poly_mmd(
                real[torch.randperm(len(real), generator=gen)[:size]],
                fake[torch.randperm(len(fake), generator=gen)[:size]],
            )
            for _ in range(_positive_int(subsets, "subsets"))
        ]
    )
    return {
        "kid_mean": float(scores.mean()),
        "kid_std": float(scores.std(unbiased=False)),
        "kid_subsets": int(subsets),
        "kid_subset_size": int(size),
    }


class _Float64Features(nn.Module):
    """Identity "feature network" for torchmetrics: the inputs are features already."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.double()


def _features(x, name: str) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x, dtype=np.float64))
    if x.ndim != 2 or x.shape[1] < 1:
        raise InvalidInputError(f"{name} must be a 2-d array (n, D), got shape {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise InvalidInputError(f"{name} contains NaN or inf; check the images and the feature network")
    return x


def _same_dim(real: torch.Tensor, fake: torch.Tensor) -> None:
    if real.shape[1] != fake.shape[1]:
        raise InvalidInputError(f"feature dimensions differ: real {real.shape[1]}, fake {fake.shape[1]}")


def _positive_int(n, name: str) -> int:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise InvalidInputError(f"{name} must be a positive int, got {n!r}")
    return int(n)
