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

Representation: LSGAN has no encoder, so a post-hoc encoder ``E(x) ≈ z``
(:mod:`disbench.models.posthoc`) is trained on generated pairs in the last
``posthoc_steps`` steps; ``encode`` = ``E`` on real images (``z_dim``-d).
"""

from __future__ import annotations

import torch
from torch import nn

from disbench.models import register
from disbench.models.gan_common import (
    GanBaseline,
    adam,
    eval_mode,
    frozen,
    linspace_traversal,
)
from disbench.models.nets import GanDiscriminatorBody, GanGenerator, dcgan_init
from disbench.models.posthoc import (
    POSTHOC_STEPS,
    PosthocEncoder,
    posthoc_optimizer,
    posthoc_start,
    posthoc_step,
)


@register
class LSGAN(GanBaseline):
    """Least-squares GAN with a post-hoc encoder (see the module docstring).

    Hyperparameters (``[profiles.<p>.model]``):
        z_dim: noise dims (10, as many latents as the other dSprites rows).
        a, b, c: the least-squares targets (0, 1, 1).
        lr_g, lr_d, beta1: Adam settings (2e-4, 2e-4, 0.5).
        posthoc_steps: length of the post-hoc encoder phase (the last steps of the run).
        monitor_every, label_factor: see :class:`GanBaseline`.
    """

    name = "lsgan"
    supervision = "none"
    representation = "post-hoc encoder E(x) ≈ z regressed on generated pairs (z_dim-d, 10 on dSprites)"
    loss_keys = ("d_loss", "g_loss", "posthoc_loss")

    def __init__(self, info, total_steps, *, z_dim: int = 10, a: float = 0.0, b: float = 1.0, c: float = 1.0,
                 lr_g: float = 2e-4, lr_d: float = 2e-4, beta1: float = 0.5, posthoc_steps: int = POSTHOC_STEPS,
                 **common):
        super().__init__(info, total_steps, z_dim=z_dim, a=a, b=b, c=c, lr_g=lr_g, lr_d=lr_d, beta1=beta1,
                         posthoc_steps=posthoc_steps, **common)
        self.z_dim = int(z_dim)
        self.a, self.b, self.c = float(a), float(b), float(c)
        self.posthoc_from = posthoc_start(self.total_steps, posthoc_steps)
        self.noise_spec = {"z": (self.z_dim, -1.0, 1.0)}
        self.net_g = GanGenerator(self.z_dim, info.observation_shape)
        self.net_d = nn.Sequential(GanDiscriminatorBody(info.observation_shape), nn.Linear(128, 1))
        dcgan_init(self.net_d)
        self.posthoc = PosthocEncoder(info.observation_shape, self.z_dim)

    @property
    def num_codes(self) -> int:
        return self.z_dim

    def phase_schedule(self):
        return [("gan", 0), ("posthoc", self.posthoc_from)]

    def needs_real_data(self, step):
        return self.phase(step) == "gan"

    def configure_optimizers(self):
        h = self.hparams
        return {
            "generator": adam(list(self.net_g.parameters()), h["lr_g"], h["beta1"]),
            "discriminator": adam(list(self.net_d.parameters()), h["lr_d"], h["beta1"]),
            "posthoc": posthoc_optimizer(self.posthoc),
        }

    def training_step(self, batch, step, optimizers):
        z = batch["z"]
        if self.phase(step) == "posthoc":
            loss = posthoc_step(self.posthoc, optimizers["posthoc"], self.net_g, z, z)
            return self.losses(step, posthoc_loss=loss)
        x_fake = self.net_g(z)
        d_loss = 0.5 * ((self.net_d(batch["x"]) - self.b) ** 2).mean() \
            + 0.5 * ((self.net_d(x_fake.detach()) - self.a) ** 2).mean()
        optimizers["discriminator"].zero_grad(set_to_none=True)
        d_loss.backward()
        optimizers["discriminator"].step()
        with frozen(self.net_d):
            g_loss = 0.5 * ((self.net_d(x_fake) - self.c) ** 2).mean()
            optimizers["generator"].zero_grad(set_to_none=True)
            g_loss.backward()
            optimizers["generator"].step()
        return self.losses(step, d_loss=d_loss.detach(), g_loss=g_loss.detach())

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
            rows = [self.net_g(linspace_traversal(z, i, -1.0, 1.0, num_steps)) for i in range(self.z_dim)]
        return torch.stack(rows).float()
