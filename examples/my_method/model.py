"""TinyVAE: a small fully connected VAE on 4×-pooled images, written against disbench's Baseline contract.

Objective (Kingma & Welling 2014; β-weighted as in Higgins et al. 2017, Eq. 4)::

    loss = BCE(x, decoder(z)) summed over pixels + β · KL(q(z|x) || N(0, I)),  batch mean

Representation: the posterior mean μ(x).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from disbench.models import Baseline, BaselineConfig
from disbench.models.base import as_model_input, build_optimizer, step_optimizers
from disbench.models.config import param


@dataclass(frozen=True)
class TinyVAEConfig(BaselineConfig):
    """Hyper-parameters (a preset's ``[profiles.<p>.model]`` table)."""

    num_latents: int = param(6, "d, latent dimensions")
    hidden: int = param(128, "units of the hidden layer of encoder and decoder")
    pool: int = param(4, "side of the average pooling applied to the input (pixels)")
    beta: float = param(2.0, "β, weight of the KL term (Higgins et al. 2017, Eq. 4)")
    lr: float = param(1e-3, "Adam learning rate (per step)")


class TinyVAE(Baseline):
    """A fully connected VAE (see the module docstring)."""

    name = "tiny_vae"
    supervision = "none"
    representation = "posterior mean μ(x)"
    config_class = TinyVAEConfig
    # opts in to packed training (`disbench run --pack N`): β may differ between the models of a
    # pack; pack_noise + pack_loss below are the contract's packing hooks (disbench/models/base.py)
    pack_hyperparameters = ("beta",)

    def __init__(self, info, total_steps, config: TinyVAEConfig | None = None):
        super().__init__(info, total_steps, config)
        c, h, w = info.observation_shape
        cfg = self.config
        inputs = c * (h // cfg.pool) * (w // cfg.pool)
        self.encoder = nn.Sequential(nn.AvgPool2d(cfg.pool), nn.Flatten(), nn.Linear(inputs, cfg.hidden), nn.ReLU(),
                                     nn.Linear(cfg.hidden, 2 * cfg.num_latents))
        self.decoder = nn.Sequential(nn.Linear(cfg.num_latents, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, c * h * w))

    @property
    def num_codes(self) -> int:
        return self.config.num_latents

    def posterior(self, x):
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    def logits(self, z):
        return self.decoder(z).view(len(z), *self.info.observation_shape)

    def configure_optimizers(self):
        return {"vae": build_optimizer(self.parameters(), "adam", self.config.lr)}

    def pack_noise(self, batch_size, step):
        return {"eps": self.randn(batch_size, self.config.num_latents)}  # training noise from the core's generator

    def pack_loss(self, batch, noise, hparams, step):
        """A pure function of the parameters, batch, noise and hparams (β): no randomness, no state."""
        x = batch["x"]
        mu, logvar = self.posterior(x)
        z = mu + (0.5 * logvar).exp() * noise["eps"]
        recon = F.binary_cross_entropy_with_logits(self.logits(z), x, reduction="sum") / len(x)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(1).mean()
        loss = recon + hparams["beta"] * kl
        return {"vae": loss}, {"loss": loss.detach(), "recon": recon.detach(), "kl": kl.detach()}

    def training_step(self, batch, step, optimizers):
        losses, terms = self.pack_loss(batch, self.pack_noise(len(batch["x"]), step), self.pack_hparams(), step)
        step_optimizers(optimizers, losses)
        return terms

    @torch.no_grad()
    def encode(self, x):
        return self.posterior(as_model_input(x, self.device))[0].float().cpu()

    @torch.no_grad()
    def sample(self, n, generator=None):
        return torch.sigmoid(self.logits(self.randn(n, self.config.num_latents, generator=generator))).cpu()

    @torch.no_grad()
    def reconstruct(self, x):
        return torch.sigmoid(self.logits(self.posterior(as_model_input(x, self.device))[0])).cpu()

    @torch.no_grad()
    def traverse(self, x, num_steps, generator=None):
        d = self.config.num_latents
        base = self.posterior(as_model_input(x[:1], self.device))[0] if x is not None else self.randn(1, d)
        z = base.repeat(d * num_steps, 1).view(d, num_steps, d)
        idx = torch.arange(d)
        z[idx, :, idx] = torch.linspace(-3, 3, num_steps)
        return torch.sigmoid(self.logits(z.view(-1, d))).view(d, num_steps, *self.info.observation_shape).cpu()
