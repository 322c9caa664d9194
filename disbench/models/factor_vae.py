"""FactorVAE (Kim & Mnih 2018, ICML, "Disentangling by Factorising").

Objective (Kim & Mnih 2018, Eq. 2), minimised per batch by the VAE::

    loss = E_q[-log p(x|z)] + KL(q(z|x) || N(0, I)) + γ · TC(z)

where the total correlation TC(z) = KL(q(z) || Π_j q(z_j)) is estimated with the density-ratio
trick (Sec. 3): a discriminator D outputs two logits (real sample of q(z), sample of Π_j q(z_j)),
and TC ≈ E_q[D_0(z) − D_1(z)] (the log-ratio of its two class probabilities). Samples of
Π_j q(z_j) come from permuting each latent dimension independently across the batch
(Algorithm 1, "permute_dims"). D minimises the cross-entropy of telling the two apart.

As disentanglement_lib (``methods/unsupervised/vae.py``, ``FactorVAE.model_fn``), which the
``study`` profile follows: D sees the *same* batch's codes, permuted (the paper's Algorithm 1
draws a second batch for the permuted samples; one batch halves the encoder passes and is what
produced the study's published numbers); D is the paper's 6 × 1000 LeakyReLU(0.2) MLP with 2
output logits (Appendix A; disentanglement_lib ``architectures.fc_discriminator``) trained by its
own Adam (lr 1e-4, β1 0.5, β2 0.9; ``shared.gin``). Both updates use the parameters before the
step (disentanglement_lib groups the two train ops): one backward over the VAE's loss and D's
loss on the detached codes of the same forward pass, then both optimisers step. D's loss reads its softmax probabilities clipped to
[1e-6, 1 − 1e-6], as ``architectures.make_discriminator`` returns them (``tf.clip_by_value``,
architectures.py line 110 at commit 76f41e39); the TC term reads the unclipped logits, as there.
With ``init = "tf_default"`` D gets TF's defaults too (its ``tf.layers.dense`` layers,
``architectures.fc_discriminator``, take no initialiser: Glorot-uniform, zero biases).

**Step count.** One disbench step is one VAE update and one discriminator update. In
disentanglement_lib both ``minimize`` calls of ``FactorVAE.model_fn`` pass
``global_step=tf.train.get_global_step()`` (``methods/unsupervised/vae.py`` lines 255-262 at
commit 76f41e39cdeff8517f7fba9d57b09f35703efca9) and are grouped into one train op, so each
training iteration increments the global step twice; ``train.py`` (line 121-123) calls
``tpu_estimator.train(steps=training_steps)``, whose stop hook counts the global step. With
``model.training_steps = 300000`` (``shared.gin``) dlib's FactorVAE therefore makes 150,000
VAE and 150,000 discriminator updates, and the ``study`` profile says ``steps = 150000``
(``tests/test_study_dlib.py`` checks both optimisers step ``steps`` times). The other methods
have one ``minimize`` (vae.py lines 55-57, ``BaseVAE.model_fn``): 300,000 updates.

Representation (``encode``): the posterior mean μ(x).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from disbench.models import register
from disbench.models.base import build_optimizer
from disbench.models.beta_vae import BetaVAE, VAETrainingConfig, at_least_float32
from disbench.models.config import param
from disbench.models.nets import apply_init


@dataclass(frozen=True)
class FactorVAEConfig(VAETrainingConfig):
    """Hyper-parameters of :class:`FactorVAE` (preset ``[profiles.<p>.model]``)."""

    num_latents: int = param(10, "d, latent dimensions (disentanglement_lib shared.gin: 10)")
    gamma: float = param(10.0, "γ, weight of the total-correlation term (Kim & Mnih 2018, Eq. 2); dimensionless")
    disc_layers: int = param(6, "hidden layers of the discriminator D (Kim & Mnih 2018, Appendix A: 6)")
    disc_hidden: int = param(1000, "units per hidden layer of D (Appendix A: 1000)")
    disc_lr: float = param(1e-4, "D's Adam learning rate (disentanglement_lib shared.gin: 1e-4)")
    disc_betas: tuple[float, float] = param((0.5, 0.9), "D's Adam (β1, β2) (shared.gin: 0.5, 0.9)")


def permute_dims(z: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Each column of ``z`` ``(B, d)`` permuted independently across the batch (Kim & Mnih 2018,
    Algorithm 1): column j is reordered by argsort of ``noise[:, j]`` (uniform ``(B, d)``), so the
    permutation comes from the caller's generator. Returns ``(B, d)``, same dtype."""
    return z.gather(0, noise.argsort(dim=0))


#: D's probabilities are clipped to [PROB_CLIP, 1 − PROB_CLIP] (disentanglement_lib architectures.py)
PROB_CLIP = 1e-6


def clipped_probs(logits: torch.Tensor) -> torch.Tensor:
    """softmax(logits) over the last axis clipped to [1e-6, 1 − 1e-6] (``(B, 2)`` -> ``(B, 2)``)."""
    return F.softmax(logits, dim=-1).clamp(PROB_CLIP, 1.0 - PROB_CLIP)


@register
class FactorVAE(BetaVAE):
    """FactorVAE. Hyper-parameters: :class:`FactorVAEConfig`."""

    name = "factor_vae"
    supervision = "none"
    representation = "posterior mean μ(x)"
    config_class = FactorVAEConfig
    pack_hyperparameters = ("gamma",)

    def __init__(self, info, total_steps: int, config: FactorVAEConfig | None = None):
        super().__init__(info, total_steps, config)
        c = self.config
        layers: list[nn.Module] = []
        width = self.num_latents
        for _ in range(c.disc_layers):
            layers += [nn.Linear(width, c.disc_hidden), nn.LeakyReLU(0.2)]
            width = c.disc_hidden
        self.discriminator = nn.Sequential(*layers, nn.Linear(width, 2))
        apply_init(self.discriminator, c.init)

    def configure_optimizers(self):
        c = self.config
        vae = [p for n, p in self.named_parameters() if not n.startswith("discriminator.")]
        return {
            "vae": build_optimizer(vae, c.optimizer, c.lr, c.betas, c.eps),
            "discriminator": torch.optim.Adam(self.discriminator.parameters(), lr=c.disc_lr, betas=c.disc_betas,
                                              eps=1e-8),
        }

    def total_correlation(self, z: torch.Tensor) -> torch.Tensor:
        """Density-ratio estimate of TC(z): mean over the batch of D_0(z) − D_1(z), 0-d (nats).
        D is applied through detached parameters: the gradient reaches z, never D (the VAE's
        update), and the function stays pure for packing (no ``requires_grad`` toggling)."""
        detached = {n: p.detach() for n, p in self.discriminator.named_parameters()}
        logits = at_least_float32(functional_call(self.discriminator, detached, (z,)))
        return (logits[:, 0] - logits[:, 1]).mean()

    def regularizer(self, kl, mu, logvar, z, step, hparams=None):
        """KL + γ·TC (Eq. 2), TC by the density-ratio trick; D's parameters get no gradient here."""
        hp = self.pack_hparams() if hparams is None else hparams
        tc = self.total_correlation(z)
        return kl + hp["gamma"] * tc, {"tc": tc.detach()}

    def discriminator_loss(self, z: torch.Tensor, z_permuted: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of D telling samples of q(z) (class 0) from permuted ones (class 1), each
        half weighted ½, on D's softmax probabilities clipped to [1e-6, 1 − 1e-6]
        (disentanglement_lib's ``discr_loss`` negated, with ``make_discriminator``'s clipping:
        a clipped probability passes no gradient, as ``tf.clip_by_value``); 0-d, nats."""
        real = clipped_probs(at_least_float32(self.discriminator(z)))
        fake = clipped_probs(at_least_float32(self.discriminator(z_permuted)))
        return -0.5 * real[:, 0].log().mean() - 0.5 * fake[:, 1].log().mean()

    def pack_noise(self, batch_size: int, step: int) -> dict[str, torch.Tensor]:
        """``{"eps": normal (B, d), "perm": uniform (B, d)}`` from :attr:`generator`, in this
        order (reparameterisation, then the permutation of :func:`permute_dims`)."""
        return {"eps": self.randn(batch_size, self.num_latents), "perm": self.rand(batch_size, self.num_latents)}

    def pack_loss(self, batch, noise, hparams, step):
        """``({"vae": loss of Eq. 2, "discriminator": D's cross-entropy}, log terms)``: both from
        the parameters before the step; D's loss sees the detached codes, the VAE's loss D's
        detached parameters, so each optimiser's loss reaches only its own parameters."""
        loss, terms, z = self.vae_loss(batch["x"], step, noise, hparams)
        z = z.detach()
        d_loss = self.discriminator_loss(z, permute_dims(z, noise["perm"]))
        return {"vae": loss, "discriminator": d_loss}, {**terms, "disc": d_loss.detach()}
