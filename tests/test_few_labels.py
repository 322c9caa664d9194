"""Few labels: the labelled subset (data layer), the supervised regularisers and annealers, and
the S²-VAEs / supervised VAE (disbench.models.semi_supervised and the s2_* modules)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from disbench import data
from disbench.errors import InvalidInputError
from disbench.models.semi_supervised import (
    MINE,
    annealed_weight,
    supervised_cov,
    supervised_embed,
    supervised_l2,
    supervised_mine,
    supervised_xent,
)
from disbench.presets import load_preset
from disbench.train import build_model, resolve_config

S2 = ("s2_beta_vae", "s2_factor_vae", "s2_dip_vae", "s2_beta_tc_vae", "s2_mine_vae", "supervised_vae")


@pytest.fixture(scope="module")
def dsprites():
    return data.load("dsprites")


def make(name, dsprites, batch_size=4, **model):
    config = resolve_config(name, profile="quick", overrides={"batch_size": batch_size, "model": model})
    model = build_model(config, dsprites, seed=0).train()
    model.set_generator(torch.Generator().manual_seed(0))
    return model, config


def test_labelled_subset_is_fixed_by_its_seed(dsprites):
    x, factors = dsprites.labelled_subset(100, 7)
    assert x.shape == (100, 1, 64, 64) and factors.shape == (100, 5) and factors.dtype == np.int64
    x2, factors2 = dsprites.labelled_subset(100, 7)
    assert np.array_equal(factors, factors2) and np.array_equal(x, x2)
    assert not np.array_equal(factors, dsprites.labelled_subset(100, 8)[1])
    assert np.array_equal(x, dsprites.sample_observations_from_factors(factors, 0))
    with pytest.raises(InvalidInputError, match="num_labels"):
        dsprites.labelled_subset(0, 0)


def test_number_of_labels_is_a_recorded_setting_and_the_supervision():
    for name in S2:
        config = resolve_config(name, profile="quick")
        assert config["hparams"]["num_labels"] == 100 and config["hparams"]["label_seed"] == 0
        assert load_preset(name).supervision == config["supervision"] == "100 labels"


def test_labelled_batches_cycle_through_the_training_labels_in_order(dsprites):
    model, _ = make("s2_beta_vae", dsprites, batch_size=64)
    x, factors = dsprites.labelled_subset(100, 0)  # 90 = ceil(0.9 * 100) trained on
    rng = np.random.default_rng(0)
    b0, b1 = model.next_batch(dsprites, 64, rng, 0), model.next_batch(dsprites, 64, rng, 1)
    assert np.array_equal(b0["labels"], factors[:64])
    idx = np.r_[64:90, 0:38]
    assert np.array_equal(b1["labels"], factors[idx]) and np.array_equal(b1["x_labelled"], x[idx])
    assert b0["x"].shape == (64, 1, 64, 64) and not np.array_equal(b0["x"], b1["x"])


def test_xent_by_hand():
    # targets labels / sizes = [0.5, 0]; BCE(logit 0, 0.5) = log 2, BCE(logit 2, 0) = log(1 + e^2); latent 2 unused
    codes, labels = torch.tensor([[0.0, 2.0, 100.0]]), torch.tensor([[1, 0]])
    expected = math.log(2) + math.log(1 + math.e**2)
    assert supervised_xent(codes, labels, (2, 4)).item() == pytest.approx(expected, rel=1e-6)


def test_l2_by_hand():
    codes, labels = torch.tensor([[1.0, 3.0, 9.0]]), torch.tensor([[1, 5]])
    assert supervised_l2(codes, labels, (2, 8), torch.tensor(2.0)).item() == pytest.approx(2.0)  # (2-1)² + (6-5)²
    # no scale: (sigmoid(1) - 1/2)² + (sigmoid(3) - 5/8)²
    s = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    expected = (s(1) - 0.5) ** 2 + (s(3) - 0.625) ** 2
    assert supervised_l2(codes, labels, (2, 8), None).item() == pytest.approx(expected, rel=1e-6)


def test_cov_by_hand():
    # centred codes [[1, -1], [-1, 1]], centred labels [[-1, 0], [1, 0]]:
    # cross-covariance [[-1, 0], [1, 0]]; the diagonal is not penalised -> 0² + 1² = 1
    codes, labels = torch.tensor([[1.0, 0.0], [-1.0, 2.0]]), torch.tensor([[0, 1], [2, 1]])
    assert supervised_cov(codes, labels).item() == pytest.approx(1.0)
    # a third latent [0, 4] (centred [-2, 2]) adds cov[2, 0] = 2 -> 1 + 4
    codes3 = torch.cat([codes, torch.tensor([[0.0], [4.0]])], dim=1)
    assert supervised_cov(codes3, labels).item() == pytest.approx(5.0)


def test_embed_by_hand():
    # logits -[(0-0)², (0-1)²] = [0, -1]; label 1: -log(e^-1 / (1 + e^-1)) = 1 + log(1 + e^-1)
    loss = supervised_embed(torch.tensor([[0.0, 5.0]]), torch.tensor([[1]]), [torch.tensor([0.0, 1.0])], 1.0)
    assert loss.item() == pytest.approx(1 + math.log(1 + math.exp(-1)), rel=1e-6)
    # σ = 2 scales the distances: logits [0, -4]
    loss = supervised_embed(torch.tensor([[0.0]]), torch.tensor([[0]]), [torch.tensor([0.0, 1.0])], 2.0)
    assert loss.item() == pytest.approx(math.log(1 + math.exp(-4)), rel=1e-5)


def test_annealers():
    assert annealed_weight(4.0, 5, 10, "fixed") == 4.0
    assert annealed_weight(4.0, 5, 10, "anneal") == pytest.approx(2.0)
    assert annealed_weight(4.0, 20, 10, "anneal") == 4.0
    assert [annealed_weight(4.0, s, 10, "fine_tune") for s in (0, 10, 11, 50)] == [0.0, 0.0, 4.0, 4.0]


@pytest.mark.parametrize("loss", ["xent", "l2", "cov", "embed"])
def test_s2_beta_vae_adds_gamma_times_the_supervised_term(dsprites, loss):
    model, config = make("s2_beta_vae", dsprites, supervised_loss=loss, gamma_sup=3.0, num_labels=8)
    raw = model.next_batch(dsprites, 4, np.random.default_rng(0), 0)
    terms = model.training_step({k: torch.from_numpy(v) for k, v in raw.items()}, 0, model.configure_optimizers())
    beta = config["hparams"]["beta"]
    assert float(terms["loss"]) == pytest.approx(float(terms["recon"] + beta * terms["kl"] + 3.0 * terms["sup"]),
                                                 rel=1e-5)


def test_supervised_vae_trains_its_encoder_on_the_labels_only(dsprites):
    model, _ = make("supervised_vae", dsprites, num_labels=8)
    raw = {k: torch.from_numpy(v) for k, v in model.next_batch(dsprites, 4, np.random.default_rng(0), 0).items()}
    model._batch_labelled = (raw["x_labelled"], raw["labels"])
    loss, terms, _ = model.vae_loss(raw["x"], 0)
    loss.backward()
    with_recon = [p.grad.clone() for p in model.encoder.parameters()]
    model.zero_grad()
    model.supervised_term().backward()
    for g, p in zip(with_recon, model.encoder.parameters()):
        torch.testing.assert_close(g, p.grad)
    assert set(terms) == {"loss", "recon", "sup"}


def test_too_few_latents_for_the_factors(dsprites):
    config = resolve_config("s2_beta_vae", profile="quick", overrides={"model": {"num_latents": 4}})
    with pytest.raises(InvalidInputError, match="num_latents"):
        build_model(config, dsprites)


def test_mine_penalty_and_estimator_by_hand():
    assert supervised_mine(torch.tensor([[1.0, 2.0, 5.0], [3.0, 4.0, 6.0]])).item() == pytest.approx(4 + 25 + 9 + 36)
    mine = MINE(2, 3)
    codes, labels = torch.randn(8, 3), torch.randint(0, 4, (8, 2))
    noise = torch.rand(8, 2, 3)
    with torch.no_grad():  # T constant -> Î = c − (log Σ_b e^c − log B) = 0
        mine.w2.zero_()
        mine.b2.fill_(1.5)
    torch.testing.assert_close(mine.mutual_information(codes, labels, noise), torch.zeros(2, 3))
    with torch.no_grad():  # T(x, v) = ELU(x) on network (0, 0): the Donsker-Varadhan bound by hand
        mine.a_x.zero_(), mine.a_v.zero_(), mine.b2.zero_(), mine.w2.zero_()
        mine.a_x[0, 0, 0], mine.w2[0, 0, 0] = 1.0, 1.0
    codes, labels = torch.tensor([[1.0, 0, 0], [2.0, 0, 0]]), torch.tensor([[1, 0], [0, 0]])
    noise = torch.zeros(2, 2, 3)
    noise[0, 0, 0] = 1.0  # swap the two labels of network (0, 0)
    # ELU(x) = x here (x > 0) and the label has weight 0: T = x, Î = mean T − log mean e^T (< 0 by Jensen)
    mi = mine.mutual_information(codes, labels, noise)
    assert mi[0, 0].item() == pytest.approx(1.5 - (math.log(math.e + math.e**2) - math.log(2)))


def test_mine_networks_have_their_own_optimiser(dsprites):
    model, _ = make("s2_mine_vae", dsprites, num_labels=8)
    optimizers = model.configure_optimizers()
    own = {id(p) for p in model.mine.parameters()}
    vae = {id(p) for g in optimizers["vae"].param_groups for p in g["params"]}
    assert not own & vae and {id(p) for p in optimizers["mine"].param_groups[0]["params"]} == own
    raw = model.next_batch(dsprites, 4, np.random.default_rng(0), 0)
    before = model.mine.a_x.detach().clone()
    terms = model.training_step({k: torch.from_numpy(v) for k, v in raw.items()}, 0, optimizers)
    assert not torch.equal(before, model.mine.a_x) and {"sup", "mi"} <= set(terms)
