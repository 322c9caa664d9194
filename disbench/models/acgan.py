"""ACGAN (Odena, Olah, Shlens 2017, "Conditional Image Synthesis with Auxiliary Classifier
GANs", ICML 2017).

The generator ``G(z, y)`` gets noise ``z ~ U(-1, 1)^z_dim`` and a class label ``y`` of one
discrete ground-truth factor (``label_factor``, "shape" on dSprites), one-hot encoded and
concatenated to ``z`` (Sec. 3). The discriminator has one conv body and two heads: a
real/fake logit giving ``P(S | X)`` and one softmax over the ``K`` classes giving
``P(C | X)`` (a single K-way softmax; no extra "fake" class). With the paper's objectives
(Sec. 3, Eqs. 2-3)::

    L_S = E[log P(S=real | X_real)] + E[log P(S=fake | X_fake)]
    L_C = E[log P(C=c | X_real)]    + E[log P(C=c | X_fake)]

D maximises ``L_S + L_C``; G maximises ``L_C - L_S``. ``generator_loss = "minimax"`` uses
``-L_S`` literally; the default ``"non_saturating"`` replaces G's ``-E[log P(S=fake |
X_fake)]`` by ``E[log P(S=real | X_fake)]`` (Goodfellow et al. 2014, Sec. 3), the form the
reference implementations train with. Fake labels are drawn uniformly over the classes.

Architecture: the conv blocks of the other GAN rows (G fc 128 → fc 4·4·64 → deconvs
64-32-32-C, BatchNorm, sigmoid; D conv 32-32-64-64 4×4 stride 2 LeakyReLU → fc 128) and
Adam lr 2e-4, β1 0.5 (the paper's Appendix uses Adam with lr 0.0002 and β1 0.5).
``spectral_norm = true`` (not in the paper; the quick profile) puts spectral normalisation
(Miyato et al. 2018; one power iteration per forward pass in training mode) on every layer of
D's body, source head and class head, as the InfoGAN row has it: the quick profile borrows the
InfoGAN-CR optimiser (G 1e-3 / D 2e-3), which was tuned with it.

Representation: the auxiliary classifier's class logits (K; the softmax's input: the
posterior ``P(C | x)`` up to a per-image constant, without its sum-to-one constraint,
which would split the class factor over K redundant codes and cut MIG's gap between the
top two) concatenated with a post-hoc encoder's estimate of ``z``
(:mod:`disbench.models.posthoc`, trained on generated pairs ``(z, G(z, y))`` in the last
``posthoc_steps`` steps): ``K + z_dim`` dims.
Supervision: factor labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from disbench.models import register
from disbench.models.config import check_choice, param
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
from disbench.models.posthoc import (
    POSTHOC_STEPS,
    PosthocEncoder,
    posthoc_loss,
    posthoc_optimizer,
    posthoc_start,
)

GENERATOR_LOSSES = ("non_saturating", "minimax")


@dataclass(frozen=True)
class ACGANConfig(GanConfig):
    """Hyper-parameters of :class:`ACGAN` (``[profiles.<p>.model]``); ``label_factor`` is the
    conditioning factor."""

    z_dim: int = param(10, "noise dims z ~ U(-1, 1)")
    lr_g: float = param(2e-4, "Adam learning rate of G (the paper's appendix: 0.0002)")
    lr_d: float = param(2e-4, "Adam learning rate of D")
    beta1: float = param(0.5, "Adam β1 (β2 = 0.999)")
    generator_loss: str = param("non_saturating", '"non_saturating" (Goodfellow et al. 2014, Sec. 3) or '
                                                   '"minimax" (-L_S of Sec. 3 literally)')
    posthoc_steps: int = param(POSTHOC_STEPS, "length of the post-hoc encoder phase (the last steps of the run)")
    spectral_norm: bool = param(False, "spectral norm (Miyato et al. 2018) on every layer of D's body and heads "
                                       "(not in the paper; the quick profile's InfoGAN-CR optimiser was tuned with it)")

    def __post_init__(self):
        check_choice("generator_loss", self.generator_loss, GENERATOR_LOSSES)


@register
class ACGAN(GanBaseline):
    """Auxiliary-classifier GAN conditioned on one ground-truth factor (module docstring).
    Hyper-parameters: :class:`ACGANConfig`.

    Raises:
        InvalidInputError: unknown ``label_factor``; ``posthoc_steps`` leaves no GAN step.
    """

    name = "acgan"
    supervision = "factor labels"
    representation = "auxiliary class logits (K) ⊕ post-hoc encoder of z (z_dim): 13-d on dSprites"
    loss_keys = ("d_loss", "g_loss", "class_loss", "posthoc_loss")
    config_class = ACGANConfig

    def __init__(self, info, total_steps, config: ACGANConfig | None = None):
        super().__init__(info, total_steps, config)
        z_dim = self.config.z_dim
        self.posthoc_from = posthoc_start(self.total_steps, self.config.posthoc_steps)
        self.noise_spec = {"z": (z_dim, -1.0, 1.0)}
        self.net_g = GanGenerator(z_dim + self.num_classes, info.observation_shape)
        self.body = GanDiscriminatorBody(info.observation_shape)
        self.source_head = nn.Linear(self.body.out_dim, 1)
        self.class_head = nn.Linear(self.body.out_dim, self.num_classes)
        dcgan_init(self.source_head)
        dcgan_init(self.class_head)
        if self.config.spectral_norm:
            for m in self.discriminator_modules():
                spectral_norm_layers(m)
        self.posthoc = PosthocEncoder(info.observation_shape, z_dim)

    @property
    def num_codes(self) -> int:
        return self.num_classes + self.config.z_dim

    def phase_schedule(self):
        return [("gan", 0), ("posthoc", self.posthoc_from)]

    def needs_real_data(self, step):
        return self.phase(step) == "gan"

    def next_batch(self, dataset, batch_size, rng, step):
        """Adds ``"y_fake"``: int64 ``(B,)`` uniform class labels for the generator."""
        batch = super().next_batch(dataset, batch_size, rng, step)
        batch["y_fake"] = rng.integers(0, self.num_classes, size=batch_size, dtype=np.int64)
        return batch

    def discriminator_modules(self):
        return [self.body, self.source_head, self.class_head]

    def configure_optimizers(self):
        c = self.config
        d_params = [p for m in self.discriminator_modules() for p in m.parameters()]
        return {
            "generator": adam(list(self.net_g.parameters()), c.lr_g, c.beta1),
            "discriminator": adam(d_params, c.lr_d, c.beta1),
            "posthoc": posthoc_optimizer(self.posthoc),
        }

    def gen_input(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``[z, one_hot(y)]`` float32 ``(B, z_dim + K)``."""
        return torch.cat([z, F.one_hot(y.long(), self.num_classes).to(z.dtype)], 1)

    def training_step(self, batch, step, optimizers):
        z, y_fake = batch["z"], batch["y_fake"].long()
        if self.phase(step) == "posthoc":
            loss = posthoc_loss(self.posthoc, self.net_g, z, self.gen_input(z, y_fake))
            self.optimize(optimizers["posthoc"], loss)
            return self.losses(posthoc_loss=loss)
        x, y_real = batch["x"], batch["factors"][:, self.label_index].long()
        x_fake = self.net_g(self.gen_input(z, y_fake))
        # D maximises L_S + L_C  <=>  minimises the two cross-entropies
        h_real, h_fake = self.body(x), self.body(x_fake.detach())
        d_source = bce_real(self.source_head(h_real)) + bce_fake(self.source_head(h_fake))
        d_class = F.cross_entropy(self.class_head(h_real), y_real) + F.cross_entropy(self.class_head(h_fake), y_fake)
        self.optimize(optimizers["discriminator"], d_source + d_class)
        # G maximises L_C - L_S
        with frozen(*self.discriminator_modules()):
            h = self.body(x_fake)
            logit = self.source_head(h)
            g_source = bce_real(logit) if self.config.generator_loss == "non_saturating" else -bce_fake(logit)
            g_class = F.cross_entropy(self.class_head(h), y_fake)
            self.optimize(optimizers["generator"], g_source + g_class)
        return self.losses(d_loss=d_source, g_loss=g_source, class_loss=d_class)

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``[class logits of P(C | x), E(x)]`` float32 ``(N, K + z_dim)``."""
        x = x.to(self.device)
        with eval_mode(self):
            return torch.cat([self.class_head(self.body(x)), self.posthoc(x)], 1).float()

    def generate(self, n, generator):
        z = self._noise("z", n, generator)
        return self.net_g(self.gen_input(z, self._labels(n, generator)))

    @torch.no_grad()
    def traverse(self, x, num_steps, generator=None):
        """One row per code: class rows k interpolate the one-hot label from the base
        class to class k; noise rows sweep one z dim over [-1, 1]. The base is (argmax
        class logit, E(x[0]) clipped) when ``x`` is given, else drawn. ``(K + z_dim,
        num_steps, C, H, W)``."""
        if generator is None:
            generator = torch.Generator().manual_seed(0)
        z, y = self._noise("z", 1, generator)[0], self._labels(1, generator)
        if x is not None and len(x):
            codes = self.encode(x[:1])[0]
            y = codes[: self.num_classes].argmax().view(1)
            z = codes[self.num_classes:].clamp(-1, 1)
        base = self.gen_input(z.view(1, -1), y)[0]
        t = torch.linspace(0, 1, num_steps, device=self.device)[:, None]
        rows = []
        with eval_mode(self):
            for k in range(self.num_classes):
                inp = base.repeat(num_steps, 1)
                target = F.one_hot(torch.tensor(k, device=self.device), self.num_classes).to(inp.dtype)
                inp[:, self.config.z_dim:] = (1 - t) * inp[:, self.config.z_dim:] + t * target
                rows.append(self.net_g(inp))
            for i in range(self.config.z_dim):
                rows.append(self.net_g(linspace_traversal(base, i, -1.0, 1.0, num_steps)))
        return torch.stack(rows).float()
