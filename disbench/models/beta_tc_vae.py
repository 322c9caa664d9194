"""β-TCVAE (Chen, Li, Grosse, Duvenaud 2018, NeurIPS, "Isolating Sources of Disentanglement in VAEs").

The KL term of the ELBO decomposes (Chen et al. 2018, Eq. 2) into index-code mutual information,
total correlation TC = KL(q(z) || Π_j q(z_j)) and dimension-wise KL; β-TCVAE weights them
α, β, γ (Eq. 4). With α = γ = 1, as in the paper's experiments and disentanglement_lib
(``methods/unsupervised/vae.py``, ``BetaTCVAE``), the loss is the negative ELBO plus
(β − 1)·TC::

    loss = E_q[-log p(x|z)] + KL(q(z|x) || N(0, I)) + (β − 1) · TC(z)

TC is estimated on the batch by minibatch-weighted sampling (Chen et al. 2018, Sec. 3.1, Eq. S5):
log q(z_j) ≈ logsumexp_i log q(z_j | x_i) − log B, and the same per dimension for the product
of marginals (:func:`total_correlation`). The paper's normaliser is log(N·M) (dataset size N);
disentanglement_lib drops it (``methods/unsupervised/vae.py``, ``total_correlation``, lines
382-418 at commit 76f41e39). The constant does not change any gradient. The loss and the logged
``tc`` use disentanglement_lib's quantity, :func:`total_correlation` − (d − 1)·log B, so a log
compared with dlib's reads the same number; ``tc_mws`` is the log-B-normalised estimate
(:func:`total_correlation`), 0 when the aggregate posterior is exactly factorised.

Representation (``encode``): the posterior mean μ(x).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from disbench.models import register
from disbench.models.beta_vae import BetaVAE, VAETrainingConfig, at_least_float32
from disbench.models.config import param


@dataclass(frozen=True)
class BetaTCVAEConfig(VAETrainingConfig):
    """Hyper-parameters of :class:`BetaTCVAE` (preset ``[profiles.<p>.model]``)."""

    num_latents: int = param(10, "d, latent dimensions (disentanglement_lib shared.gin: 10)")
    beta: float = param(6.0, "β, weight of the total-correlation term (Chen et al. 2018, Eq. 4, α = γ = 1); dimensionless")


def gaussian_log_density(samples: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Elementwise log N(samples; mean, exp(logvar)) in nats (broadcasting shapes)."""
    return -0.5 * ((samples - mean) ** 2 * torch.exp(-logvar) + logvar + math.log(2 * math.pi))


def total_correlation(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Minibatch-weighted-sampling estimate of TC(z) = E_q[log q(z) − Σ_l log q(z_l)] (Chen et al.
    2018, Sec. 3.1), with the batch as the sample of the aggregate posterior.

    Args:
        z: sampled codes ``(B, d)``, one per image.
        mu, logvar: the posteriors q(z|x_i) of the same images, ``(B, d)`` each.

    Returns:
        0-d tensor, nats. Exactly 0 when all posteriors are equal (then q(z) = Π q(z_l)); the
        estimate is biased for small B (it is a ratio of minibatch estimates).
    """
    b = z.shape[0]
    log_q = gaussian_log_density(z[:, None, :], mu[None, :, :], logvar[None, :, :])  # [j, i, l]
    log_qz = torch.logsumexp(log_q.sum(2), dim=1) - math.log(b)
    log_prod_qzl = (torch.logsumexp(log_q, dim=1) - math.log(b)).sum(1)
    return (log_qz - log_prod_qzl).mean()


@register
class BetaTCVAE(BetaVAE):
    """β-TCVAE. Hyper-parameters: :class:`BetaTCVAEConfig`."""

    name = "beta_tc_vae"
    supervision = "none"
    representation = "posterior mean μ(x)"
    config_class = BetaTCVAEConfig
    pack_hyperparameters = ("beta",)

    def regularizer(self, kl, mu, logvar, z, step, hparams=None):
        """KL + (β − 1)·TC (Chen et al. 2018, Eq. 4 with α = γ = 1), TC as disentanglement_lib
        computes it (no log-B normaliser); logs ``tc`` (dlib's) and ``tc_mws`` (normalised)."""
        hp = self.pack_hparams() if hparams is None else hparams
        tc_mws = total_correlation(at_least_float32(z), at_least_float32(mu), at_least_float32(logvar))
        b, d = z.shape
        tc = tc_mws - (d - 1) * math.log(b)
        return kl + (hp["beta"] - 1.0) * tc, {"tc": tc.detach(), "tc_mws": tc_mws.detach()}
