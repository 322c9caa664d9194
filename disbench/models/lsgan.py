"""LSGAN (Mao et al. 2017, "Least Squares Generative Adversarial Networks", ICCV 2017).

Least-squares objectives (Eq. 2) with the a-b-c coding ``a = 0`` (label of fake data for
D), ``b = 1`` (label of real data), ``c = 1`` (the value G wants D to believe for fake
data) — the "0-1 binary coding" of Sec. 3.2.3, Eq. 9::

    D:  min  ½ E_x[(D(x) - b)²] + ½ E_z[(D(G(z)) - a)²]
    G:  min  ½ E_z[(D(G(z)) - c)²]

``D`` outputs one unbounded scalar (no sigmoid). Architecture: DCGAN-style conv G and D
(Radford et al. 2016) — the same blocks as the InfoGAN row (G fc 128 → fc 4·4·64 → deconvs
64-32-32-C with BatchNorm and a sigmoid output; D conv 32-32-64-64 4×4 stride 2 LeakyReLU
→ fc 128 → 1) so the GAN rows differ only in their objectives. ``z ~ U(-1, 1)^z_dim`` and
Adam lr 2e-4, β1 0.5, the DCGAN settings (Radford et al. 2016, Sec. 4) that LSGAN builds on.
``spectral_norm = true`` (not in the paper; the quick profile) puts spectral normalisation
(Miyato et al. 2018, torch's parametrisation: one power iteration per D forward pass in
training mode) on every layer of D, as the InfoGAN row has it: the quick profile borrows the
InfoGAN-CR optimiser (G 1e-3 / D 2e-3), which was tuned with it.

Representation: LSGAN has no encoder, so a post-hoc encoder ``E(x) ≈ z``
(:mod:`disbench.models.posthoc`) is trained on generated pairs in the last
``posthoc_steps`` steps; ``encode`` = ``E`` on real images (``z_dim``-d).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from disbench.models import register
from disbench.models.config import param
from disbench.models.gan_common import (
    GanBaseline,
    GanConfig,
    adam,
    eval_mode,
    frozen,
    linspace_traversal,
)
from disbench.models.nets import GanDiscriminatorBody, GanGenerator, dcgan_init, spectral_norm_layers
from disbench.models.posthoc import (
    POSTHOC_STEPS,
    PosthocEncoder,
    posthoc_loss,
    posthoc_optimizer,
    posthoc_start,
)


@dataclass(frozen=True)
class LSGANConfig(GanConfig):
    """Hyper-parameters of :class:`LSGAN` (``[profiles.<p>.model]``)."""

    z_dim: int = param(10, "noise dims z ~ U(-1, 1) (as many latents as the other dSprites rows)")
    a: float = param(0.0, "a, D's target for fake data (Eq. 2; 0-1 coding, Eq. 9)")
    b: float = param(1.0, "b, D's target for real data (Eq. 2)")
    c: float = param(1.0, "c, the value G wants D to output on fake data (Eq. 2)")
    lr_g: float = param(2e-4, "Adam learning rate of G (DCGAN setting)")
    lr_d: float = param(2e-4, "Adam learning rate of D")
    beta1: float = param(0.5, "Adam β1 (β2 = 0.999)")
    posthoc_steps: int = param(POSTHOC_STEPS, "length of the post-hoc encoder phase (the last steps of the run)")
    spectral_norm: bool = param(False, "spectral norm (Miyato et al. 2018) on every layer of D (not in the paper; "
                                       "the quick profile's InfoGAN-CR optimiser was tuned with it)")


@register
class LSGAN(GanBaseline):
    """Least-squares GAN with a post-hoc encoder (see the module docstring).
    Hyper-parameters: :class:`LSGANConfig`.

    Raises:
        InvalidInputError: ``posthoc_steps`` leaves no GAN step.
    """

    name = "lsgan"
    supervision = "none"
    representation = "post-hoc encoder E(x) ≈ z regressed on generated pairs (z_dim-d, 10 on dSprites)"
    loss_keys = ("d_loss", "g_loss", "posthoc_loss")
    config_class = LSGANConfig

    def __init__(self, info, total_steps, config: LSGANConfig | None = None):
        super().__init__(info, total_steps, config)
        z_dim = self.config.z_dim
        self.posthoc_from = posthoc_start(self.total_steps, self.config.posthoc_steps)
        self.noise_spec = {"z": (z_dim, -1.0, 1.0)}
        self.net_g = GanGenerator(z_dim, info.observation_shape)
        self.net_d = nn.Sequential(GanDiscriminatorBody(info.observation_shape), nn.Linear(128, 1))
        dcgan_init(self.net_d)
        if self.config.spectral_norm:
            spectral_norm_layers(self.net_d)
        self.posthoc = PosthocEncoder(info.observation_shape, z_dim)

    @property
    def num_codes(self) -> int:
        return self.config.z_dim

    def phase_schedule(self):
        return [("gan", 0), ("posthoc", self.posthoc_from)]

    def needs_real_data(self, step):
        return self.phase(step) == "gan"

    def configure_optimizers(self):
        c = self.config
        return {
            "generator": adam(list(self.net_g.parameters()), c.lr_g, c.beta1),
            "discriminator": adam(list(self.net_d.parameters()), c.lr_d, c.beta1),
            "posthoc": posthoc_optimizer(self.posthoc),
        }

    def training_step(self, batch, step, optimizers):
        z = batch["z"]
        if self.phase(step) == "posthoc":
            loss = posthoc_loss(self.posthoc, self.net_g, z, z)
            self.optimize(optimizers["posthoc"], loss)
            return self.losses(posthoc_loss=loss)
        cfg = self.config
        x_fake = self.net_g(z)
        d_loss = 0.5 * ((self.net_d(batch["x"]) - cfg.b) ** 2).mean() \
            + 0.5 * ((self.net_d(x_fake.detach()) - cfg.a) ** 2).mean()
        self.optimize(optimizers["discriminator"], d_loss)
        with frozen(self.net_d):
            g_loss = 0.5 * ((self.net_d(x_fake) - cfg.c) ** 2).mean()
            self.optimize(optimizers["generator"], g_loss)
        return self.losses(d_loss=d_loss, g_loss=g_loss)

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Post-hoc encoder's estimate of z, float32 ``(N, z_dim)``."""
        with eval_mode(self):
            return self.posthoc(x.to(self.device)).float()

    def generate(self, n, generator):
        return self.net_g(self._noise("z", n, generator))

    @torch.no_grad()
    def traverse(self, x, num_steps, generator=None):
        """Each noise dim swept over [-1, 1], the others fixed (at E(x[0]) clipped to
        [-1, 1] when ``x`` is given, else drawn): ``(z_dim, num_steps, C, H, W)``."""
        if generator is None:
            generator = torch.Generator().manual_seed(0)
        z = self._noise("z", 1, generator)[0]
        if x is not None and len(x):
            z = self.encode(x[:1])[0].clamp(-1, 1)
        with eval_mode(self):
            rows = [self.net_g(linspace_traversal(z, i, -1.0, 1.0, num_steps)) for i in range(self.config.z_dim)]
        return torch.stack(rows).float()
