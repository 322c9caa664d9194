"""The study's VAE family: FactorVAE, β-TCVAE, DIP-VAE-I/II, AnnealedVAE (disbench.models.*).

Each regulariser is checked on hand-computable cases and against an independent computation;
each model reduces to the VAE when its regulariser is switched off, and trains."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import logsumexp
from scipy.stats import norm
from test_beta_vae import squares  # white squares (N, 1, 64, 64)

from disbench.models import DatasetInfo, get_model_class
from disbench.models.annealed_vae import AnnealedVAEConfig, capacity
from disbench.models.beta_tc_vae import BetaTCVAEConfig, total_correlation
from disbench.models.beta_vae import BetaVAE, BetaVAEConfig
from disbench.models.dip_vae import DIPVAEConfig, covariance, dip_covariance, dip_penalty
from disbench.models.factor_vae import FactorVAE, FactorVAEConfig, permute_dims
from disbench.presets import load_preset
from disbench.resources import read_toml

INFO = DatasetInfo("dsprites", (1, 64, 64), ("shape", "scale", "orientation", "posX", "posY"), (3, 6, 40, 32, 32))
FAMILY = {"factor_vae": FactorVAEConfig, "beta_tc_vae": BetaTCVAEConfig, "dip_vae": DIPVAEConfig,
          "annealed_vae": AnnealedVAEConfig}


@pytest.fixture(autouse=True)
def one_thread(one_torch_thread):
    yield


# --- β-TCVAE: minibatch-weighted-sampling total correlation ---------------------------------
def tc_reference(z, mu, logvar) -> float:
    """The same estimator written with scipy: mean_j [log q(z_j) - sum_l log q(z_jl)], batch-normalised."""
    b = len(z)
    log_q = norm.logpdf(z[:, None, :], loc=mu[None], scale=np.exp(0.5 * logvar[None]))  # [j, i, l]
    log_qz = logsumexp(log_q.sum(2), axis=1) - math.log(b)
    log_prod = (logsumexp(log_q, axis=1) - math.log(b)).sum(1)
    return float(np.mean(log_qz - log_prod))


def test_tc_matches_scipy_reference():
    rng = np.random.default_rng(0)
    z, mu, logvar = rng.normal(size=(3, 32, 4))
    got = total_correlation(*(torch.from_numpy(a) for a in (z, mu, logvar))).item()
    assert got == pytest.approx(tc_reference(z, mu, logvar), abs=1e-10)


def test_tc_is_zero_when_every_posterior_is_the_same():
    # q(z|x_i) = N(0, I) for all i: the aggregate posterior is N(0, I), exactly factorised
    z = torch.randn(64, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    zeros = torch.zeros_like(z)
    assert total_correlation(z, zeros, zeros).item() == pytest.approx(0.0, abs=1e-12)


def test_tc_near_zero_on_independent_and_positive_on_correlated_codes():
    g = torch.Generator().manual_seed(2)
    n, logvar = 1000, torch.full((1000, 2), math.log(0.1), dtype=torch.float64)
    mu = torch.randn(n, 2, generator=g, dtype=torch.float64)  # independent dimensions
    z = mu + torch.randn(n, 2, generator=g, dtype=torch.float64) * math.sqrt(0.1)
    independent = total_correlation(z, mu, logvar).item()
    t = torch.randn(n, 1, generator=g, dtype=torch.float64)
    mu_c = torch.cat([t, t], 1)  # both dimensions carry the same value
    z_c = mu_c + torch.randn(n, 2, generator=g, dtype=torch.float64) * math.sqrt(0.1)
    correlated = total_correlation(z_c, mu_c, logvar).item()
    # Gaussian reference: TC of z_c = -½ log(1 - ρ²), ρ = 1/1.1 -> 0.87 nats; independent -> 0
    assert abs(independent) < 0.05
    assert correlated == pytest.approx(-0.5 * math.log(1 - (1 / 1.1) ** 2), abs=0.15)


# --- DIP-VAE ----------------------------------------------------------------------------------
def test_dip_penalty_zero_on_identity_and_hand_value():
    assert dip_penalty(torch.eye(4), 3.0, 7.0).item() == 0.0
    cov = torch.tensor([[2.0, 0.5], [0.5, 1.0]])
    # off-diagonal: 0.5² + 0.5² = 0.5 (× λ_od 1); diagonal: (2 - 1)² + 0 = 1 (× λ_d 10)
    assert dip_penalty(cov, 1.0, 10.0).item() == pytest.approx(10.5)


def test_dip_covariances():
    rng = np.random.default_rng(3)
    mu, logvar = rng.normal(size=(2, 50, 3))
    cov_i = dip_covariance(torch.from_numpy(mu), torch.from_numpy(logvar), "i").numpy()
    np.testing.assert_allclose(cov_i, np.cov(mu, rowvar=False, bias=True), atol=1e-12)
    cov_ii = dip_covariance(torch.from_numpy(mu), torch.from_numpy(logvar), "ii").numpy()
    np.testing.assert_allclose(cov_ii, cov_i + np.diag(np.exp(logvar).mean(0)), atol=1e-12)
    np.testing.assert_allclose(covariance(torch.from_numpy(mu)).numpy(), cov_i)


def test_dip_type_checked():
    from disbench.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="dip_type"):
        DIPVAEConfig(dip_type="iii")


# --- AnnealedVAE ------------------------------------------------------------------------------
def test_capacity_schedule():
    assert capacity(0, 25.0, 100) == 0.0
    assert capacity(50, 25.0, 100) == 12.5
    assert capacity(100, 25.0, 100) == 25.0
    assert capacity(10_000, 25.0, 100) == 25.0


# --- FactorVAE --------------------------------------------------------------------------------
def test_permute_dims_permutes_each_column_independently():
    z = torch.arange(40.0).view(20, 2)
    z[:, 1] += 100
    noise = torch.rand(20, 2, generator=torch.Generator().manual_seed(0))
    p = permute_dims(z, noise)
    for j in range(2):
        assert sorted(p[:, j].tolist()) == sorted(z[:, j].tolist())
    assert not torch.equal(p, z)
    # columns are reordered by different permutations: rows are no longer the original pairs
    assert {tuple(r) for r in p.tolist()} != {tuple(r) for r in z.tolist()}


def test_factor_vae_discriminator_is_the_papers_mlp_and_gets_no_vae_gradient():
    torch.manual_seed(0)
    model = FactorVAE(INFO, 10, FactorVAEConfig())
    linears = [m for m in model.discriminator if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in linears] == [1000] * 6 + [2]
    z = torch.randn(8, 10, requires_grad=True)
    reg, terms = model.regularizer(torch.tensor(0.0), z, z, z, 0)
    reg.backward()
    assert all(p.grad is None for p in model.discriminator.parameters())
    assert z.grad is not None and z.grad.abs().sum() > 0
    logits = model.discriminator(z.detach())
    assert terms["tc"].item() == pytest.approx((logits[:, 0] - logits[:, 1]).mean().item(), abs=1e-6)
    # an untrained D is near chance: cross-entropy ≈ log 2
    assert model.discriminator_loss(z.detach(), z.detach().flip(0)).item() == pytest.approx(math.log(2), abs=0.05)


def test_factor_vae_optimisers_split_the_parameters():
    model = FactorVAE(INFO, 10, FactorVAEConfig())
    opts = model.configure_optimizers()
    vae = {id(p) for g in opts["vae"].param_groups for p in g["params"]}
    disc = {id(p) for g in opts["discriminator"].param_groups for p in g["params"]}
    assert not vae & disc
    assert vae | disc == {id(p) for p in model.parameters()}
    assert opts["discriminator"].defaults["betas"] == (0.5, 0.9)


# --- every member ------------------------------------------------------------------------------
OFF = {"factor_vae": {"gamma": 0.0}, "beta_tc_vae": {"beta": 1.0}, "dip_vae": {"lambda_od": 0.0},
       "annealed_vae": {"gamma": 1.0, "c_max": 0.0}}


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_reduces_to_the_vae_when_its_regulariser_is_off(name):
    x = squares(16)
    torch.manual_seed(0)
    vae = BetaVAE(INFO, 10, BetaVAEConfig(beta=1.0))
    torch.manual_seed(0)
    model = get_model_class(name)(INFO, 10, FAMILY[name](**OFF[name]))
    model.load_state_dict(vae.state_dict(), strict=False)
    vae.set_generator(torch.Generator().manual_seed(5))
    model.set_generator(torch.Generator().manual_seed(5))
    want = vae.vae_loss(x, 3)[0].item()
    got = model.vae_loss(x, 3)[0].item()
    assert got == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_two_training_steps(name):
    torch.manual_seed(0)
    model = get_model_class(name)(INFO, 10, FAMILY[name]())
    opts = model.configure_optimizers()
    before = [p.detach().clone() for p in model.parameters()]
    for step in range(2):
        terms = model.training_step({"x": squares(8, step)}, step, opts)
        assert all(math.isfinite(float(v)) for v in terms.values())
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    codes = model.encode(squares(5))
    assert codes.shape == (5, 10) and codes.dtype == torch.float32


@pytest.mark.parametrize("preset", ["factor_vae", "beta_tc_vae", "dip_vae_i", "dip_vae_ii", "annealed_vae"])
def test_presets_follow_the_study(preset):
    p = load_preset(preset)
    study = p.profile("study")
    # FactorVAE: 150,000 steps of one VAE + one discriminator update = dlib's 300,000 global steps
    # (both minimize calls advance the global step; tests/test_study_dlib.py)
    steps = 150_000 if preset == "factor_vae" else 300_000
    assert (study["steps"], study["batch_size"], study["model"]["lr"]) == (steps, 64, 1e-4)
    sweep = read_toml(p.path)["studies"]["unsupervised_study_v1"]
    assert len(sweep["values"]) == 6 and sweep["key"] in study["model"]
    assert "sweep.py" in sweep["source"]
