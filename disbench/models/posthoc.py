"""Post-hoc encoder for GANs that have no inference network of their own.

A GAN without an encoder has no representation of a real image to score. Following the
usual practice for such models (the generator inverted by regression, e.g. the encoder
trained on generated samples in Donahue et al. 2017, "Adversarial Feature Learning",
Sec. 4), disbench trains an encoder ``E(x) ≈ z`` on generated pairs ``(z, G(z))``
*after* the GAN, with the generator frozen, and scores ``E`` on real images.

To keep the GAN rows comparable the encoder is the same for every GAN — the conv encoder
of the VAE rows (:class:`~disbench.models.nets.ConvEncoder`: convs 32-32-64-64 4×4
stride 2 ReLU, fc 256 ReLU, linear output) — trained for
``posthoc_steps`` steps (the same value in every GAN preset of a profile) with Adam
(lr 1e-3, betas 0.9/0.999) on the mean squared error, one fresh batch of noise per step.
The phase is the last ``posthoc_steps`` steps of the run, chosen by step number, so a
checkpoint taken in either phase resumes like any other.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from disbench.errors import InvalidInputError
from disbench.models.gan_common import eval_mode
from disbench.models.nets import ConvEncoder

#: default length of the post-hoc phase (steps); presets state it explicitly
POSTHOC_STEPS = 300
#: Adam learning rate of the post-hoc encoder
POSTHOC_LR = 1e-3


class PosthocEncoder(ConvEncoder):
    """``E(x)``: images float32 ``(N, C, H, W)`` in [0, 1] -> float32 ``(N, out_dim)``; the
    conv encoder of the VAE rows (:class:`~disbench.models.nets.ConvEncoder`)."""


def posthoc_start(total_steps: int, posthoc_steps: int) -> int:
    """First step of the post-hoc phase (``total_steps - posthoc_steps``).

    Raises:
        InvalidInputError: the phase would not leave at least one GAN step.
    """
    posthoc_steps = int(posthoc_steps)
    if posthoc_steps < 0 or posthoc_steps >= total_steps:
        raise InvalidInputError(
            f"posthoc_steps={posthoc_steps} must be in [0, steps={total_steps}); "
            "raise steps or lower posthoc_steps in the preset"
        )
    return total_steps - posthoc_steps


def posthoc_optimizer(encoder: PosthocEncoder) -> torch.optim.Optimizer:
    """Adam(lr :data:`POSTHOC_LR`) over the encoder's parameters."""
    return torch.optim.Adam(encoder.parameters(), lr=POSTHOC_LR)


def posthoc_loss(encoder: PosthocEncoder, generator: nn.Module, target: torch.Tensor,
                 gen_input: torch.Tensor) -> torch.Tensor:
    """The regression loss ``mean((E(G(gen_input)) - target)²)`` (0-d, with gradient for
    ``E`` only: ``G`` runs frozen, in eval mode, without gradient).

    Args:
        target: float32 ``(B, out_dim)``, what ``E`` must recover (``z`` or part of it).
        gen_input: float32 ``(B, in_dim)``, the generator's full input.
    """
    with torch.no_grad(), eval_mode(generator):
        x = generator(gen_input)
    return F.mse_loss(encoder(x), target)
