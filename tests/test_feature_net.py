"""The factor classifier behind FID: training, cache (atomic, stale/corrupt retrained), API."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from disbench import data
from disbench.errors import InvalidInputError
from disbench.metrics import feature_net
from disbench.metrics.feature_net import FeatureNetConfig, load_cached_feature_net, load_feature_net

TINY = FeatureNetConfig(width=8, feature_dim=16, steps=200, batch_size=64, lr=1e-2, num_heldout=500)
TINIER = FeatureNetConfig(width=4, feature_dim=8, steps=5, batch_size=8, num_heldout=50)



pytestmark = pytest.mark.usefixtures("one_torch_thread")

@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DISBENCH_DATA", str(tmp_path))
    monkeypatch.setattr(feature_net, "DEFAULT_CONFIG", TINY)
    return tmp_path / "feature_nets"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The tiny classifier trained once into a tmp cache: (dataset, net, cache dir)."""
    root = tmp_path_factory.mktemp("data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DISBENCH_DATA", str(root))
        mp.setattr(feature_net, "DEFAULT_CONFIG", TINY)
        ds = data.load("dsprites")
        yield ds, load_feature_net(ds, progress=False), root


def test_training_writes_the_cache_with_seed_config_and_accuracy(trained):
    ds, net, root = trained
    path = root / "feature_nets" / "dsprites_seed0.pt"
    assert net.info["path"] == str(path) and path.is_file()
    blob = torch.load(path, weights_only=True)
    assert blob["seed"] == 0 and blob["config"] == dataclasses.asdict(TINY)
    acc = blob["info"]["heldout_accuracy"]
    assert list(acc) == list(ds.factor_names)
    # even 200 tiny steps learn scale and position well above chance (1/6, 1/32)
    assert acc["scale"] > 0.3 and acc["posX"] > 0.2 and acc["posY"] > 0.2
    assert not list(path.parent.glob("*.tmp"))


def test_cached_network_is_reused_not_retrained(trained, monkeypatch):
    ds, net, root = trained
    monkeypatch.setenv("DISBENCH_DATA", str(root))
    monkeypatch.setattr(feature_net, "DEFAULT_CONFIG", TINY)
    monkeypatch.setattr(feature_net, "train_feature_net", lambda *a, **k: pytest.fail("retrained"))
    again = load_feature_net("dsprites")
    x = ds.sample_observations(64, 0)
    assert torch.equal(again.features(x), net.features(x))
    assert torch.equal(load_cached_feature_net(ds).predict(x), net.predict(x))


def test_features_and_predict_shapes_dtypes_and_ranges(trained):
    ds, net, _ = trained
    factors, x = ds.sample(100, 1)
    feats = net.features(torch.from_numpy(x))
    assert feats.shape == (100, TINY.feature_dim) and feats.dtype == torch.float32
    pred = net.predict(x)
    assert pred.shape == (100, ds.num_factors) and pred.dtype == torch.int64
    assert ((pred >= 0) & (pred < torch.tensor(ds.factors_num_values))).all()
    assert (pred[:, 1] == torch.from_numpy(factors[:, 1])).float().mean() > 0.3  # scale, chance 1/6


def test_bad_images_raise(trained):
    ds, net, _ = trained
    with pytest.raises(InvalidInputError, match="shape"):
        net.features(np.zeros((4, 3, 64, 64), np.float32))
    with pytest.raises(InvalidInputError, match="NaN"):
        net.predict(np.full((4, 1, 64, 64), np.nan, np.float32))
    with pytest.raises(InvalidInputError, match="float"):
        net.predict(np.zeros((4, 1, 64, 64), np.uint8))


def test_same_seed_same_network_other_seed_differs():
    ds = data.load("dsprites")
    a = feature_net.train_feature_net(ds, seed=3, config=TINIER, progress=False)
    b = feature_net.train_feature_net(ds, seed=3, config=TINIER, progress=False)
    c = feature_net.train_feature_net(ds, seed=4, config=TINIER, progress=False)
    x = ds.sample_observations(16, 0)
    assert torch.equal(a.features(x), b.features(x))
    assert not torch.equal(a.features(x), c.features(x))


def test_corrupt_or_stale_cache_is_retrained_with_a_warning(cache, monkeypatch):
    monkeypatch.setattr(feature_net, "DEFAULT_CONFIG", TINIER)
    ds = data.load("dsprites")
    path = cache / "dsprites_seed0.pt"
    assert load_cached_feature_net(ds) is None
    cache.mkdir(parents=True)
    path.write_bytes(b"not a torch file")
    assert load_cached_feature_net(ds) is None
    with pytest.warns(UserWarning, match="retraining"):
        load_feature_net(ds, progress=False)
    assert load_cached_feature_net(ds) is not None
    # a file trained with other settings is stale
    monkeypatch.setattr(feature_net, "DEFAULT_CONFIG", dataclasses.replace(TINIER, steps=6))
    with pytest.warns(UserWarning, match="config"):
        net = load_feature_net(ds, progress=False)
    assert net.info["config"]["steps"] == 6


def test_non_default_config_gets_its_own_file(cache):
    ds = data.load("dsprites")
    net = load_feature_net(ds, seed=1, progress=False, config=TINIER)
    assert net.info["path"].startswith(str(cache / "dsprites_seed1_"))
    assert not (cache / "dsprites_seed1.pt").exists()


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_default_network_recognises_shape_scale_and_position():
    """The default classifier (the one FID uses) on held-out dSprites; measured ≈ 1.00 shape,
    0.99 scale, 0.94 posX / posY (feature_net's docstring). Trains it once when not cached."""
    ds = data.load("dsprites")
    net = load_feature_net(ds, progress=False)
    acc = net.info["heldout_accuracy"]
    assert acc["shape"] > 0.97 and acc["scale"] > 0.95 and acc["posX"] > 0.9 and acc["posY"] > 0.9, acc
    factors, x = ds.sample(500, np.random.default_rng(7))
    pred = net.predict(x).numpy()
    assert (pred[:, 0] == factors[:, 0]).mean() > 0.97  # shape, on points it has not been scored on
