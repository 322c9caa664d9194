"""S²-β-VAE (Locatello et al. 2020, ICLR, "Disentangling Factors of Variation Using Few Labels"):
the β-VAE loss (Higgins et al. 2017, Eq. 4) on unlabelled batches plus γ_sup · R_s on a few labelled
observations (disentanglement_lib ``semi_supervised_vae.py``, ``S2BetaVAE``). The shared part — the
labelled data, R_s (xent, l2, cov, embed) and the annealers — is :mod:`disbench.models.semi_supervised`.

Representation (``encode``): the posterior mean μ(x).
"""

from __future__ import annotations

from dataclasses import dataclass

from disbench.models import register
from disbench.models.beta_vae import BetaVAE, BetaVAEConfig
from disbench.models.semi_supervised import SemiSupervisedConfig, SemiSupervisedVAE


@dataclass(frozen=True)
class S2BetaVAEConfig(SemiSupervisedConfig, BetaVAEConfig):
    """Hyper-parameters of :class:`S2BetaVAE`: β-VAE's (``beta``: dlib test config s2_vae.beta = 4) and
    the few-label ones of :class:`~disbench.models.semi_supervised.SemiSupervisedConfig`."""


@register
class S2BetaVAE(SemiSupervisedVAE, BetaVAE):
    """S²-β-VAE. Hyper-parameters: :class:`S2BetaVAEConfig`."""

    name = "s2_beta_vae"
    supervision = "100 labels"
    config_class = S2BetaVAEConfig
