"""GAN baselines: InfoGAN, LSGAN, ACGAN, Stacked GAN and the post-hoc encoder."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

from disbench import data
from disbench.callbacks import ModeCollapseMonitor
from disbench.errors import InvalidInputError
from disbench.metrics import feature_net
from disbench.models import DatasetInfo, gan_common, get_model_class
from disbench.models.acgan import ACGAN, ACGANConfig
from disbench.models.lsgan import LSGAN, LSGANConfig
from disbench.models.sgan import StackedGAN, StackedGANConfig
from disbench.train import load_run, train_run

GANS = ("infogan", "lsgan", "acgan", "sgan")
# small settings per model for unit tests (8 steps; post-hoc / phases in the last steps)
SMALL = {
    "infogan": {},
    "lsgan": {"posthoc_steps": 2},
    "acgan": {"posthoc_steps": 2},
    "sgan": {"h1_dim": 16, "z1_dim": 4, "z0_dim": 4, "encoder_steps": 2, "independent_steps": 2},
}
TINY = {"steps": 8, "batch_size": 8, "checkpoint_every": 4, "log_every": 2}


@pytest.fixture(autouse=True)
def quiet(monkeypatch, tmp_path):
    monkeypatch.setenv("DISBENCH_DATA", str(tmp_path / "data"))  # no cached feature net: monitor skipped
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # shared, loaded machine
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def dsprites():
    return data.load("dsprites")


def make(name, dsprites, total=8, **hparams):
    torch.manual_seed(0)
    cls = get_model_class(name)
    model = cls(DatasetInfo.of(dsprites), total, cls.config_class(**{**SMALL[name], **hparams}))
    return model.train(), model.configure_optimizers()


def batch_at(model, dsprites, step, size=16, seed=0):
    raw = model.next_batch(dsprites, size, np.random.default_rng(seed), step)
    return {k: torch.from_numpy(v) for k, v in raw.items()}


def run_steps(model, opts, batch, step, n):
    return [model.training_step(batch, step, opts) for _ in range(n)]


def falls(history, key, factor=0.97):
    first, last = history[0][key], np.mean([h[key] for h in history[-2:]])
    return last < factor * first, (first, last)


# --- losses move the expected way ---------------------------------------------------------------
def set_lr(optimizer, lr):
    for group in optimizer.param_groups:
        group["lr"] = lr


@pytest.mark.parametrize("name", ["infogan", "lsgan", "acgan"])
def test_d_loss_falls_when_only_d_trains_then_g_loss_when_only_g_trains(name, dsprites):
    # spectral norm bounds D (its losses move slowly): the mechanics are checked without it
    model, opts = make(name, dsprites, generator_steps=1, spectral_norm=False) if name == "infogan" else make(name, dsprites)
    batch = batch_at(model, dsprites, 0)
    set_lr(opts["generator"], 0.0)
    set_lr(opts["discriminator"], 2e-3)
    ok, vals = falls(run_steps(model, opts, batch, 0, 8), "d_loss")
    assert ok, vals
    set_lr(opts["generator"], 2e-3)
    set_lr(opts["discriminator"], 0.0)
    ok, vals = falls(run_steps(model, opts, batch, 0, 8), "g_loss")
    assert ok, vals


@pytest.mark.parametrize("name", ["lsgan", "acgan"])
def test_posthoc_phase_regresses_z_and_leaves_the_gan_alone(name, dsprites):
    model, opts = make(name, dsprites)
    step = model.total_steps - 1
    assert model.phase(step) == "posthoc" and model.phase(0) == "gan"
    batch = batch_at(model, dsprites, step)
    assert "x" not in batch  # no real images needed in the post-hoc phase
    before = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("posthoc.")}
    hist = run_steps(model, opts, batch, step, 10)
    ok, vals = falls(hist, "posthoc_loss")
    assert ok, vals
    assert hist[0]["d_loss"] == hist[0]["g_loss"] == 0.0
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_sgan_phases_and_losses(dsprites):
    model, opts = make("sgan", dsprites, total=10, lr_d=0.0)
    assert [model.phase(s) for s in (0, 1, 2, 3, 4, 9)] == ["encoder"] * 2 + ["independent"] * 2 + ["joint"] * 2
    enc = run_steps(model, opts, batch_at(model, dsprites, 0), 0, 8)
    ok, vals = falls(enc, "encoder_loss")
    assert ok, vals
    assert enc[0]["g_loss"] == 0.0
    frozen = {k: v.clone() for k, v in model.state_dict().items() if k.startswith("enc")}
    for step in (2, 5):  # independent, then joint: the generators' conditional loss falls
        hist = run_steps(model, opts, batch_at(model, dsprites, step), step, 8)
        ok, vals = falls(hist, "cond_loss", 0.95)
        assert ok, (step, vals)
    assert all(torch.equal(frozen[k], v) for k, v in model.state_dict().items() if k.startswith("enc"))


def test_bad_settings_raise(dsprites):
    info = DatasetInfo.of(dsprites)
    with pytest.raises(InvalidInputError, match="posthoc_steps"):
        LSGAN(info, 10, LSGANConfig(posthoc_steps=10))
    with pytest.raises(InvalidInputError, match="joint"):
        StackedGAN(info, 10, StackedGANConfig(encoder_steps=5, independent_steps=5))
    with pytest.raises(InvalidInputError, match="label_factor"):
        ACGAN(info, 10, ACGANConfig(label_factor="colour"))
    with pytest.raises(InvalidInputError, match="generator_loss"):
        ACGANConfig(generator_loss="wasserstein")


# --- representation and sampling -------------------------------------------------------------
@pytest.mark.parametrize("name,codes", [("infogan", 5), ("lsgan", 10), ("acgan", 13), ("sgan", 3 + 4 + 4)])
def test_encode_sample_traverse_shapes(name, codes, dsprites):
    model, _ = make(name, dsprites)
    x = torch.from_numpy(dsprites.sample_observations(5, 0))
    z = model.encode(x)
    assert z.shape == (5, codes) and z.dtype == torch.float32 and model.num_codes == codes
    assert model.training  # encode/sample restore the training mode
    s = model.sample(7, torch.Generator().manual_seed(3))
    assert s.shape == (7, 1, 64, 64) and s.dtype == torch.float32 and 0 <= s.min() and s.max() <= 1
    assert torch.equal(s, model.sample(7, torch.Generator().manual_seed(3)))
    assert model.traverse(x[:1], 4).shape == (codes, 4, 1, 64, 64)
    assert model.traverse(None, 3).shape == (codes, 3, 1, 64, 64)


def q_code_error(model, n=2000):
    """Mean squared error of Q's means for the codes c of G(c, z), per code."""
    gen = torch.Generator().manual_seed(7)
    c, z = model._noise("c", n, gen), model._noise("z", n, gen)
    with torch.no_grad(), gan_common.eval_mode(model):
        means = model.encode(model.net_g(torch.cat([c, z], 1)))
    return float(((means - c) ** 2).mean())


def test_infogan_q_recovers_its_codes(dsprites):
    """After a short run Q's means predict the codes that generated an image better than
    chance: the best constant guess (0) has error Var(c) = 1/3 for c ~ U(-1, 1); the
    estimate over 2000 × 5 codes has a standard error of about 0.003."""
    model, opts = make("infogan", dsprites, info_weight=5.0)
    untrained = q_code_error(model)
    rng = np.random.default_rng(0)
    for step in range(30):
        raw = model.next_batch(dsprites, 32, rng, step)
        model.training_step({k: torch.from_numpy(v) for k, v in raw.items()}, step, opts)
    trained = q_code_error(model)
    assert trained < 0.31 and trained < untrained - 0.02, (untrained, trained)


# --- through the training core ----------------------------------------------------------------
def train(out, name, **over):
    model_over = {**SMALL[name], **over.pop("model", {})}
    return train_run(name, seed=0, out_dir=out, device="cpu", progress=False,
                     overrides={**TINY, **over, "model": model_over})


def params(run_dir):
    return torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)["model"]


@pytest.mark.parametrize("name", GANS)
def test_interrupted_and_resumed_equals_uninterrupted(name, tmp_path, interrupt_training):
    full_dir = train(tmp_path / "full", name)
    full = params(full_dir)
    status = json.loads((full_dir / "status.json").read_text())
    assert status["state"] == "completed"
    with open(full_dir / "train_log.csv") as f:
        rows = list(csv.DictReader(f))
    assert {"d_loss", "g_loss"} <= set(rows[0]) and all(r["d_loss"] != "" for r in rows)
    for png in ("samples.png", "traversals.png"):
        assert (full_dir / png).stat().st_size > 0
    model, _, _ = load_run(full_dir, device="cpu")  # checkpoint round trip
    x = torch.from_numpy(data.load("dsprites").sample_observations(4, 1))
    reloaded = type(model)(model.info, model.total_steps, model.config)
    reloaded.load_state_dict(full)
    reloaded.eval()
    assert torch.equal(model.encode(x), reloaded.encode(x))
    assert torch.equal(model.sample(3), reloaded.sample(3))

    restore = interrupt_training(type(model), at_step=5)
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "resumed", name)
    assert torch.load(tmp_path / "resumed" / "checkpoints" / "last.pt", weights_only=True)["step"] == 4
    restore()
    resumed = params(train(tmp_path / "resumed", name))
    assert all(torch.equal(full[k], resumed[k]) for k in full)


class StubClassifier:
    """Stands in for the metrics' factor classifier: "shape" = which third of the image is
    brightest; counts its calls."""

    def __init__(self):
        self.calls = 0

    def predict(self, x):
        self.calls += 1
        thirds = torch.stack([x[..., i * 21:(i + 1) * 21].mean((1, 2, 3)) for i in range(3)], 1)
        return torch.stack([thirds.argmax(1)] + [torch.zeros(len(x), dtype=torch.long)] * 4, 1)


def test_monitor_counts_every_n_steps_and_restores_its_state(dsprites, monkeypatch):
    stub = StubClassifier()
    monkeypatch.setattr(feature_net, "load_cached_feature_net", lambda dataset, seed=0: stub)
    model, _ = make("lsgan", dsprites, monitor_every=3)
    (monitor,) = model.callbacks()
    assert isinstance(monitor, ModeCollapseMonitor) and monitor.factor_index == 0
    monitor.on_train_start(model, dsprites)
    first = monitor.on_step_end(model, 0)["distinct_shapes"]
    assert first in (1.0, 2.0, 3.0) and stub.calls == 1
    assert monitor.on_step_end(model, 1) == {"distinct_shapes": first} and stub.calls == 1  # repeated
    monitor.on_step_end(model, 3)
    assert stub.calls == 2
    # a monitor restored from a checkpoint repeats the saved count instead of recounting
    again = model.callbacks()[0]
    again.on_train_start(model, dsprites)
    again.load_state_dict(monitor.state_dict())
    assert again.on_step_end(model, 4) == {"distinct_shapes": monitor.count} and stub.calls == 2
    assert make("lsgan", dsprites, monitor_every=0)[0].callbacks() == []


def test_monitor_counts_exactly_the_distinct_predicted_shapes(dsprites, monkeypatch):
    """With a stub classifier whose predicted shapes the test sets: the exact number of
    distinct shapes among MONITOR_BATCH generated images, from the label factor's column
    only, recomputed every ``every`` steps and repeated in between."""
    from disbench.callbacks import MONITOR_BATCH

    calls = []

    class Stub:
        shapes = 2  # distinct shapes the stub predicts

        def predict(self, x):
            calls.append(tuple(x.shape))
            shape, other = torch.arange(len(x)) % self.shapes, torch.arange(len(x)) % 7
            return torch.stack([shape, other, other, other, other], 1)

    stub = Stub()
    monkeypatch.setattr(feature_net, "load_cached_feature_net", lambda dataset, seed=0: stub)
    model, _ = make("lsgan", dsprites, monitor_every=3)
    (monitor,) = model.callbacks()
    monitor.on_train_start(model, dsprites)
    assert monitor.on_step_end(model, 0) == {"distinct_shapes": 2.0}
    assert calls == [(MONITOR_BATCH, 1, 64, 64)]  # one batch of generated images
    stub.shapes = 1  # the generator collapses onto one shape
    assert [monitor.on_step_end(model, s)["distinct_shapes"] for s in (1, 2, 3)] == [2.0, 2.0, 1.0]
    stub.shapes = 3
    assert [monitor.on_step_end(model, s)["distinct_shapes"] for s in (4, 5, 6)] == [1.0, 1.0, 3.0]
    assert len(calls) == 3


def test_monitor_is_skipped_without_a_cached_classifier(dsprites):
    model, _ = make("lsgan", dsprites, monitor_every=1)
    (monitor,) = model.callbacks()
    monitor.on_train_start(model, dsprites)  # DISBENCH_DATA is empty: nothing cached, nothing trained
    assert monitor.on_step_end(model, 0) == {}


def test_resumed_run_logs_what_an_uninterrupted_one_does(tmp_path, monkeypatch, interrupt_training):
    """The monitor's state travels in the checkpoint: after a resume the train log (and the
    number of classifier calls) equal an uninterrupted run's."""
    stub = StubClassifier()
    monkeypatch.setattr(feature_net, "load_cached_feature_net", lambda dataset, seed=0: stub)

    def log(run_dir):
        with open(run_dir / "train_log.csv") as f:
            return [{k: v for k, v in r.items() if k not in ("time", "images_per_s")} for r in csv.DictReader(f)]

    full = log(train(tmp_path / "full", "lsgan", model={"monitor_every": 3}))
    full_calls, stub.calls = stub.calls, 0
    assert full_calls == 3 and "distinct_shapes" in full[0]  # steps 0, 3, 6
    restore = interrupt_training(LSGAN, at_step=5)
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "resumed", "lsgan", model={"monitor_every": 3})
    restore()
    assert log(train(tmp_path / "resumed", "lsgan", model={"monitor_every": 3})) == full
    assert stub.calls == full_calls


def test_loss_dicts_stay_on_the_device(dsprites):
    """A GAN step returns detached 0-d tensors (0.0 for terms its phase does not train):
    no host sync per step."""
    model, opts = make("acgan", dsprites)
    gan = model.training_step(batch_at(model, dsprites, 0), 0, opts)
    post = model.training_step(batch_at(model, dsprites, 7), 7, opts)
    assert all(isinstance(gan[k], torch.Tensor) and not gan[k].requires_grad for k in ("d_loss", "g_loss"))
    assert isinstance(post["posthoc_loss"], torch.Tensor) and post["d_loss"] == 0.0
