"""The per-dataset factor classifier: default feature network of FID on factor datasets.

Inception-v3 features (trained on ImageNet photographs) say little about binary 64 x 64
sprites, so disbench trains, once per dataset and seed, a small conv network that
classifies every ground-truth factor (one softmax head per factor) and uses its
penultimate layer as the FID feature space: a generator that gets the distribution of
shapes, scales or positions wrong moves these features. The same network's ``predict``
lets GAN baselines count distinct shapes in a sample batch (mode collapse).

Architecture (``width`` w, ``feature_dim`` D, defaults w = 24, D = 128): 2 x 2 average
pooling of the input (64 x 64 -> 32 x 32), two CoordConv coordinate channels (Liu et al.
2018), three conv 4x4/stride-2 layers (w, 2w, 2w channels) with batch norm and ReLU, a
linear layer to D with ReLU = the features (D = 128 dimensions), then one linear softmax
head per factor. Training: ``steps`` (2,000) batches of ``batch_size`` (128) freshly drawn
factors (uniform over the grid) and their observations, Adam with a one-cycle
learning-rate schedule (peak 5e-3), sum of the per-factor cross-entropies; the accuracy
per factor is measured on ``num_heldout`` further draws and stored with the network.
On dSprites (seed 0) it reaches about 1.00 shape, 0.98 scale, 0.92 posX/posY and 0.46
orientation held-out accuracy (most position errors are off by one of 32 values): orientation is partly unidentifiable (a square repeats
every 90°, an ellipse every 180°, and small sprites differ by few pixels).

Cache: ``disbench.resources.data_dir()/feature_nets/<dataset>_seed<seed>.pt`` (the default
config) holding the weights, the training seed, the config and the held-out accuracies;
written atomically under a file lock. A file that cannot be read or was trained with a
different config, format or dataset shape is retrained with a warning.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from filelock import FileLock
from torch import nn
from tqdm.auto import tqdm

from disbench.data import GroundTruthDataset, load
from disbench.errors import InvalidInputError
from disbench.io import atomic_path
from disbench.resources import data_dir
from disbench.rng import as_generator

FORMAT_VERSION = 1


@dataclasses.dataclass(frozen=True)
class FeatureNetConfig:
    """Architecture and training settings of the factor classifier (defaults: ≤ ~60 s on 2 CPU cores)."""

    width: int = 24
    feature_dim: int = 128
    input_pool: int = 2
    num_heldout: int = 2_000
    steps: int = 2_000
    batch_size: int = 128
    lr: float = 5e-3


DEFAULT_CONFIG = FeatureNetConfig()


class FactorClassifier(nn.Module):
    """Conv classifier of all ground-truth factors; its penultimate layer gives FID features.

    Args:
        observation_shape: ``(C, H, W)`` of the dataset's observations (H, W ≥ 8 input_pool).
        factors_num_values: number of values of each factor (one softmax head each).
        width, feature_dim: channels of the first conv layer and feature dimension D.
        input_pool: side of the average pooling applied to the input first.

    Raises:
        InvalidInputError: images too small for the three stride-2 convolutions.

    Attributes:
        num_features: D.
        info: after :func:`load_feature_net`, the dataset name, seed, config, held-out
            per-factor accuracy, training time and cache path.
    """

    def __init__(self, observation_shape, factors_num_values, width=24, feature_dim=128, input_pool=2):
        super().__init__()
        c, h, w = observation_shape
        if h < 8 * input_pool or w < 8 * input_pool:
            raise InvalidInputError(f"the factor classifier needs images of at least {8 * input_pool} px, got {h} x {w}")
        self.observation_shape = tuple(int(s) for s in observation_shape)
        self.factors_num_values = tuple(int(k) for k in factors_num_values)
        self.num_features = int(feature_dim)
        layers, channels = [nn.AvgPool2d(input_pool), AddCoords()], c + 2
        for out in (width, 2 * width, 2 * width):
            layers += [nn.Conv2d(channels, out, 4, 2, 1), nn.BatchNorm2d(out), nn.ReLU()]
            channels = out
        flat = channels * (h // input_pool // 8) * (w // input_pool // 8)
        self.body = nn.Sequential(*layers, nn.Flatten(), nn.Linear(flat, feature_dim), nn.ReLU())
        self.heads = nn.Linear(feature_dim, sum(self.factors_num_values))
        self.info: dict = {}

    def logits(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Per-factor logits, a list of ``(N, factors_num_values[k])`` tensors."""
        return list(self.heads(self.body(x)).split(self.factors_num_values, dim=1))

    @torch.no_grad()
    def features(self, x) -> torch.Tensor:
        """Penultimate-layer features, float32 ``(N, D)`` on the network's device.

        Args:
            x: float images in [0, 1], ``(N, *observation_shape)`` (tensor or array).

        Raises:
            InvalidInputError: wrong shape, NaN/inf or values outside [0, 1].
        """
        return self._batched(x, self.body)

    @torch.no_grad()
    def predict(self, x) -> torch.Tensor:
        """Most likely index of every factor, int64 ``(N, num_factors)``; input as :meth:`features`."""
        return self._batched(x, lambda b: torch.stack([lg.argmax(1) for lg in self.logits(b)], dim=1))

    def _batched(self, x, fn, batch: int = 1024) -> torch.Tensor:
        x = as_images(x, self.observation_shape, "images")
        device = next(self.parameters()).device
        return torch.cat([fn(x[i : i + batch].to(device)) for i in range(0, max(len(x), 1), batch)])


class AddCoords(nn.Module):
    """CoordConv input layer (Liu et al. 2018): appends x and y coordinate channels in [-1, 1].

    Lets the convolutions locate the sprite to the pixel, which plain strided convolutions
    learn slowly (the paper's coordinate-classification task).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        ys = torch.linspace(-1, 1, h, dtype=x.dtype, device=x.device).view(1, 1, h, 1).expand(n, 1, h, w)
        xs = torch.linspace(-1, 1, w, dtype=x.dtype, device=x.device).view(1, 1, 1, w).expand(n, 1, h, w)
        return torch.cat([x, xs, ys], dim=1)


def load_feature_net(dataset, seed: int = 0, progress: bool = True, *, config: FeatureNetConfig | None = None):
    """The dataset's factor classifier, trained on first use and cached.

    Args:
        dataset: a :class:`~disbench.data.GroundTruthDataset` or its registry name.
        seed: training seed (factors drawn, initial weights, batch order).
        progress: show a progress bar while training.
        config: non-default settings (tests); cached as ``<dataset>_seed<seed>_<hash>.pt``.

    Returns:
        :class:`FactorClassifier` in eval mode on the CPU; ``.info`` holds the held-out
        per-factor accuracy (``info["heldout_accuracy"]``: factor name -> fraction).

    Raises:
        UnknownNameError: unknown dataset name.
    """
    dataset = as_dataset(dataset)
    config = config or DEFAULT_CONFIG
    path = feature_net_path(dataset, seed, config)
    expected = _expected_meta(dataset, seed, config)
    with FileLock(str(path) + ".lock"):
        if path.is_file():
            try:
                return _load(path, expected)
            except Exception as err:  # damaged, old format or other settings: retrain
                warnings.warn(f"retraining the feature network: cached {path} is unusable ({err})", stacklevel=2)
        net = train_feature_net(dataset, seed=seed, config=config, progress=progress)
        with atomic_path(path) as tmp:
            torch.save({**expected, "state_dict": net.state_dict(), "info": net.info}, tmp)
    net.info["path"] = str(path)
    return net


def load_cached_feature_net(dataset, seed: int = 0) -> FactorClassifier | None:
    """The cached default factor classifier of ``dataset``, or None if it is not trained yet.

    Never trains (for cheap monitors such as the GANs' distinct-shape count); a cache file
    that cannot be used also gives None.
    """
    dataset = as_dataset(dataset)
    path = feature_net_path(dataset, seed)
    try:
        return _load(path, _expected_meta(dataset, seed, DEFAULT_CONFIG))
    except Exception:  # absent, damaged or stale: the caller goes on without it
        return None


def feature_net_path(dataset: GroundTruthDataset, seed: int, config: FeatureNetConfig | None = None) -> Path:
    """Cache file of the factor classifier for ``dataset`` trained with ``seed`` and ``config``."""
    config = config or DEFAULT_CONFIG
    name = f"{dataset.name}_seed{int(seed)}"
    if config != DEFAULT_CONFIG:
        name += "_" + hashlib.sha1(json.dumps(dataclasses.asdict(config), sort_keys=True).encode()).hexdigest()[:10]
    return data_dir() / "feature_nets" / f"{name}.pt"


def train_feature_net(dataset: GroundTruthDataset, *, seed: int = 0, config=None, progress: bool = True):
    """Train a :class:`FactorClassifier` on ``dataset`` (no caching; see :func:`load_feature_net`).

    Returns:
        the network in eval mode, with ``.info`` set (seed, config, held-out accuracy per
        factor, training seconds).
    """
    config = config or DEFAULT_CONFIG
    start = time.perf_counter()
    rng = as_generator(seed)
    with torch.random.fork_rng(devices=[]):  # weight init from the seed, global state left untouched
        torch.manual_seed(seed)
        net = FactorClassifier(dataset.observation_shape, dataset.factors_num_values, config.width, config.feature_dim, config.input_pool)
    opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, total_steps=config.steps)
    net.train()
    for _ in tqdm(range(config.steps), desc=f"feature net {dataset.name}", disable=not progress, leave=False):
        factors, images = _draw(dataset, config.batch_size, rng)
        logits = net.logits(images)
        loss = sum(F.cross_entropy(lg, factors[:, k]) for k, lg in enumerate(logits))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    net.eval()
    factors, images = _draw(dataset, config.num_heldout, rng)
    accuracy = (net.predict(images) == factors).double().mean(0).tolist()
    net.info = {
        "dataset": dataset.name,
        "seed": int(seed),
        "config": dataclasses.asdict(config),
        "heldout_accuracy": dict(zip(dataset.factor_names, accuracy)),
        "train_seconds": time.perf_counter() - start,
    }
    return net


def as_dataset(dataset) -> GroundTruthDataset:
    """``dataset`` itself, or the dataset registered under that name."""
    return load(dataset) if isinstance(dataset, str) else dataset


def as_images(x, observation_shape, what: str, num: int | None = None) -> torch.Tensor:
    """Check images and return them as a float32 tensor ``(N, *observation_shape)``.

    Raises:
        InvalidInputError: wrong shape (or not ``num`` images), NaN/inf, values outside [0, 1].
    """
    x = x.detach() if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    expected = tuple(observation_shape)
    if x.ndim != 4 or tuple(x.shape[1:]) != expected or (num is not None and len(x) != num):
        n = "N" if num is None else num
        raise InvalidInputError(f"{what} must have shape ({n}, {', '.join(map(str, expected))}), got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise InvalidInputError(f"{what} must be float in [0, 1], got dtype {x.dtype}")
    x = x.float()
    if not torch.isfinite(x).all():
        raise InvalidInputError(f"{what} contain NaN or inf")
    if len(x) and (x.min() < 0 or x.max() > 1):
        raise InvalidInputError(
            f"{what} must lie in [0, 1], got [{x.min().item():.3g}, {x.max().item():.3g}]; map e.g. tanh "
            "outputs with (x + 1) / 2"
        )
    return x


def _draw(dataset: GroundTruthDataset, num: int, rng: np.random.Generator):
    """``num`` uniformly drawn factors (int64 tensor) and their observations (float32 tensor)."""
    factors, images = dataset.sample(num, rng)
    return torch.from_numpy(factors), as_images(images, dataset.observation_shape, f"{dataset.name} observations")


def _expected_meta(dataset: GroundTruthDataset, seed: int, config: FeatureNetConfig) -> dict:
    return {
        "format": FORMAT_VERSION,
        "dataset": dataset.name,
        "observation_shape": list(dataset.observation_shape),
        "factors_num_values": list(dataset.factors_num_values),
        "seed": int(seed),
        "config": dataclasses.asdict(config),
    }


def _load(path: Path, expected: dict) -> FactorClassifier:
    blob = torch.load(path, map_location="cpu", weights_only=True)
    for key, value in expected.items():
        if blob.get(key) != value:
            raise ValueError(f"{key} is {blob.get(key)!r}, expected {value!r}")
    cfg = expected["config"]
    net = FactorClassifier(expected["observation_shape"], expected["factors_num_values"], cfg["width"], cfg["feature_dim"], cfg["input_pool"])
    net.load_state_dict(blob["state_dict"])
    net.info = {**blob["info"], "path": str(path)}
    return net.eval()
