"""DCGAN (Radford, Metz, Chintala 2016, ICLR, "Unsupervised Representation Learning with Deep
Convolutional Generative Adversarial Networks").

The standard GAN objective in its non-saturating form (Goodfellow et al. 2014, Sec. 3: G
maximises log D(G(z)) instead of minimising log(1 − D(G(z)))), which DCGAN trains, with
D(x) = sigmoid(ℓ(x)) for D's logit ℓ::

    D:  min  −E_x[log D(x)] − E_z[log(1 − D(G(z)))]
    G:  min  −E_z[log D(G(z))]

The architecture guidelines of Radford et al. 2016, Sec. 3, on the shared GAN blocks of
:mod:`disbench.models.nets` (those of the LSGAN row, so the two rows differ in the objective
and in DCGAN's normalisation/activation rules only):

- strided convolutions in D and fractionally-strided (transposed) convolutions in G, no pooling
  (4×4, stride 2; D convs 32-32-64-64, G deconvs 64-32-32-C);
- batch norm in G and D except G's output layer and D's input layer (``GanDiscriminatorBody``
  with ``norm="batch"``: BN after D's convs 2-4 and its fc layer);
- ReLU in G (``GanGenerator`` with ``activation="relu"``), LeakyReLU 0.2 in D;
- weights ~ N(0, 0.02²) (``dcgan_init``), Adam lr 2e-4, β1 0.5 (Sec. 4).

Deviations, each for comparability with the other GAN rows: G's output is a sigmoid (images in
[0, 1]) rather than tanh (images in [−1, 1]) — the same map up to an affine rescaling; the
shared blocks keep their fc 128 layers (G: fc 128 → fc 4·4·64 before the deconvs; D: fc 128
before the logit), where the paper's guideline is to remove fully connected hidden layers;
``z ~ U(−1, 1)^z_dim`` with z_dim = 10 (the paper: 100) so that the representation has as many
dimensions as the other dSprites rows.

Representation: DCGAN has no encoder; as LSGAN, a post-hoc encoder ``E(x) ≈ z``
(:mod:`disbench.models.posthoc`) is trained on generated pairs in the last ``posthoc_steps``
steps, and ``encode`` = ``E`` on real images (``z_dim``-d).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from disbench.models import register
from disbench.models.config import param
from disbench.models.gan_common import GanConfig, bce_fake, bce_real
from disbench.models.lsgan import LSGAN
from disbench.models.nets import GanDiscriminatorBody, GanGenerator, dcgan_init
from disbench.models.posthoc import POSTHOC_STEPS


@dataclass(frozen=True)
class DCGANConfig(GanConfig):
    """Hyper-parameters of :class:`DCGAN` (``[profiles.<p>.model]``)."""

    z_dim: int = param(10, "noise dims z ~ U(-1, 1) (Radford et al. 2016: 100; 10 as the other dSprites rows)")
    lr_g: float = param(2e-4, "Adam learning rate of G (Radford et al. 2016, Sec. 4: 0.0002)")
    lr_d: float = param(2e-4, "Adam learning rate of D (Radford et al. 2016, Sec. 4: 0.0002)")
    beta1: float = param(0.5, "Adam β1 (Radford et al. 2016, Sec. 4: 0.5; β2 = 0.999)")
    posthoc_steps: int = param(POSTHOC_STEPS, "length of the post-hoc encoder phase (the last steps of the run)")


@register
class DCGAN(LSGAN):
    """DCGAN with a post-hoc encoder (see the module docstring): LSGAN's training loop, phases,
    post-hoc encoder and sampling, with DCGAN's networks and the non-saturating loss.
    Hyper-parameters: :class:`DCGANConfig`.

    Raises:
        InvalidInputError: ``posthoc_steps`` leaves no GAN step.
    """

    name = "dcgan"
    supervision = "none"
    representation = "post-hoc encoder E(x) ≈ z regressed on generated pairs (z_dim-d, 10 on dSprites)"
    config_class = DCGANConfig

    def build_networks(self, z_dim: int, observation_shape) -> tuple[nn.Module, nn.Module]:
        """``(G, D)``: ReLU generator; discriminator with batch norm but on its input layer, 1 logit."""
        net_g = GanGenerator(z_dim, observation_shape, activation="relu")
        net_d = nn.Sequential(GanDiscriminatorBody(observation_shape, norm="batch"), nn.Linear(128, 1))
        dcgan_init(net_d)
        return net_g, net_d

    def d_loss(self, d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
        """−mean log sigmoid(ℓ(x)) − mean log(1 − sigmoid(ℓ(G(z)))) from D's logits ``(B, 1)``."""
        return bce_real(d_real) + bce_fake(d_fake)

    def g_loss(self, d_fake: torch.Tensor) -> torch.Tensor:
        """Non-saturating: −mean log sigmoid(ℓ(G(z))) from D's logits on generated images ``(B, 1)``."""
        return bce_real(d_fake)
