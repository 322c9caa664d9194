"""The reference rows `ae` (deterministic autoencoder) and `dcgan` (Radford et al. 2016): losses on
hand-computed cases, the architecture rules, and what the metrics read."""

from __future__ import annotations

import math

import pytest
import torch
from test_beta_vae import squares  # white squares (N, 1, 64, 64)
from torch import nn

from disbench.models import DatasetInfo, get_model_class
from disbench.models.ae import AE, AEConfig
from disbench.models.dcgan import DCGAN, DCGANConfig
from disbench.models.lsgan import LSGAN, LSGANConfig

INFO = DatasetInfo("dsprites", (1, 64, 64), ("shape", "scale", "orientation", "posX", "posY"), (3, 6, 40, 32, 32))
pytestmark = pytest.mark.usefixtures("one_torch_thread")


# --- ae --------------------------------------------------------------------------------------
def test_ae_loss_is_the_bernoulli_nll_per_image_without_kl():
    torch.manual_seed(0)
    model = AE(INFO, 10, AEConfig())
    assert get_model_class("ae") is AE and not hasattr(model, "posterior")  # UDR: no KL to filter by
    for layer in (model.decoder.deconv[-1], model.decoder.fc[0]):  # decoder outputs 0 logits for any code
        nn.init.zeros_(layer.weight)
        nn.init.zeros_(layer.bias)
    for batch in (1, 8):
        recon, z = model.recon_loss(squares(batch))
        assert recon.item() == pytest.approx(4096 * math.log(2), rel=1e-6) and z.shape == (batch, 10)
    out = model.training_step({"x": squares(8)}, 0, model.configure_optimizers())
    assert set(out) == {"loss", "recon"} and out["loss"] == out["recon"]


def test_ae_code_is_deterministic_and_samples_follow_the_running_code_statistics():
    torch.manual_seed(0)
    model = AE(INFO, 10, AEConfig(lr=1e-3))
    opts = model.configure_optimizers()
    x = squares(16)
    model.training_step({"x": x}, 0, opts)
    z = model.encoder(x).detach()
    # one update from (0, 1): the running statistics moved 1 % of the way to the batch's
    # (computed before that step's parameter update, so re-check with the pre-step codes)
    torch.manual_seed(0)
    fresh = AE(INFO, 10, AEConfig(lr=1e-3))
    z0 = fresh.encoder(x).detach()
    torch.testing.assert_close(model.code_mean, 0.01 * z0.mean(0))
    torch.testing.assert_close(model.code_var, 0.99 + 0.01 * z0.var(0, unbiased=False))
    model.eval()
    torch.testing.assert_close(model.encode(x), z)  # no sampling noise in the representation
    torch.testing.assert_close(model.encode(x), model.encode(x))
    with torch.no_grad():
        model.code_mean.fill_(3.0)
        model.code_var.fill_(0.25)
    gen = torch.Generator().manual_seed(1)
    codes = model._code_sample(4000, gen)
    assert codes.mean().item() == pytest.approx(3.0, abs=0.02) and codes.std().item() == pytest.approx(0.5, abs=0.02)
    images = model.sample(3, torch.Generator().manual_seed(1))
    assert images.shape == (3, 1, 64, 64) and 0 <= images.min() and images.max() <= 1
    assert model.traverse(x, 5).shape == (10, 5, 1, 64, 64)


# --- dcgan ------------------------------------------------------------------------------------
def test_dcgan_losses_are_the_non_saturating_gan_losses():
    torch.manual_seed(0)
    model = DCGAN(INFO, 10, DCGANConfig(posthoc_steps=2))
    zero = torch.zeros(4, 1)
    assert model.d_loss(zero, zero).item() == pytest.approx(2 * math.log(2))  # −log ½ − log ½
    assert model.g_loss(zero).item() == pytest.approx(math.log(2))
    logits = torch.tensor([[2.0], [-1.0]])
    # G: −mean log σ(ℓ) (non-saturating), not mean log(1 − σ(ℓ))
    want = -torch.log(torch.sigmoid(logits)).mean().item()
    assert model.g_loss(logits).item() == pytest.approx(want, rel=1e-6)
    want_d = (-torch.log(torch.sigmoid(logits)).mean() - torch.log(1 - torch.sigmoid(-logits)).mean()).item()
    assert model.d_loss(logits, -logits).item() == pytest.approx(want_d, rel=1e-6)


def test_dcgan_follows_the_papers_architecture_rules_and_lsgan_is_unchanged():
    torch.manual_seed(0)
    model = DCGAN(INFO, 1000, DCGANConfig())
    kinds = [type(m).__name__ for m in model.net_d[0].conv] + [type(m).__name__ for m in model.net_d[0].fc]
    # BN in D except its input layer; LeakyReLU 0.2 in D
    assert kinds == ["Conv2d", "LeakyReLU", "Conv2d", "BatchNorm2d", "LeakyReLU", "Conv2d", "BatchNorm2d",
                     "LeakyReLU", "Conv2d", "BatchNorm2d", "LeakyReLU", "Flatten", "Linear", "BatchNorm1d", "LeakyReLU"]
    deconv = [type(m).__name__ for m in model.net_g.deconv]
    # ReLU and BN in G; the output layer has neither
    assert deconv == ["ConvTranspose2d", "ReLU", "BatchNorm2d"] * 3 + ["ConvTranspose2d", "Sigmoid"]
    opts = model.configure_optimizers()
    for name in ("generator", "discriminator"):
        assert opts[name].defaults["lr"] == 2e-4 and opts[name].defaults["betas"] == (0.5, 0.999)
    lsgan = LSGAN(INFO, 1000, LSGANConfig())  # the shared blocks' defaults keep LSGAN as it was
    assert not any(isinstance(m, nn.BatchNorm2d) for m in lsgan.net_d.modules())
    assert sum(isinstance(m, nn.LeakyReLU) for m in lsgan.net_g.deconv) == 3


def test_dcgan_trains_and_encodes_with_the_posthoc_encoder():
    torch.manual_seed(0)
    model = DCGAN(INFO, 4, DCGANConfig(posthoc_steps=2, monitor_every=0))
    model.set_generator(torch.Generator().manual_seed(0))
    opts = model.configure_optimizers()
    g = torch.Generator().manual_seed(0)
    for step in range(4):
        batch = {"x": squares(8, step), "z": torch.rand(8, 10, generator=g) * 2 - 1}
        out = model.training_step(batch, step, opts)
        assert all(math.isfinite(float(v)) for v in out.values())
        assert (float(out["posthoc_loss"]) > 0) == (step >= 2) and (float(out["d_loss"]) > 0) == (step < 2)
    model.eval()
    assert model.encode(squares(3)).shape == (3, 10)
