"""DC-IGN (disbench.models.dcign): clamped batches, invariance gradient, training."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from disbench.data.base import GroundTruthDataset
from disbench.models import DatasetInfo, get_model_class
from disbench.models.dcign import DCIGN, ClampToBatchMean, DCIGNConfig


class Blocks(GroundTruthDataset):
    """32×32 bars: shape (2), width (3), posX (4), posY (4)."""

    name = "blocks"
    factor_names = ("shape", "width", "posX", "posY")
    factors_num_values = (2, 3, 4, 4)
    observation_shape = (1, 32, 32)

    def _observations(self, factors, rng):
        out = np.zeros((len(factors), 1, 32, 32), dtype=np.float32)
        for i, (s, w, px, py) in enumerate(factors):
            h = 8 if s == 0 else 3
            out[i, 0, 4 + 6 * py : 4 + 6 * py + h, 4 + 6 * px : 4 + 6 * px + 3 + w] = 1
        return out


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make(dataset=None, seed=0, **hp) -> DCIGN:
    torch.manual_seed(seed)
    return DCIGN(DatasetInfo.of(dataset or Blocks()), 100, DCIGNConfig(**hp))


def test_registered_and_latent_layout():
    assert get_model_class("dcign") is DCIGN and DCIGN.supervision == "clamped batches"
    model = make(num_intrinsic=5)
    assert model.extrinsic == [1, 2, 3] and model.intrinsic == [0] and model.num_codes == 3 + 5
    assert model.active_masks.tolist()[0] == [True] + [False] * 7
    assert model.active_masks.tolist()[3] == [False] * 3 + [True] * 5
    dsprites = DatasetInfo("dsprites", (1, 64, 64), ("shape", "scale", "orientation", "posX", "posY"), (3, 6, 40, 32, 32))
    assert DCIGN(dsprites, 10).num_codes == 10


def test_clamped_batches_vary_exactly_the_active_factor():
    ds, model = Blocks(), make(intrinsic_weight=2.0)
    rng = np.random.default_rng(0)
    counts = np.zeros(4)
    for step in range(400):
        b = model.next_batch(ds, 6, rng, step)
        t = b["batch_type"]
        counts[t] += 1
        varying = [model.extrinsic[t]] if t < 3 else model.intrinsic
        for f in range(4):
            if f not in varying:
                assert len(set(b["factors"][:, f])) == 1
        np.testing.assert_array_equal(b["x"], ds.sample_observations_from_factors(b["factors"], 0))
    np.testing.assert_allclose(counts / 400, [0.2, 0.2, 0.2, 0.4], atol=0.07)  # weights 1:1:1:2


def test_without_intrinsic_factor_the_intrinsic_batch_varies_everything():
    info = DatasetInfo("x", (1, 32, 32), ("a", "b"), (4, 4))
    model = DCIGN(info, 10, DCIGNConfig(num_intrinsic=2, intrinsic_factors=("shape",), intrinsic_weight=1e9))
    assert model.intrinsic == [] and model.num_codes == 4

    class AB(Blocks):
        factor_names, factors_num_values = ("a", "b"), (4, 4)

        def _observations(self, factors, rng):
            return np.zeros((len(factors), 1, 32, 32), dtype=np.float32)

    b = model.next_batch(AB(), 32, np.random.default_rng(0), 0)
    assert b["batch_type"] == 2 and all(len(set(b["factors"][:, f])) > 1 for f in range(2))


def test_clamp_forward_and_invariance_gradient():
    h = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
    active = torch.tensor([False, True, False, False])
    out = ClampToBatchMean.apply(h, active, 2.0)
    mean = h.detach().mean(0)
    torch.testing.assert_close(out[:, 1], h[:, 1])
    torch.testing.assert_close(out[:, [0, 2, 3]].detach(), mean[[0, 2, 3]].expand(6, 3))
    upstream = torch.randn(6, 4, dtype=torch.float64)
    (grad,) = torch.autograd.grad(out, h, upstream)
    torch.testing.assert_close(grad[:, 1], upstream[:, 1])  # active dims: ordinary gradient
    # clamped dims: the gradient of strength/(2B) * sum_k ||h_k - mean||^2, upstream discarded
    hv = h.detach().clone().requires_grad_(True)
    penalty = 2.0 / (2 * 6) * ((hv - hv.mean(0)) ** 2).sum()
    (expected,) = torch.autograd.grad(penalty, hv)
    torch.testing.assert_close(grad[:, [0, 2, 3]], expected[:, [0, 2, 3]])


def test_training_steps_reduce_the_loss():
    ds, model = Blocks(), make(optimizer="adam", lr=1e-3)
    model.set_generator(torch.Generator().manual_seed(0))
    opts = model.configure_optimizers()
    rng = np.random.default_rng(0)
    batches = [model.next_batch(ds, 8, rng, s) for s in range(4)]
    batches = [{**b, "x": torch.from_numpy(b["x"])} for b in batches]
    losses = [float(model.training_step(batches[s % 4], s, opts)["loss"]) for s in range(40)]
    assert np.mean(losses[-4:]) < 0.5 * np.mean(losses[:4]), losses


def test_encode_is_unclamped_posterior_mean():
    ds, model = Blocks(), make().eval()
    x = torch.from_numpy(ds.sample_observations_from_factors([[0, 1, 2, 3], [1, 0, 0, 0]], 0))
    codes = model.encode(x)
    assert codes.shape == (2, model.num_codes) and codes.dtype == torch.float32
    torch.testing.assert_close(codes, model.posterior(x)[0])
    assert model.sample(3).shape == (3, 1, 32, 32)


def test_warmup_uses_ordinary_batches_with_every_dim_active():
    ds = Blocks()
    torch.manual_seed(0)
    model = DCIGN(DatasetInfo.of(ds), 10, DCIGNConfig(warmup_fraction=0.3))
    rng = np.random.default_rng(0)
    for step in range(3):
        b = model.next_batch(ds, 16, rng, step)
        assert b["batch_type"] == 4 and bool(model.active_masks[4].all())
        assert all(len(set(b["factors"][:, f])) > 1 for f in range(4))
    assert model.next_batch(ds, 16, rng, 3)["batch_type"] < 4


def test_kl_warmup_weight_rises_linearly_then_stays_one():
    model = make(kl_warmup_fraction=0.5)  # total_steps 100 -> 50 warm-up steps
    weights = [model.kl_weight(s) for s in range(100)]
    np.testing.assert_allclose(weights[:50], np.arange(1, 51) / 50)
    assert weights[50:] == [1.0] * 50
    assert make().kl_weight(0) == 1.0  # default: no KL warm-up


def test_kl_warmup_scales_the_kl_term_of_the_loss():
    ds = Blocks()
    batch = make().next_batch(ds, 8, np.random.default_rng(0), 0)
    batch = {**batch, "x": torch.from_numpy(batch["x"])}
    out = {}
    for frac in (0.0, 0.5):
        model = make(kl_warmup_fraction=frac, optimizer="adam", lr=0.0)
        model.set_generator(torch.Generator().manual_seed(0))
        out[frac] = model.training_step(batch, 4, model.configure_optimizers())
    torch.testing.assert_close(out[0.0]["kl"], out[0.5]["kl"])
    torch.testing.assert_close(out[0.5]["loss"], out[0.5]["recon"] + 0.1 * out[0.5]["kl"])  # 5/50
    torch.testing.assert_close(out[0.0]["loss"], out[0.0]["recon"] + out[0.0]["kl"])


@pytest.mark.parametrize("arch", ["conv", "fc"])
def test_data_output_bias_starts_the_decoder_at_the_mean_intensity(arch):
    ds = Blocks()
    batch = make().next_batch(ds, 16, np.random.default_rng(0), 0)
    x = torch.from_numpy(batch["x"])
    model = make(arch=arch, data_output_bias=True, optimizer="adam", lr=0.0)
    model.set_generator(torch.Generator().manual_seed(0))
    last_bias = lambda: next(reversed(list(model.decoder.parameters()))).detach().clone()  # noqa: E731
    z = torch.zeros(1, model.num_codes)
    old, before = last_bias(), model.decoder(z).detach()
    model.training_step({**batch, "x": x}, 0, model.configure_optimizers())
    bias, p = last_bias(), x.mean()
    torch.testing.assert_close(bias, torch.full_like(bias, float(torch.log(p / (1 - p)))))
    # only that bias moved: the decoder's output shifted by exactly its change
    shift = (bias - old).view(1, 1, 32, 32) if arch == "fc" else (bias - old).view(1, 1, 1, 1)
    torch.testing.assert_close(model.decoder(z).detach(), before + shift)
    model.training_step({**batch, "x": 1 - x}, 1, model.configure_optimizers())  # later steps leave it alone
    torch.testing.assert_close(last_bias(), bias)


def test_defaults_follow_the_paper_and_the_reference_code():
    model = make()
    assert model.config.invariance_strength == 0.01  # Section 3.2: "a factor of 1/100 works well"
    np.testing.assert_allclose(model.type_probs, [0.25] * 4)  # uniform batch types (utils.lua default)
    (opt,) = model.configure_optimizers().values()
    assert isinstance(opt, torch.optim.Adam)  # rmsprop.lua is Adam(0.9, 0.99) with bias correction
    assert opt.defaults["lr"] == 5e-4 and tuple(opt.defaults["betas"]) == (0.9, 0.99)


def test_invariance_gradient_scale_on_a_toy_batch():
    """On a clamped batch the clamped dims of μ get 0.01 · (μ_k − mean μ) / B, 100 times
    smaller than at strength 1; the active dim gets the reconstruction + KL gradient."""
    ds = Blocks()
    batch = make().next_batch(ds, 8, np.random.default_rng(3), 0)
    x, t = torch.from_numpy(batch["x"]), batch["batch_type"]
    grads = {}
    for strength in (0.01, 1.0):
        model = make(invariance_strength=strength)
        model.set_generator(torch.Generator().manual_seed(0))
        mu, logvar = model.posterior(x)
        mu.retain_grad()
        active = model.active_masks[t]
        clamped = ClampToBatchMean.apply(mu, active, strength)
        z = clamped + (0.5 * ClampToBatchMean.apply(logvar, active, strength)).exp() * model.randn(*mu.shape)
        recon, kl = model.loss_terms(x, model.decode_logits(z), clamped, logvar)
        (recon + kl).backward()
        grads[strength] = mu.grad.detach()
        dev = (mu - mu.mean(0)).detach()
        torch.testing.assert_close(grads[strength][:, ~active], strength * dev[:, ~active] / 8)
    torch.testing.assert_close(grads[0.01][:, ~active], grads[1.0][:, ~active] / 100)
    torch.testing.assert_close(grads[0.01][:, active], grads[1.0][:, active])  # same model, same batch
    assert grads[0.01][:, active].abs().mean() > 100 * grads[0.01][:, ~active].abs().mean()


def test_clamp_and_invariance_gradient_are_float32_under_autocast():
    h = torch.randn(6, 4).to(torch.bfloat16).requires_grad_(True)
    active = torch.tensor([True, False, False, True])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = ClampToBatchMean.apply(h, active, 0.01)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out[:, 1], h.detach().float().mean(0)[1].expand(6), rtol=0, atol=0)
    (grad,) = torch.autograd.grad(out.sum(), h)
    assert grad.dtype == torch.bfloat16
    expected = 0.01 * (h.detach().float() - h.detach().float().mean(0)) / 6
    torch.testing.assert_close(grad[:, 1:3], expected[:, 1:3].to(torch.bfloat16))
