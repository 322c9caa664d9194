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
3. ``joint`` (the remaining steps): ``G0`` conditioned on ``G1``'s output ``ĥ1`` (Sec. 3.4:
   after independent training, "the whole model end-to-end"). ``G0`` is updated with
   ``L_G_0``; ``G1`` with ``L_G_1 + joint_lower_weight · L_G_0``, the lower level's loss
   reaching ``G1`` through ``ĥ1`` (in ``G0``'s input and in ``L_cond_0``'s target). The
   authors' CIFAR code uses 0.01 (``cifar/train_joint.py``: ``loss_gen1 + 0.01 *
   loss_gen0``), the ``paper`` profile's value; their MNIST code updates ``G1`` with
   ``loss_gen1`` only (``mnist/train_joint.py``), which is ``joint_lower_weight = 0``.

Architecture for 64×64 dSprites (the official MNIST nets are for 28×28): E0 is the conv
encoder of the VAE rows (conv 32-32-64-64 4×4 stride 2 ReLU → fc 256 ReLU → fc ``h1_dim``)
with a ReLU on ``h1``; G1 fc 512-512 (BN, ReLU) → ``h1_dim``
ReLU as in the official G1; G0 embeds ``z0`` by fc 128 (BN, ReLU), concatenates ``h1`` and
runs the GAN generator of the other rows (fc 128 → fc 4·4·64 → deconvs 64-32-32-C,
sigmoid); D1 fc 256-256 ReLU as in the official D1; D0 is the conv body of the other rows.

Representation: SGAN's own latents inverted, as the ACGAN row scores its class code and
the noise: ``encode(x) = [E1(E0(x)), Q1(E0(x)), Q0(x)]`` — the class logits of the
encoder's top (K; logits rather than the softmax posterior, whose K probabilities sum to
one and so split one factor over K redundant codes), ``Q1``'s estimate of ``z1`` from the
features of ``x``, and ``Q0``'s estimate of ``z0`` from ``x``: ``K + z1_dim + z0_dim``
dims. (The encoder features ``E0(x)`` themselves are not scored: they come from a
supervised classifier that GAN training never updates.) Supervision: factor labels.
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
    joint_lower_weight: float = param(0.01, "weight of L_G0 in G1's joint-phase update (the authors' "
                                            "cifar/train_joint.py: 0.01; their MNIST script: 0, ĥ1 a constant)")


@register
class StackedGAN(GanBaseline):
    """Two-level Stacked GAN (see the module docstring). Hyper-parameters: :class:`StackedGANConfig`.

    Raises:
        InvalidInputError: the phases leave no joint step; unknown ``label_factor``.
    """

    name = "sgan"
    supervision = "factor labels"
    representation = "class logits E1(E0(x)) (K) ⊕ Q1's estimate of z1 from E0(x) ⊕ Q0's estimate of z0 from x"
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
        return self.num_classes + self.config.z1_dim + self.config.z0_dim

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
        cond0 = h1_real if phase == "independent" else scale_gradient(h1_fake, c.joint_lower_weight)
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
        # generators: each level's loss; in the joint phase G1 also gets joint_lower_weight · L_G_0
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
        """``[E1(E0(x)) logits, Q1(E0(x)), Q0(x)]`` float32 ``(N, K + z1_dim + z0_dim)``."""
        x = x.to(self.device)
        with eval_mode(self):
            h1 = self.enc0(x)
            return torch.cat([self.enc1(h1), self.disc1(h1)[1], self.disc0(x)[1]], 1).float()

    def generate(self, n, generator):
        h1 = self._gen1(self._labels(n, generator), self._noise("z1", n, generator))
        return self.gen0(h1, self._noise("z0", n, generator))

    @torch.no_grad()
    def traverse(self, x, num_steps, generator=None):
        """One row per code of :meth:`encode`: class rows k interpolate ``G1``'s one-hot input
        from the base class to class k; ``z1`` and ``z0`` rows sweep one dim over [0, 1]. The
        base is (argmax class, ``Q1`` and ``Q0`` estimates clipped to [0, 1]) of ``x[0]`` when
        given, else drawn. ``(K + z1_dim + z0_dim, num_steps, C, H, W)``."""
        if generator is None:
            generator = torch.Generator().manual_seed(0)
        k = self.num_classes
        y, z1, z0 = self._labels(1, generator), self._noise("z1", 1, generator), self._noise("z0", 1, generator)
        if x is not None and len(x):
            codes = self.encode(x[:1])
            y = codes[:, :k].argmax(1)
            z1, z0 = codes[:, k:k + self.config.z1_dim].clamp(0, 1), codes[:, k + self.config.z1_dim:].clamp(0, 1)
        base = torch.cat([F.one_hot(y, k).to(z1.dtype), z1, z0], 1)[0]
        t = torch.linspace(0, 1, num_steps, device=self.device)[:, None]
        rows = []
        with eval_mode(self):
            for i in range(self.num_codes):
                codes = base.repeat(num_steps, 1)
                if i < k:
                    target = F.one_hot(torch.tensor(i, device=self.device), k).to(codes.dtype)
                    codes[:, :k] = (1 - t) * codes[:, :k] + t * target
                else:
                    codes = linspace_traversal(base, i, 0.0, 1.0, num_steps)
                h1 = self.gen1(codes[:, : k + self.config.z1_dim])
                rows.append(self.gen0(h1, codes[:, k + self.config.z1_dim:]))
        return torch.stack(rows).float()


def scale_gradient(t: torch.Tensor, weight: float) -> torch.Tensor:
    """``t`` in the forward pass; its gradient times ``weight`` in the backward pass
    (``weight`` 0: ``t`` detached)."""
    if weight == 0.0:
        return t.detach()
    return t.detach() + weight * (t - t.detach())
