"""DIP-VAE-I and DIP-VAE-II (Kumar, Sattigeri, Balakrishnan 2018, ICLR, "Variational Inference of
Disentangled Latent Concepts from Unlabeled Observations").

DIP-VAE adds to the negative ELBO a penalty that pulls a covariance matrix Σ of the latents
towards the identity::

    loss = E_q[-log p(x|z)] + KL(q(z|x) || N(0, I)) + λ_od Σ_{i≠j} Σ_ij² + λ_d Σ_i (Σ_ii − 1)²

- DIP-VAE-I (Eq. 6): Σ = Cov_p(x)[μ(x)], the covariance of the posterior means over the batch.
- DIP-VAE-II (Eq. 7): Σ = Cov_q(z)[z] = E_p(x)[diag σ²(x)] + Cov_p(x)[μ(x)], the covariance of the
  aggregate posterior.

Covariances are the batch's population (1/B) estimates. As disentanglement_lib
(``methods/unsupervised/vae.py``, ``DIPVAE``; sweep ``unsupervised_study_v1/sweep.py``):
λ_d = ``lambda_d_factor`` · λ_od, with factor 10 for DIP-VAE-I and 1 for DIP-VAE-II. One module
holds both (``dip_type``), as in the paper and disentanglement_lib; they are two presets
(``dip_vae_i``, ``dip_vae_ii``).

Representation (``encode``): the posterior mean μ(x).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from disbench.models import register
from disbench.models.beta_vae import BetaVAE, VAETrainingConfig, at_least_float32
from disbench.models.config import check_choice, param


@dataclass(frozen=True)
class DIPVAEConfig(VAETrainingConfig):
    """Hyper-parameters of :class:`DIPVAE` (preset ``[profiles.<p>.model]``)."""

    num_latents: int = param(10, "d, latent dimensions (disentanglement_lib shared.gin: 10)")
    dip_type: str = param("i", '"i" (Σ = Cov[μ(x)], Eq. 6) or "ii" (Σ = Cov of the aggregate posterior, Eq. 7)')
    lambda_od: float = param(10.0, "λ_od, weight of the squared off-diagonal entries of Σ (Eq. 6/7); dimensionless")
    lambda_d_factor: float = param(10.0, "λ_d / λ_od (disentanglement_lib: 10 for DIP-VAE-I, 1 for DIP-VAE-II)")

    def __post_init__(self):
        super().__post_init__()
        check_choice("dip_type", self.dip_type, ("i", "ii"))


def covariance(x: torch.Tensor) -> torch.Tensor:
    """Population covariance E[x xᵀ] − E[x] E[x]ᵀ of rows ``x`` ``(B, d)`` -> ``(d, d)``."""
    mean = x.mean(0)
    return (x[:, :, None] * x[:, None, :]).mean(0) - mean[:, None] * mean[None, :]


def dip_penalty(cov: torch.Tensor, lambda_od: float, lambda_d: float) -> torch.Tensor:
    """λ_od Σ_{i≠j} cov_ij² + λ_d Σ_i (cov_ii − 1)² (Kumar et al. 2018, Eq. 6/7), 0-d; 0 for the identity."""
    diag = torch.diagonal(cov)
    off = cov - torch.diag(diag)
    return lambda_od * off.pow(2).sum() + lambda_d * (diag - 1).pow(2).sum()


def dip_covariance(mu: torch.Tensor, logvar: torch.Tensor, dip_type: str) -> torch.Tensor:
    """Σ of DIP-VAE-I (Cov[μ]) or -II (E[diag σ²] + Cov[μ]) from a batch's posteriors ``(B, d)``."""
    cov = covariance(mu)
    if dip_type == "ii":
        cov = cov + torch.diag(logvar.exp().mean(0))
    return cov


@register
class DIPVAE(BetaVAE):
    """DIP-VAE-I / -II. Hyper-parameters: :class:`DIPVAEConfig`."""

    name = "dip_vae"
    supervision = "none"
    representation = "posterior mean μ(x)"
    config_class = DIPVAEConfig
    pack_hyperparameters = ("lambda_od", "lambda_d_factor")

    def regularizer(self, kl, mu, logvar, z, step, hparams=None):
        """KL + the DIP penalty on Σ (Eq. 6 for type i, Eq. 7 for type ii)."""
        hp = self.pack_hparams() if hparams is None else hparams
        cov = dip_covariance(at_least_float32(mu), at_least_float32(logvar), self.config.dip_type)
        penalty = dip_penalty(cov, hp["lambda_od"], hp["lambda_d_factor"] * hp["lambda_od"])
        return kl + penalty, {"dip": penalty.detach()}
