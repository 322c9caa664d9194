"""Weakly-supervised VAEs on pairs of observations: Ada-GVAE, Ada-ML-VAE and their label-informed
variants (Locatello, Poole, Rätsch, Schölkopf, Bachem, Tschannen 2020, ICML, "Weakly-Supervised
Disentanglement Without Compromises").

Training data: pairs (x1, x2) that share all but a few ground-truth factors, drawn by the data
layer (:meth:`disbench.data.base.GroundTruthDataset.sample_pairs`, k as disentanglement_lib's
``train_weak_lib.py`` draws it). Both images go through the same Gaussian encoder. For each latent
j the posteriors q(z_j|x1), q(z_j|x2) are either kept (latent j is taken to encode a factor that
changed) or both replaced by one *averaged* posterior (a shared factor):

- averaging ``"gvae"`` (Group-VAE, Hosoya 2019): arithmetic mean of the two Gaussians' means and
  variances, μ̄ = (μ1 + μ2)/2, σ̄² = (σ1² + σ2²)/2;
- averaging ``"ml_vae"`` (ML-VAE, Bouchacourt et al. 2018): the product of the two Gaussians' mean,
  μ̄ = (μ1/σ1² + μ2/σ2²) / (1/σ1² + 1/σ2²), with variance σ̄² = 2 σ1² σ2² / (σ1² + σ2²) (twice
  the product's variance — the harmonic mean — as disentanglement_lib's ``MLVae.model_fn``).

Which latents are kept (``aggregation``):

- ``"argmax"`` (Ada-, adaptive; ``GroupVAEArgmax``/``MLVaeArgmax``): δ_j = KL(q(z_j|x1) ||
  q(z_j|x2)) per latent; latents with δ_j ≥ (min_j δ_j + max_j δ_j)/2 are kept, the others
  averaged — the paper's adaptive threshold as disentanglement_lib's ``aggregate_argmax`` (two bins
  of equal width between the pair's min and max; :func:`changed_latents`). A pair whose δ_j are
  all equal keeps none (everything averaged).
- ``"labels"`` (``GroupVAELabels``/``MLVaeLabels``): the index of the changed factor is given
  (the pair's ``changed``), and latent ``changed`` is kept — latent i is tied to factor i
  (``aggregate_labels``).

Loss per pair (disentanglement_lib ``GroupVAEBase.model_fn``), averaged over the batch of pairs::

    loss = ½ Σ_{i=1,2} E_q̃(z|x_i)[-log p(x_i|z)] + β · ½ Σ_{i=1,2} KL(q̃(z|x_i) || N(0, I))

with q̃ the posteriors after averaging, Bernoulli decoder and the Gaussian KL of
:class:`~disbench.models.beta_vae.BetaVAE` (its ``loss_terms`` and ``regularizer``). One training
step takes ``batch_size`` pairs (2 · ``batch_size`` images), as disentanglement_lib's batch of
stacked pairs.

Representation (``encode``): the posterior mean μ(x) of a single image.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from disbench.errors import InvalidInputError
from disbench.models import register
from disbench.models.base import DatasetInfo
from disbench.models.beta_vae import BetaVAE, VAETrainingConfig
from disbench.models.config import check_choice, param

AVERAGINGS = ("gvae", "ml_vae")
AGGREGATIONS = ("argmax", "labels")


@dataclass(frozen=True)
class WeakVAEConfig(VAETrainingConfig):
    """Hyper-parameters of :class:`WeakVAE` (preset ``[profiles.<p>.model]``)."""

    num_latents: int = param(10, "d, latent dimensions (disentanglement_lib shared.gin: 10)")
    beta: float = param(1.0, "β, weight of the KL term of the averaged posteriors; dimensionless "
                             "(disentanglement_lib tests/methods/weakly_supervised/train_test.gin: group_vae.beta = 1)")
    averaging: str = param("gvae", '"gvae" (arithmetic mean, Group-VAE) or "ml_vae" (product of experts, ML-VAE)')
    aggregation: str = param("argmax", '"argmax" (adaptive: latents with KL ≥ midpoint of the pair\'s min and max '
                                       'kept) or "labels" (the changed factor\'s latent kept)')
    k: int = param(-1, "factors changed per pair: -1 draws k as disentanglement_lib's simple_dynamics "
                       "(dynamics.k = -1 in its weak train_test.gin); else in [1, number of factors]")
    data_output_bias: bool = param(False, "initialise the decoder's output bias from the first batch's mean "
                                          "intensity (BetaVAE.init_output_bias; a quick-profile deviation against "
                                          "the early posterior collapse, as DC-IGN's)")

    def __post_init__(self):
        super().__post_init__()
        check_choice("averaging", self.averaging, AVERAGINGS)
        check_choice("aggregation", self.aggregation, AGGREGATIONS)


def pairwise_kl(mu1: torch.Tensor, logvar1: torch.Tensor, mu2: torch.Tensor, logvar2: torch.Tensor) -> torch.Tensor:
    """Per-latent KL(N(μ1, σ1²) || N(μ2, σ2²)) = ½ (σ1²/σ2² + (μ2 − μ1)²/σ2² − 1 + log σ2² − log σ1²),
    nats, elementwise over ``(B, d)`` inputs. (disentanglement_lib's ``compute_kl`` omits the ½,
    which does not move the midpoint threshold.)"""
    return 0.5 * ((logvar1 - logvar2).exp() + (mu2 - mu1).pow(2) / logvar2.exp() - 1 + logvar2 - logvar1)


def changed_latents(kl: torch.Tensor) -> torch.Tensor:
    """Adaptive estimate of which latents changed within each pair (Locatello et al. 2020, ICML, Ada-GVAE;
    disentanglement_lib ``weak_vae.py``, ``aggregate_argmax``).

    Args:
        kl: per-latent divergences δ ``(B, d)`` between the pair's posteriors.

    Returns:
        bool ``(B, d)``: δ_j ≥ (min δ + max δ)/2 of its row (the upper of two equal-width bins
        between the row's min and max, as disentanglement_lib's ``discretize_in_bins``); all
        False in a row whose δ are all equal.
    """
    lo, hi = kl.min(dim=1, keepdim=True).values, kl.max(dim=1, keepdim=True).values
    return (2 * (kl - lo) >= hi - lo) & (hi > lo)


def average_posteriors(mu1, logvar1, mu2, logvar2, averaging: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The shared posterior ``(μ̄, log σ̄²)`` of a pair, each ``(B, d)`` (module docstring:
    ``"gvae"`` arithmetic mean; ``"ml_vae"`` product-of-experts mean with variance 2σ1²σ2²/(σ1²+σ2²))."""
    var1, var2 = logvar1.exp(), logvar2.exp()
    if averaging == "gvae":
        return 0.5 * (mu1 + mu2), torch.log(0.5 * (var1 + var2))
    var = 2 * var1 * var2 / (var1 + var2)
    return 0.5 * (mu1 / var1 + mu2 / var2) * var, torch.log(var)


@register
class WeakVAE(BetaVAE):
    """Ada-GVAE / Ada-ML-VAE / GVAE and ML-VAE with labels. Hyper-parameters: :class:`WeakVAEConfig`.

    Raises:
        InvalidInputError: ``aggregation = "labels"`` with fewer latents than factors.
    """

    name = "weak_vae"
    supervision = "paired observations, k changed factors"
    representation = "posterior mean μ(x)"
    config_class = WeakVAEConfig

    def __init__(self, info: DatasetInfo, total_steps: int, config: WeakVAEConfig | None = None):
        super().__init__(info, total_steps, config)
        if self.config.aggregation == "labels" and self.num_latents < len(info.factor_names):
            raise InvalidInputError(f'aggregation "labels" ties latent i to factor i: num_latents must be ≥ the '
                                    f"{len(info.factor_names)} factors of {info.name}, got {self.num_latents}")

    def next_batch(self, dataset, batch_size, rng, step):
        """``batch_size`` pairs from :meth:`~disbench.data.base.GroundTruthDataset.sample_pairs`
        with ``k`` = ``config.k``: ``{"x", "x2"}`` float32 ``(B, C, H, W)``, ``{"factors",
        "factors2"}`` int64 ``(B, K)``, ``"num_changed"``, ``"changed"`` int64 ``(B,)``."""
        return dataset.sample_pairs(batch_size, self.config.k, rng)

    def kept_latents(self, mu1, logvar1, mu2, logvar2, changed: torch.Tensor) -> torch.Tensor:
        """bool ``(B, d)``: latents whose own posterior is kept (not averaged), by ``aggregation``."""
        if self.config.aggregation == "labels":
            return torch.nn.functional.one_hot(changed.long(), self.num_latents).bool()
        return changed_latents(pairwise_kl(mu1.float(), logvar1.float(), mu2.float(), logvar2.float()))

    def training_step(self, batch, step, optimizers):
        x1, x2 = batch["x"], batch["x2"]
        b = x1.shape[0]
        if step == 0 and self.config.data_output_bias:
            self.init_output_bias(torch.cat([x1, x2]))
        mu, logvar = self.posterior(torch.cat([x1, x2]))
        mu1, mu2, lv1, lv2 = mu[:b], mu[b:], logvar[:b], logvar[b:]
        keep = self.kept_latents(mu1, lv1, mu2, lv2, batch["changed"])
        mean, log_var = average_posteriors(mu1, lv1, mu2, lv2, self.config.averaging)
        mu = torch.cat([torch.where(keep, mu1, mean), torch.where(keep, mu2, mean)])
        logvar = torch.cat([torch.where(keep, lv1, log_var), torch.where(keep, lv2, log_var)])
        z = mu + (0.5 * logvar).exp() * self.randn(*mu.shape).to(mu.dtype)
        # the batch mean over both halves is ½ (term of x1 + term of x2), averaged over pairs
        recon, kl = self.loss_terms(torch.cat([x1, x2]), self.decode_logits(z), mu, logvar)
        reg, extra = self.regularizer(kl, mu, logvar, z, step)
        loss = recon + reg
        self.optimize(optimizers["vae"], loss)
        return {"loss": loss.detach(), "recon": recon.detach(), "kl": kl.detach(),
                "kept": keep.float().sum(1).mean().detach(), **extra}
