"""S²-β-TCVAE (Locatello et al. 2020, ICLR, "Disentangling Factors of Variation Using Few Labels"):
the β-TCVAE (Chen et al. 2018, Eq. 4 with α = γ = 1) loss on unlabelled batches plus γ_sup · R_s on a few labelled
observations (disentanglement_lib ``semi_supervised_vae.py``, ``S2BetaTCVAE``). The shared part — the
labelled data, R_s (xent, l2, cov, embed) and the annealers — is :mod:`disbench.models.semi_supervised`.

Representation (``encode``): the posterior mean μ(x).
"""

from __future__ import annotations

from dataclasses import dataclass

from disbench.models import register
from disbench.models.beta_tc_vae import BetaTCVAE, BetaTCVAEConfig
from disbench.models.semi_supervised import SemiSupervisedConfig, SemiSupervisedVAE


@dataclass(frozen=True)
class S2BetaTCVAEConfig(SemiSupervisedConfig, BetaTCVAEConfig):
    """Hyper-parameters of :class:`S2BetaTCVAE`: BetaTCVAE's and
    the few-label ones of :class:`~disbench.models.semi_supervised.SemiSupervisedConfig`."""


@register
class S2BetaTCVAE(SemiSupervisedVAE, BetaTCVAE):
    """S²-β-TCVAE. Hyper-parameters: :class:`S2BetaTCVAEConfig`."""

    name = "s2_beta_tc_vae"
    supervision = "100 labels"
    config_class = S2BetaTCVAEConfig
