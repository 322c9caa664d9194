"""InfoGAN (Chen et al. 2016, "InfoGAN: Interpretable Representation Learning by
Information Maximizing Generative Adversarial Nets", NeurIPS 2016).

The generator ``G(c, z)`` takes continuous latent codes ``c ~ U(-1, 1)^num_codes`` and
noise ``z ~ U(-1, 1)^noise_dim``; the discriminator ``D`` and the recognition network
``Q`` share a conv body. ``Q(c | x)`` is a factored Gaussian with fixed unit standard
deviation (the paper, Sec. 6, notes that a fixed σ suffices for continuous codes; the
InfoGAN-CR code uses ``q_std = 1``), so the variational mutual-information lower bound
(Eq. 5) becomes ``L_I = E[log Q(c | G(c, z))]`` = a negative squared error plus a constant.

Objectives (Eq. 6, with the non-saturating generator loss of Goodfellow et al. 2014, Sec. 3,
as the InfoGAN and InfoGAN-CR code use)::

    D, Q:  min  BCE(D(x), real) + BCE(D(G(c, z)), fake) - λ L_I
    G:     min  BCE(D(G(c, z)), real) - λ L_I

The dSprites setup is the InfoGAN baseline of InfoGAN-CR (Lin et al. 2020, ICML;
official code ``InfoGAN-CR_dSprites``): 5 codes + 5 noise dims, G fc 128 → fc 4·4·64 →
deconvs 64-32-32-1 (4×4, stride 2, BatchNorm, sigmoid output), D/Q conv 32-32-64-64
(4×4, stride 2, LeakyReLU) → fc 128, Q head fc 128 → 5 means, Adam G 1e-3 / D 2e-3,
β1 = 0.5, batch 64, λ = 0.05 for both players, and two generator updates per
discriminator update on the same noise (as that code does).

Spectral normalisation (Miyato et al. 2018): that code normalises every layer of the
discriminator body, of the D head and of the Q head (``network.py``,
``InfoGANDiscriminator``: ``sn_op`` on every ``conv2d``/``linear``), with one power
iteration per training step, and its D learning rate of 2e-3 was tuned with it.
``spectral_norm = true`` does the same with torch's parametrisation: in the discriminator
step each layer runs once (the body and D head on real and generated images together — D
has no batch norm, so this equals two passes), which is one power iteration per step, and
the generator updates see D in eval mode, which reuses the step's singular vectors.

Representation: ``encode(x)`` = Q's code means on real images (``num_codes``-d).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from disbench.models import register
from disbench.models.config import param
from disbench.models.gan_common import (
    GanBaseline,
    GanConfig,
    adam,
    bce_fake,
    bce_real,
    eval_mode,
    frozen,
    linspace_traversal,
)
from disbench.models.nets import GanDiscriminatorBody, GanGenerator, dcgan_init, spectral_norm_layers


@dataclass(frozen=True)
class InfoGANConfig(GanConfig):
    """Hyper-parameters of :class:`InfoGAN` (``[profiles.<p>.model]``); defaults: the InfoGAN-CR dSprites code."""

    num_codes: int = param(5, "continuous latent codes c ~ U(-1, 1) (count)")
    noise_dim: int = param(5, "incompressible noise dims z ~ U(-1, 1) (count)")
    info_weight: float = param(0.05, "λ, weight of the mutual-information bound L_I for both players (Eq. 6)")
    lr_g: float = param(1e-3, "Adam learning rate of G")
    lr_d: float = param(2e-3, "Adam learning rate of D and Q")
    beta1: float = param(0.5, "Adam β1 (β2 = 0.999)")
    generator_steps: int = param(2, "generator updates per discriminator update (same noise)")
    q_std: float = param(1.0, "fixed standard deviation σ of Q's factored Gaussian")
    spectral_norm: bool = param(True, "spectral norm (1 power iteration per step) on every layer of the D body, "
                                      "D head and Q head, as the InfoGAN-CR code")


@register
class InfoGAN(GanBaseline):
    """InfoGAN with continuous codes (see the module docstring for the losses and sources).
    Hyper-parameters: :class:`InfoGANConfig`."""

    name = "infogan"
    supervision = "none"
    representation = "Q's code means on real images (num_codes-d, 5 on dSprites)"
    loss_keys = ("d_loss", "g_loss", "info_loss")
    config_class = InfoGANConfig

    def __init__(self, info, total_steps, config: InfoGANConfig | None = None):
        super().__init__(info, total_steps, config)
        c = self.config
        self.noise_spec = {"c": (c.num_codes, -1.0, 1.0), "z": (c.noise_dim, -1.0, 1.0)}
        self.net_g = GanGenerator(c.num_codes + c.noise_dim, info.observation_shape)
        self.body = GanDiscriminatorBody(info.observation_shape)
        self.d_head = nn.Linear(self.body.out_dim, 1)
        self.q_head = nn.Sequential(nn.Linear(self.body.out_dim, 128), nn.LeakyReLU(0.2),
                                    nn.Linear(128, c.num_codes))
        dcgan_init(self.d_head)
        dcgan_init(self.q_head)
        if c.spectral_norm:
            for m in self.discriminator_modules():
                spectral_norm_layers(m)

    @property
    def num_codes(self) -> int:
        return self.config.num_codes

    def discriminator_modules(self):
        return [self.body, self.d_head, self.q_head]

    def configure_optimizers(self):
        d_params = [p for m in self.discriminator_modules() for p in m.parameters()]
        c = self.config
        return {
            "generator": adam(list(self.net_g.parameters()), c.lr_g, c.beta1),
            "discriminator": adam(d_params, c.lr_d, c.beta1),
        }

    def q_nll(self, means: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """``-log Q(c | x)`` of the fixed-σ factored Gaussian, summed over codes, batch mean."""
        q_std = self.config.q_std
        sq = ((means - c) ** 2).sum(1) / (2 * q_std**2)
        const = self.config.num_codes * (0.5 * math.log(2 * math.pi) + math.log(q_std))
        return (sq + const).mean()

    def training_step(self, batch, step, optimizers):
        x, c, z = batch["x"], batch["c"], batch["z"]
        gen_in = torch.cat([c, z], 1)
        d_adv = self.discriminator_step(x, gen_in, c, optimizers["discriminator"])
        # generator (several updates on the same noise, as in the InfoGAN-CR code); D frozen and in
        # eval mode (no batch norm in D: eval mode only stops spectral norm's power iteration)
        with frozen(*self.discriminator_modules()), eval_mode(*self.discriminator_modules()):
            for _ in range(self.config.generator_steps):
                g_loss, terms = self.generator_loss(batch, gen_in, c)
                self.optimize(optimizers["generator"], g_loss)
        return self.losses(d_loss=d_adv, **terms)

    def discriminator_step(self, x, gen_in, c, optimizer) -> torch.Tensor:
        """One update of D and Q on real ``x`` and ``G(gen_in)``; returns D's adversarial loss.
        Each layer runs once (the body and D head on both halves together, Q on the generated
        half): one spectral-norm power iteration per step."""
        x_fake = self.net_g(gen_in).detach()
        h = self.body(torch.cat([x, x_fake.to(x.dtype)]))
        logit_real, logit_fake = self.d_head(h).chunk(2)
        d_adv = bce_real(logit_real) + bce_fake(logit_fake)
        self.optimize(optimizer, d_adv + self.config.info_weight * self.q_nll(self.q_head(h[len(x):]), c))
        return d_adv

    def generator_loss(self, batch, gen_in, c) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """G's objective ``BCE(D(G(c, z)), real) + λ·(−log Q(c | G(c, z)))`` and its
        unweighted terms ``{"g_loss", "info_loss"}`` for the log."""
        h = self.body(self.net_g(gen_in))
        g_adv, g_info = bce_real(self.d_head(h)), self.q_nll(self.q_head(h), c)
        return g_adv + self.config.info_weight * g_info, {"g_loss": g_adv, "info_loss": g_info}

    # --- representation and sampling ----------------------------------------------------
    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Q's code means ``(N, num_codes)`` float32 for images ``(N, C, H, W)``."""
        with eval_mode(self):
            return self.q_head(self.body(x.to(self.device))).float()

    def generate(self, n, generator):
        c = self._noise("c", n, generator)
        z = self._noise("z", n, generator)
        return self.net_g(torch.cat([c, z], 1))

    @torch.no_grad()
    def traverse(self, x, num_steps, generator=None):
        """Each code swept over [-1, 1] with the other codes and the noise fixed: codes
        from Q(x[0]) clipped to [-1, 1] when ``x`` is given, else drawn; returns
        ``(num_codes, num_steps, C, H, W)``."""
        if generator is None:
            generator = torch.Generator().manual_seed(0)
        c = self._noise("c", 1, generator)[0]
        if x is not None and len(x):
            c = self.encode(x[:1])[0].clamp(-1, 1)
        z = self._noise("z", 1, generator)[0]
        rows = []
        with eval_mode(self):
            for i in range(self.config.num_codes):
                codes = linspace_traversal(c, i, -1.0, 1.0, num_steps)
                rows.append(self.net_g(torch.cat([codes, z.expand(num_steps, -1)], 1)))
        return torch.stack(rows).float()
