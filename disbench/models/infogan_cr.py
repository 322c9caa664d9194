"""InfoGAN-CR (Lin, Thekumparampil, Fanti & Oh 2020, "InfoGAN-CR and ModelCentrality:
Self-supervised Model Training and Selection for Disentangling GANs", ICML 2020): InfoGAN
with a contrastive regulariser.

The regulariser is a second discriminator ``H`` that sees a *pair* of generated images and
predicts which code the pair shares. A pair is ``G(c_a, z), G(c_b, z)``: one code index
``k ~ U{0, ..., num_codes-1}`` per pair has the same value in ``c_a`` and ``c_b``, the other
codes are drawn independently, and the noise ``z`` is the same for both images (as the
authors' ``latent.py`` ``sample_cr`` draws it with gap 0). ``H`` minimises the cross-entropy
of its ``num_codes``-way softmax against ``k``; the generator minimises the same
cross-entropy (it helps ``H``: a code changes the image in a way of its own), weighted by
``cr_weight``::

    H:     min  CE(H(G(c_a, z) ⊕ G(c_b, z)), k)
    G:     min  InfoGAN's G loss + cr_weight · CE(H(G(c_a, z) ⊕ G(c_b, z)), k)
    D, Q:  as InfoGAN

Everything else is the InfoGAN row (:mod:`disbench.models.infogan`, spectral norm on D and
Q). Setup of the authors' dSprites code (``InfoGAN-CR_dSprites``, commit e0537bc):

* ``H`` is a network of its own (``network.py``, ``CrDiscriminator``): the two images
  stacked on the channel axis, the conv body of D (convs 32-32-64-64 4×4 stride 2, fc 128,
  LeakyReLU 0.2, spectral norm on each of these layers) and a linear layer to
  ``num_codes`` logits *without* spectral norm; Adam lr 2e-3, β1 0.5.
* Progressive training (``config.py``): the regulariser is off for the first 288,000 of
  322,560 steps and weighs 2.0 after (``cr_start_step``, ``cr_weight``). The code re-creates
  ``H`` and its optimiser state at that step (it also trains ``H`` before, to no effect on
  the result); here ``H`` is trained from that step on, from its initial weights. With the
  same seed the run is therefore the ``infogan`` run (same initialisation, same batches)
  until ``cr_start_step`` — the authors' "InfoGAN (modified)" Table 1 row is likewise the
  checkpoint of these runs at step 287,999.
* In the regularised phase each generator update recomputes the pair (two generator
  passes, each with its own batch-norm statistics, as the code builds the decoder twice),
  and ``H`` updates once per step, before D.

Representation: ``encode(x)`` = Q's code means on real images (``num_codes``-d).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from disbench.errors import InvalidInputError
from disbench.models import register
from disbench.models.config import param
from disbench.models.gan_common import adam, eval_mode, frozen
from disbench.models.infogan import InfoGAN, InfoGANConfig
from disbench.models.nets import GanDiscriminatorBody, dcgan_init, spectral_norm_layers


@dataclass(frozen=True)
class InfoGANCRConfig(InfoGANConfig):
    """Hyper-parameters of :class:`InfoGANCR`: :class:`~disbench.models.infogan.InfoGANConfig`'s
    and the regulariser's; defaults: the authors' dSprites code (``config.py``)."""

    cr_weight: float = param(2.0, "weight of the contrastive regulariser in G's loss once it is on "
                                  "(cr_coe_increase)")
    cr_start_step: int = param(0, "first step with the regulariser, 0-based (the authors' dSprites run: "
                                  "288,000 of 322,560); must be below the run's steps")
    lr_cr: float = param(2e-3, "Adam learning rate of the contrastive discriminator H (β1 = beta1)")

    def __post_init__(self):
        if self.cr_start_step < 0:
            raise InvalidInputError(f"cr_start_step must be >= 0, got {self.cr_start_step}")


class ContrastiveDiscriminator(nn.Module):
    """``H``: a pair of images float32 ``(N, C, H, W)`` each -> ``(N, num_codes)`` logits of
    which code the pair shares (the body on the channel-stacked pair, then a linear layer)."""

    def __init__(self, observation_shape, num_codes: int, spectral_norm: bool):
        super().__init__()
        c, h, w = observation_shape
        self.body = GanDiscriminatorBody((2 * c, h, w))
        self.head = nn.Linear(self.body.out_dim, num_codes)
        dcgan_init(self.head)
        if spectral_norm:
            spectral_norm_layers(self.body)  # the code's last layer has none

    def forward(self, x_a: torch.Tensor, x_b: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(torch.cat([x_a, x_b], 1)))


@register
class InfoGANCR(InfoGAN):
    """InfoGAN with the contrastive regulariser (see the module docstring).
    Hyper-parameters: :class:`InfoGANCRConfig`.

    Raises:
        InvalidInputError: ``cr_start_step`` not below the run's number of steps.
    """

    name = "infogan_cr"
    representation = "Q's code means on real images (num_codes-d, 5 on dSprites)"
    loss_keys = ("d_loss", "g_loss", "info_loss", "cr_loss")
    config_class = InfoGANCRConfig

    def __init__(self, info, total_steps, config: InfoGANCRConfig | None = None):
        super().__init__(info, total_steps, config)
        c = self.config
        if c.cr_start_step >= self.total_steps:
            raise InvalidInputError(
                f"cr_start_step={c.cr_start_step} must be below steps={total_steps}; change the preset"
            )
        self.cr_net = ContrastiveDiscriminator(info.observation_shape, c.num_codes, c.spectral_norm)

    def phase_schedule(self):
        start = self.config.cr_start_step
        return [("gan", 0), ("cr", start)] if start else [("cr", 0)]

    def configure_optimizers(self):
        c = self.config
        return {**super().configure_optimizers(), "cr": adam(list(self.cr_net.parameters()), c.lr_cr, c.beta1)}

    def next_batch(self, dataset, batch_size, rng, step):
        """InfoGAN's batch; in the regularised phase also the pairs: ``"cr_k"`` int64 ``(B,)``
        (the shared code), ``"cr_c_a"``, ``"cr_c_b"`` float32 ``(B, num_codes)`` and
        ``"cr_z"`` float32 ``(B, noise_dim)`` (drawn after InfoGAN's noise, and only in that
        phase, so the first phase draws exactly the batches of the ``infogan`` row)."""
        batch = super().next_batch(dataset, batch_size, rng, step)
        if self.phase(step) == "cr":
            n_codes, noise_dim = self.config.num_codes, self.config.noise_dim
            k = rng.integers(0, n_codes, size=batch_size)
            c_a = rng.uniform(-1.0, 1.0, size=(batch_size, n_codes))
            c_b = rng.uniform(-1.0, 1.0, size=(batch_size, n_codes))
            rows = np.arange(batch_size)
            c_b[rows, k] = c_a[rows, k]
            batch.update(cr_k=k.astype(np.int64), cr_c_a=c_a.astype(np.float32), cr_c_b=c_b.astype(np.float32),
                         cr_z=rng.uniform(-1.0, 1.0, size=(batch_size, noise_dim)).astype(np.float32))
        return batch

    def pair_images(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch's pairs ``G(c_a, z), G(c_b, z)``, generated now (two generator passes,
        each with its own batch-norm statistics)."""
        z = batch["cr_z"]
        return self.net_g(torch.cat([batch["cr_c_a"], z], 1)), self.net_g(torch.cat([batch["cr_c_b"], z], 1))

    def training_step(self, batch, step, optimizers):
        if self.phase(step) == "cr":  # H's update on the current generator's pairs
            with torch.no_grad():
                x_a, x_b = self.pair_images(batch)
            self.optimize(optimizers["cr"], F.cross_entropy(self.cr_net(x_a, x_b), batch["cr_k"].long()))
        # H is fixed during InfoGAN's D and G updates (eval mode: no further power iteration)
        with frozen(self.cr_net), eval_mode(self.cr_net):
            return super().training_step(batch, step, optimizers)

    def generator_loss(self, batch, gen_in, c):
        """InfoGAN's G objective, plus ``cr_weight · CE(H(pair), k)`` in the regularised phase
        (logged unweighted as ``cr_loss``)."""
        loss, terms = super().generator_loss(batch, gen_in, c)
        if "cr_k" in batch:
            cr = F.cross_entropy(self.cr_net(*self.pair_images(batch)), batch["cr_k"].long())
            loss = loss + self.config.cr_weight * cr
            terms["cr_loss"] = cr
        return loss, terms

