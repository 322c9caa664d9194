"""Weak supervision: the data layer's pair sampler and the Ada-GVAE / Ada-ML-VAE averaging
(disbench.data.base.GroundTruthDataset.sample_pairs, disbench.models.weak_vae)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from disbench import data
from disbench.errors import InvalidInputError
from disbench.models.weak_vae import average_posteriors, changed_latents, pairwise_kl
from disbench.presets import load_preset
from disbench.train import build_model, resolve_config


@pytest.fixture(scope="module")
def dsprites():
    return data.load("dsprites")


def test_pairs_differ_in_exactly_the_drawn_factors(dsprites):
    p = dsprites.sample_pairs(500, -1, 0)
    differ = p["factors"] != p["factors2"]
    assert (differ.sum(1) == p["num_changed"]).all()
    assert differ[np.arange(500), p["changed"]].all()
    assert p["x"].shape == p["x2"].shape == (500, 1, 64, 64) and p["x"].dtype == np.float32
    again = dsprites.sample_pairs(500, -1, 0)
    assert all(np.array_equal(p[key], again[key]) for key in p)
    assert np.array_equal(p["x2"], dsprites.sample_observations_from_factors(p["factors2"], 0))


def test_number_of_changed_factors_is_drawn_as_the_reference(dsprites):
    # disentanglement_lib simple_dynamics: k_observed ~ U{1..K-1} (K = 5 factors), then
    # choice([1, k_observed]): P(1) = 1/2 + 1/2 * 1/4 = 0.625, P(2) = P(3) = P(4) = 0.125.
    n = dsprites.sample_pairs(4000, -1, 1)["num_changed"]
    freq = np.bincount(n, minlength=6)[1:] / len(n)
    np.testing.assert_allclose(freq, [0.625, 0.125, 0.125, 0.125, 0.0], atol=0.03)
    # fixed k: 1 or k with probability 1/2 each
    n = dsprites.sample_pairs(2000, 3, 2)["num_changed"]
    assert set(np.unique(n)) == {1, 3} and abs((n == 3).mean() - 0.5) < 0.05
    assert (dsprites.sample_pairs(50, 1, 3)["num_changed"] == 1).all()


@pytest.mark.parametrize("k", [0, 6, -2, 2.0, True])
def test_bad_k_raises(dsprites, k):
    with pytest.raises(InvalidInputError, match="k"):
        dsprites.sample_pairs(4, k, 0)


def test_adaptive_threshold_is_the_midpoint_of_min_and_max():
    # row 0: min 0.5, max 2.5 -> midpoint 1.5: latents 1 (2.5) and 3 (1.5, on the threshold) changed, 2 (1.25) not
    # row 1: min 0, max 1 -> midpoint 0.5: latent 0 (0.75) changed
    # row 2: all equal -> nothing is taken to have changed (everything averaged)
    kl = torch.tensor([[0.5, 2.5, 1.25, 1.5], [0.75, 0.0, 1.0, 0.25], [0.3, 0.3, 0.3, 0.3]])
    assert changed_latents(kl).tolist() == [[False, True, False, True], [True, False, True, False],
                                            [False, False, False, False]]


def test_pairwise_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu1, mu2, lv1, lv2 = (torch.randn(3, 4, generator=g, dtype=torch.float64) for _ in range(4))
    ref = torch.distributions.kl_divergence(torch.distributions.Normal(mu1, (0.5 * lv1).exp()),
                                            torch.distributions.Normal(mu2, (0.5 * lv2).exp()))
    torch.testing.assert_close(pairwise_kl(mu1, lv1, mu2, lv2), ref)


def test_averaged_posteriors_by_hand():
    mu1, mu2 = torch.tensor([[0.0]]), torch.tensor([[2.0]])
    lv1, lv2 = torch.log(torch.tensor([[1.0]])), torch.log(torch.tensor([[3.0]]))
    mean, logvar = average_posteriors(mu1, lv1, mu2, lv2, "gvae")  # (0+2)/2, (1+3)/2
    assert mean.item() == pytest.approx(1.0) and logvar.exp().item() == pytest.approx(2.0)
    # ML-VAE: product mean (0/1 + 2/3) / (1/1 + 1/3) = 0.5, variance 2*1*3/(1+3) = 1.5
    mean, logvar = average_posteriors(mu1, lv1, mu2, lv2, "ml_vae")
    assert mean.item() == pytest.approx(0.5) and logvar.exp().item() == pytest.approx(1.5)


def test_labels_variant_keeps_the_named_latent_and_trains(dsprites):
    config = resolve_config("gvae_labels", profile="quick", overrides={"batch_size": 4})
    model = build_model(config, dsprites, seed=0).train()
    batch = model.next_batch(dsprites, 4, np.random.default_rng(0), 0)
    changed = torch.from_numpy(batch["changed"])
    mu = torch.zeros(4, 10)
    keep = model.kept_latents(mu, mu, mu, mu, changed)
    assert keep.tolist() == torch.nn.functional.one_hot(changed, 10).bool().tolist()
    terms = model.training_step({k: torch.from_numpy(v) for k, v in batch.items()}, 0, model.configure_optimizers())
    assert terms["kept"].item() == 1.0


def test_supervision_of_the_weak_presets():
    assert {load_preset(n).supervision for n in ("ada_gvae", "ada_ml_vae")} == {"paired observations, k changed factors"}
    assert {load_preset(n).supervision for n in ("gvae_labels", "ml_vae_labels")} == {
        "paired observations, changed factor named"}


def test_models_all_leaves_the_weakly_and_semi_supervised_rows_out():
    from disbench.runner import plan_runs

    rows = {"ada_gvae", "ada_ml_vae", "gvae_labels", "ml_vae_labels", "s2_beta_vae", "s2_factor_vae", "s2_dip_vae",
            "s2_beta_tc_vae", "supervised_vae"}
    assert not any(load_preset(n).in_all for n in rows) and load_preset("beta_vae").in_all
    planned = {spec["name"] for spec in plan_runs("all", sanity=False)}
    assert "beta_vae" in planned and not planned & rows
    assert {spec["name"] for spec in plan_runs(["ada_gvae"], sanity=False)} == {"ada_gvae"}


def test_labels_variant_needs_a_latent_per_factor(dsprites):
    config = resolve_config("gvae_labels", profile="quick", overrides={"model": {"num_latents": 3}})
    with pytest.raises(InvalidInputError, match="num_latents must be ≥ the 5 factors"):
        build_model(config, dsprites)
