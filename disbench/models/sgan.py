"""Stacked GAN (Huang, Li, Poursaeed, Hopcroft, Belongie 2017, "Stacked Generative
Adversarial Networks", CVPR 2017), two levels.

A bottom-up encoder ``E``, trained to classify one ground-truth factor (``label_factor``,
"shape" on dSprites), is split into ``E0: x -> h1`` (conv trunk + fc, ReLU features) and
``E1: h1 -> y`` (linear + softmax). Top-down, ``G1(y, z1) -> ĥ1`` and ``G0(h1, z0) -> x̂``.
Each level has a discriminator ``D_i`` with a real/fake head and a head ``Q_i`` sharing its
body that reconstructs the noise ``z_i``. Per level (Sec. 3.2-3.3)::

    L_G_i = λ_adv L_adv_i + λ_cond L_cond_i + λ_ent L_ent_i
    L_adv_i  = BCE(D_i(ĥ_i), real)                          (non-saturating)
    L_cond_1 = CE(E1(ĥ1), y)            L_cond_0 = ‖E0(x̂) - h1‖²  (mean over dims)
    L_ent_i  = -log Q_i(z_i | ĥ_i) = ‖Q_i(ĥ_i) - z_i‖² + const  (fixed-σ Gaussian)
    L_D_i = λ_adv (½ BCE(D_i(h_i), real) + ½ BCE(D_i(ĥ_i), fake)) + λ_ent L_ent_i

with ``λ_adv, λ_cond, λ_ent = 1, 1, 10``, ``z_i ~ U(0, 1)``, ``Q_i`` with a sigmoid
output, and Adam lr 1e-4, β1 0.5 — all as in the official code (``mnist/train_joint.py``:
``advloss_weight``, ``condloss_weight``, ``entloss_weight``, the squared-error entropy
term and the ½-weighted discriminator terms).

Training, by step number (so checkpoints resume uniformly):

1. ``encoder`` (``encoder_steps``): ``E = E1 ∘ E0`` trained by cross-entropy on the
   labels (Adam lr 1e-3); the official code loads a pre-trained encoder instead. ``E`` is
   frozen afterwards.
2. ``independent`` (``independent_steps``): both levels trained at once but separately,
   ``D1`` comparing ``E0(x)`` with ``G1(y, z1)``, and ``G0`` conditioned on the *real*
   features ``h1 = E0(x)`` (Sec. 3.4, "independent training").
3. ``joint`` (the remaining steps): ``G0`` conditioned on ``G1``'s output ``ĥ1`` (Sec. 3.4,
   "joint training"); as in ``train_joint.py`` each generator is updated with its own
   level's loss (``ĥ1`` enters ``L_G_0`` as a constant).

Architecture for 64×64 dSprites (the official MNIST nets are for 28×28): E0 is the conv
encoder of the VAE rows (conv 32-32-64-64 4×4 stride 2 ReLU → fc 256 ReLU → fc ``h1_dim``)
with a ReLU on ``h1``; G1 fc 512-512 (BN, ReLU) → ``h1_dim``
ReLU as in the official G1; G0 embeds ``z0`` by fc 128 (BN, ReLU), concatenates ``h1`` and
runs the GAN generator of the other rows (fc 128 → fc 4·4·64 → deconvs 64-32-32-C,
sigmoid); D1 fc 256-256 ReLU as in the official D1; D0 is the conv body of the other rows.

Representation: ``encode(x) = [E0(x), Q0(x)]`` (``h1_dim + z0_dim``). Supervision: factor labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from disbench.errors import InvalidInputError
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
    requires_grad,
)
from disbench.models.nets import ConvEncoder, GanDiscriminatorBody, GanGenerator, dcgan_init


def _encoder0(observation_shape, h1_dim: int) -> nn.Module:
    """``E0``: images ``(N, C, H, W)`` -> ReLU features ``h1`` ``(N, h1_dim)``: the conv
    encoder of the VAE rows followed by a ReLU (the official fc3 features are ReLU units)."""
    return nn.Sequential(ConvEncoder(observation_shape, h1_dim), nn.ReLU())


class _Generator0(nn.Module):
    """``G0(h1, z0)``: ``z0`` embedded by fc 128 (BN, ReLU), concatenated to ``h1``, then
    the conv GAN generator."""

    def __init__(self, observation_shape, h1_dim: int, z0_dim: int, embed: int = 128):
        super().__init__()
        self.embed = nn.Sequential(nn.Linear(z0_dim, embed), nn.BatchNorm1d(embed), nn.ReLU())
        self.net = GanGenerator(h1_dim + embed, observation_shape)
        dcgan_init(self.embed)

    def forward(self, h1, z0):
        return self.net(torch.cat([h1, self.embed(z0)], 1))


class _Discriminator(nn.Module):
    """A body with a real/fake logit head and a Q head (sigmoid, noise in [0, 1])."""

    def __init__(self, body: nn.Module, feat: int, z_dim: int):
        super().__init__()
        self.body = body
        self.adv = nn.Linear(feat, 1)
        self.q = nn.Sequential(nn.Linear(feat, z_dim), nn.Sigmoid())
        dcgan_init(self.adv)
        dcgan_init(self.q)

    def forward(self, h):
        f = self.body(h)
        return self.adv(f), self.q(f)


@dataclass(frozen=True)
class StackedGANConfig(GanConfig):
    """Hyper-parameters of :class:`StackedGAN` (``[profiles.<p>.model]``); defaults: the
    official MNIST code (``train_joint.py``) where it has them."""

    h1_dim: int = param(256, "size of the encoder features h1 = E0(x) (fc3 units in the official code)")
    z1_dim: int = param(50, "noise dims z1 ~ U(0, 1) of level 1")
    z0_dim: int = param(50, "noise dims z0 ~ U(0, 1) of level 0")
    encoder_steps: int = param(1000, "steps of the encoder phase (≥ 1)")
    independent_steps: int = param(2000, "steps of the independent phase (Sec. 3.4); the joint phase takes the rest")
    lr_g: float = param(1e-4, "Adam learning rate of G1 and G0")
    lr_d: float = param(1e-4, "Adam learning rate of D1 and D0 (with their Q heads)")
    beta1: float = param(0.5, "Adam β1 of generators and discriminators (β2 = 0.999)")
    lr_encoder: float = param(1e-3, "Adam learning rate of the encoder phase (β1 = 0.9)")
    adv_weight: float = param(1.0, "λ_adv, weight of the adversarial terms (Sec. 3.2)")
    cond_weight: float = param(1.0, "λ_cond, weight of the conditional terms (Sec. 3.2)")
    ent_weight: float = param(10.0, "λ_ent, weight of the entropy (noise reconstruction) terms (Sec. 3.3)")


@register
class StackedGAN(GanBaseline):
    """Two-level Stacked GAN (see the module docstring). Hyper-parameters: :class:`StackedGANConfig`.

    Raises:
        InvalidInputError: the phases leave no joint step; unknown ``label_factor``.
    """

    name = "sgan"
    supervision = "factor labels"
    representation = "encoder features h1 = E0(x) ⊕ Q0's estimate of z0 (h1_dim + z0_dim)"
    loss_keys = ("encoder_loss", "d_loss", "g_loss", "cond_loss", "ent_loss")
    config_class = StackedGANConfig

    def __init__(self, info, total_steps, config: StackedGANConfig | None = None):
        super().__init__(info, total_steps, config)
        c = self.config
        if c.encoder_steps < 1 or c.independent_steps < 0 or \
                c.encoder_steps + c.independent_steps >= self.total_steps:
            raise InvalidInputError(
                f"encoder_steps={c.encoder_steps} + independent_steps={c.independent_steps} must leave joint "
                f"steps within steps={total_steps} (encoder_steps >= 1); change the preset"
            )
        self.noise_spec = {"z1": (c.z1_dim, 0.0, 1.0), "z0": (c.z0_dim, 0.0, 1.0)}
        k = self.num_classes
        self.enc0 = _encoder0(info.observation_shape, c.h1_dim)
        self.enc1 = nn.Linear(c.h1_dim, k)
        self.gen1 = nn.Sequential(
            nn.Linear(k + c.z1_dim, 512), nn.BatchNorm1d(512), nn.ReLU(),
            nn.Linear(512, 512), nn.BatchNorm1d(512), nn.ReLU(),
            nn.Linear(512, c.h1_dim), nn.ReLU(),
        )
        dcgan_init(self.gen1)
        self.gen0 = _Generator0(info.observation_shape, c.h1_dim, c.z0_dim)
        mlp = nn.Sequential(nn.Linear(c.h1_dim, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU())
        dcgan_init(mlp)
        self.disc1 = _Discriminator(mlp, 256, c.z1_dim)
        body0 = GanDiscriminatorBody(info.observation_shape)
        self.disc0 = _Discriminator(body0, body0.out_dim, c.z0_dim)

    @property
    def num_codes(self) -> int:
        return self.config.h1_dim + self.config.z0_dim

    def phase_schedule(self):
        c = self.config
        return [("encoder", 0), ("independent", c.encoder_steps), ("joint", c.encoder_steps + c.independent_steps)]

    def configure_optimizers(self):
        c = self.config
        return {
            "encoder": adam([*self.enc0.parameters(), *self.enc1.parameters()], c.lr_encoder, 0.9),
            "generator": adam([*self.gen1.parameters(), *self.gen0.parameters()], c.lr_g, c.beta1),
            "discriminator": adam([*self.disc1.parameters(), *self.disc0.parameters()], c.lr_d, c.beta1),
        }

    def _gen1(self, y, z1):
        return self.gen1(torch.cat([F.one_hot(y, self.num_classes).to(z1.dtype), z1], 1))

    def training_step(self, batch, step, optimizers):
        x, y = batch["x"], batch["factors"][:, self.label_index].long()
        phase = self.phase(step)
        if phase == "encoder":
            loss = F.cross_entropy(self.enc1(self.enc0(x)), y)
            self.optimize(optimizers["encoder"], loss)
            return self.losses(encoder_loss=loss)
        c = self.config
        z1, z0 = batch["z1"], batch["z0"]
        requires_grad(self.enc0, False)
        requires_grad(self.enc1, False)
        with torch.no_grad():
            h1_real = self.enc0(x)
        h1_fake = self._gen1(y, z1)
        cond0 = h1_real if phase == "independent" else h1_fake.detach()
        x_fake = self.gen0(cond0, z0)
        # discriminators (and Q heads)
        d_terms = []
        for disc, real, fake, z in ((self.disc1, h1_real, h1_fake, z1), (self.disc0, x, x_fake, z0)):
            adv_real, _ = disc(real)
            adv_fake, q = disc(fake.detach())
            d_terms.append(c.adv_weight * 0.5 * (bce_real(adv_real) + bce_fake(adv_fake))
                           + c.ent_weight * F.mse_loss(q, z))
        d_loss = d_terms[0] + d_terms[1]
        self.optimize(optimizers["discriminator"], d_loss)
        # generators, each with its own level's loss
        with frozen(self.disc1, self.disc0):
            adv1, q1 = self.disc1(h1_fake)
            adv0, q0 = self.disc0(x_fake)
            g_adv = bce_real(adv1) + bce_real(adv0)
            g_cond = F.cross_entropy(self.enc1(h1_fake), y) + F.mse_loss(self.enc0(x_fake), cond0)
            g_ent = F.mse_loss(q1, z1) + F.mse_loss(q0, z0)
            self.optimize(optimizers["generator"], c.adv_weight * g_adv + c.cond_weight * g_cond + c.ent_weight * g_ent)
        return self.losses(d_loss=d_loss, g_loss=g_adv, cond_loss=g_cond, ent_loss=g_ent)

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``[E0(x), Q0(x)]`` float32 ``(N, h1_dim + z0_dim)``."""
        x = x.to(self.device)
        with eval_mode(self):
            return torch.cat([self.enc0(x), self.disc0(x)[1]], 1).float()

    def generate(self, n, generator):
        h1 = self._gen1(self._labels(n, generator), self._noise("z1", n, generator))
        return self.gen0(h1, self._noise("z0", n, generator))

    @torch.no_grad()
    def traverse(self, x, num_steps, generator=None):
        """One row per code of :meth:`encode`: ``h1`` dims swept over their 5-95 %
        range on 256 generated features, ``z0`` dims over [0, 1]; the base is ``encode(x[0])``
        when ``x`` is given, else drawn. ``(h1_dim + z0_dim, num_steps, C, H, W)``."""
        if generator is None:
            generator = torch.Generator().manual_seed(0)
        with eval_mode(self):
            ref = self._gen1(self._labels(256, generator), self._noise("z1", 256, generator))
            lo, hi = torch.quantile(ref, 0.05, dim=0), torch.quantile(ref, 0.95, dim=0)
            if x is not None and len(x):
                base = self.encode(x[:1])[0]
            else:
                base = torch.cat([ref[0], self._noise("z0", 1, generator)[0]])
            rows, h1_dim = [], self.config.h1_dim
            for i in range(self.num_codes):
                low, high = (float(lo[i]), float(hi[i])) if i < h1_dim else (0.0, 1.0)
                codes = linspace_traversal(base, i, low, high, num_steps)
                rows.append(self.gen0(codes[:, :h1_dim], codes[:, h1_dim:]))
        return torch.stack(rows).float()
