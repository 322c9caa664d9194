"""The GAN rows as their papers and the authors' code train them: spectral norm on InfoGAN's
D and Q, InfoGAN-CR's contrastive regulariser, Stacked GAN's representation and joint phase,
ACGAN's class logits."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from disbench import data
from disbench.errors import InvalidInputError
from disbench.models import DatasetInfo, get_model_class


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
    model = cls(DatasetInfo.of(dsprites), total, cls.config_class(monitor_every=0, **hparams))
    return model.train(), model.configure_optimizers()


def tensors(raw):
    return {k: torch.from_numpy(v) for k, v in raw.items()}


def layers(module):
    return [m for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


# --- InfoGAN: spectral norm -------------------------------------------------------------------
def test_infogan_spectral_norm_is_on_every_layer_of_d_body_d_head_and_q_head(dsprites):
    model, _ = make("infogan", dsprites)
    model.eval()
    for part in (model.body, model.d_head, model.q_head):
        assert layers(part) and all(parametrize.is_parametrized(m, "weight") for m in layers(part))
        for m in layers(part):  # weight = W / σ̂ with σ̂ = uᵀ W v, the power-iteration estimate of σ_max(W)
            sn, w = m.parametrizations.weight[0], m.parametrizations.weight.original.detach()
            sigma = torch.dot(sn._u, w.flatten(1) @ sn._v)
            torch.testing.assert_close(m.weight.detach(), w / sigma)
            assert sigma == pytest.approx(float(torch.linalg.matrix_norm(w.flatten(1), ord=2)), rel=0.05)
    assert not any(parametrize.is_parametrized(m, "weight") for m in layers(model.net_g))
    plain, _ = make("infogan", dsprites, spectral_norm=False)
    assert not any(parametrize.is_parametrized(m) for m in layers(plain))



@pytest.mark.parametrize("name", ["lsgan", "acgan"])
def test_lsgan_and_acgan_spectral_norm_is_on_every_layer_of_d_only_and_off_by_default(name, dsprites):
    """``spectral_norm = true`` (their quick profiles) normalises every conv/linear layer of D
    (ACGAN: body, source head and class head), never G or the post-hoc encoder; the paper
    default has none."""
    model, _ = make(name, dsprites, spectral_norm=True, posthoc_steps=2)
    d_parts = [model.net_d] if name == "lsgan" else model.discriminator_modules()
    for part in d_parts:
        assert layers(part) and all(parametrize.is_parametrized(m, "weight") for m in layers(part))
    for part in (model.net_g, model.posthoc):
        assert not any(parametrize.is_parametrized(m) for m in layers(part))
    plain, _ = make(name, dsprites, posthoc_steps=2)
    assert not any(parametrize.is_parametrized(m) for m in layers(plain))

def power_iteration(layer):
    """(u, v) after one power iteration from the layer's stored u on its current weight."""
    sn = layer.parametrizations.weight[0]
    w = layer.parametrizations.weight.original.detach().flatten(1)
    v = F.normalize(w.T @ sn._u, dim=0, eps=sn.eps)
    return F.normalize(w @ v, dim=0, eps=sn.eps), v


def test_infogan_runs_exactly_one_power_iteration_per_training_step(dsprites):
    """The D update runs the body once on real and generated images together; the two
    generator updates see D in eval mode: after a step each stored u is one power
    iteration from the one before (on the weights before the D update)."""
    model, opts = make("infogan", dsprites, generator_steps=2)
    batch = tensors(model.next_batch(dsprites, 8, np.random.default_rng(0), 0))
    watched = [layers(model.body)[0], layers(model.d_head)[0], layers(model.q_head)[-1]]
    expected = [power_iteration(m)[0] for m in watched]
    model.training_step(batch, 0, opts)
    for m, u in zip(watched, expected, strict=True):
        torch.testing.assert_close(m.parametrizations.weight[0]._u, u)


# --- InfoGAN-CR ---------------------------------------------------------------------------------
def test_infogan_cr_pairs_share_one_code_and_the_noise(dsprites):
    model, _ = make("infogan_cr", dsprites, total=10, cr_start_step=5)
    assert model.phase(4) == "gan" and model.phase(5) == "cr"
    assert "cr_k" not in model.next_batch(dsprites, 8, np.random.default_rng(0), 4)
    b = model.next_batch(dsprites, 256, np.random.default_rng(0), 5)
    same = np.isclose(b["cr_c_a"], b["cr_c_b"])
    assert (same.sum(1) == 1).all() and (same.argmax(1) == b["cr_k"]).all()
    assert set(np.unique(b["cr_k"])) == set(range(5)) and b["cr_z"].shape == (256, 5)
    assert b["cr_c_a"].min() >= -1 and b["cr_c_a"].max() <= 1


def test_infogan_cr_is_the_infogan_run_until_the_regulariser_starts(dsprites):
    """Same seed, same batches: before cr_start_step the two rows train identically (the
    authors' InfoGAN (modified) row is the same run's checkpoint before the switch)."""
    plain, plain_opts = make("infogan", dsprites, total=6, generator_steps=1)
    cr, cr_opts = make("infogan_cr", dsprites, total=6, generator_steps=1, cr_start_step=3)
    h_before = {k: v.clone() for k, v in cr.cr_net.state_dict().items()}
    rngs = np.random.default_rng(1), np.random.default_rng(1)
    for step in range(3):
        a = plain.training_step(tensors(plain.next_batch(dsprites, 8, rngs[0], step)), step, plain_opts)
        b = cr.training_step(tensors(cr.next_batch(dsprites, 8, rngs[1], step)), step, cr_opts)
        assert b.pop("cr_loss") == 0.0 and a == b
    ours = {k: v for k, v in cr.state_dict().items() if not k.startswith("cr_net.")}
    assert ours.keys() == plain.state_dict().keys()
    assert all(torch.equal(v, plain.state_dict()[k]) for k, v in ours.items())
    assert all(torch.equal(v, cr.cr_net.state_dict()[k]) for k, v in h_before.items())  # H untouched
    out = cr.training_step(tensors(cr.next_batch(dsprites, 8, rngs[1], 3)), 3, cr_opts)
    assert out["cr_loss"] > 0.0
    assert not torch.equal(h_before["head.weight"], cr.cr_net.head.weight)  # H trains from the switch on


def test_infogan_cr_generator_descends_the_contrastive_loss(dsprites):
    """With H, D and Q fixed, generator updates lower H's cross-entropy on the pairs."""
    model, opts = make("infogan_cr", dsprites, generator_steps=1, cr_weight=20.0)
    for name in ("discriminator", "cr"):
        for group in opts[name].param_groups:
            group["lr"] = 0.0
    batch = tensors(model.next_batch(dsprites, 16, np.random.default_rng(0), 0))
    losses = [model.training_step(batch, 0, opts)["cr_loss"] for _ in range(4)]
    assert all(b < a for a, b in zip(losses, losses[1:])), losses


def test_infogan_cr_h_has_spectral_norm_except_its_last_layer(dsprites):
    model, _ = make("infogan_cr", dsprites)
    assert all(parametrize.is_parametrized(m, "weight") for m in layers(model.cr_net.body))
    assert not parametrize.is_parametrized(model.cr_net.head)
    assert model.cr_net.body.conv[0].in_channels == 2  # the pair, stacked on channels


def test_infogan_cr_start_must_be_within_the_run(dsprites):
    with pytest.raises(InvalidInputError, match="cr_start_step"):
        make("infogan_cr", dsprites, total=8, cr_start_step=8)


# --- Stacked GAN --------------------------------------------------------------------------------
SGAN_SMALL = {"h1_dim": 16, "z1_dim": 4, "z0_dim": 6, "encoder_steps": 1, "independent_steps": 1}


def test_sgan_representation_is_class_logits_z1_and_z0_estimates(dsprites):
    model, _ = make("sgan", dsprites, **SGAN_SMALL)
    model.eval()
    x = torch.from_numpy(dsprites.sample_observations(5, 0))
    codes = model.encode(x)
    assert model.num_codes == 3 + 4 + 6 and codes.shape == (5, 13)  # K + dim z1 + dim z0
    with torch.no_grad():
        h1 = model.enc0(x)
        torch.testing.assert_close(codes, torch.cat([model.enc1(h1), model.disc1(h1)[1], model.disc0(x)[1]], 1))
    assert model.traverse(x[:1], 3).shape == (13, 3, 1, 64, 64)


def g1_gradients(dsprites, weight):
    """Gradients of G1's parameters in one joint-phase step with ``joint_lower_weight``."""
    model, opts = make("sgan", dsprites, total=4, joint_lower_weight=weight, **SGAN_SMALL)
    batch = tensors(model.next_batch(dsprites, 8, np.random.default_rng(0), 2))
    grads = {}
    opts["generator"].step = lambda: grads.update({n: p.grad.clone() for n, p in model.gen1.named_parameters()})
    model.training_step(batch, 2, opts)
    assert model.phase(2) == "joint"
    return grads


def test_sgan_joint_phase_gives_g1_the_lower_loss_with_its_weight(dsprites):
    """G1's gradient is ∇L_G_1 + w·∇_{G1} L_G_0: linear in w, and w = 0 leaves only ∇L_G_1."""
    g0, g1, g001 = (g1_gradients(dsprites, w) for w in (0.0, 1.0, 0.01))
    assert any(not torch.allclose(g1[n], g0[n]) for n in g0)  # L_G_0 does reach G1
    got = torch.cat([(g001[n] - g0[n]).flatten() for n in g0])
    expected = 0.01 * torch.cat([(g1[n] - g0[n]).flatten() for n in g0])
    assert torch.linalg.norm(got - expected) < 1e-3 * torch.linalg.norm(expected)  # float32 rounding


# --- ACGAN --------------------------------------------------------------------------------------
def test_acgan_scores_the_class_logits(dsprites):
    model, _ = make("acgan", dsprites, posthoc_steps=2)
    model.eval()
    x = torch.from_numpy(dsprites.sample_observations(4, 0))
    codes = model.encode(x)
    with torch.no_grad():
        torch.testing.assert_close(codes[:, :3], model.class_head(model.body(x)))
    assert not torch.allclose(codes[:, :3].sum(1), torch.ones(4))  # not probabilities
