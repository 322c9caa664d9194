"""S²-FactorVAE (Locatello et al. 2020, ICLR, "Disentangling Factors of Variation Using Few Labels"):
the FactorVAE (Kim & Mnih 2018, Eq. 2) loss, its discriminator step included, on unlabelled batches plus γ_sup · R_s on a few labelled
observations (disentanglement_lib ``semi_supervised_vae.py``, ``S2FactorVAE``). The shared part — the
labelled data, R_s (xent, l2, cov, embed) and the annealers — is :mod:`disbench.models.semi_supervised`.
Deviation: dlib's S2FactorVAE leaves the supervised regulariser's own variables (l2's scale, embed's
embeddings) out of its VAE optimiser's variable list, so they keep their initial values; here the
VAE optimiser trains them, as in the other S²-VAEs.

Representation (``encode``): the posterior mean μ(x).
"""

from __future__ import annotations

from dataclasses import dataclass

from disbench.models import register
from disbench.models.factor_vae import FactorVAE, FactorVAEConfig
from disbench.models.semi_supervised import SemiSupervisedConfig, SemiSupervisedVAE


@dataclass(frozen=True)
class S2FactorVAEConfig(SemiSupervisedConfig, FactorVAEConfig):
    """Hyper-parameters of :class:`S2FactorVAE`: FactorVAE's and
    the few-label ones of :class:`~disbench.models.semi_supervised.SemiSupervisedConfig`."""


@register
class S2FactorVAE(SemiSupervisedVAE, FactorVAE):
    """S²-FactorVAE. Hyper-parameters: :class:`S2FactorVAEConfig`."""

    name = "s2_factor_vae"
    supervision = "100 labels"
    config_class = S2FactorVAEConfig
