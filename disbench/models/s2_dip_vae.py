"""S²-DIP-VAE (Locatello et al. 2020, ICLR, "Disentangling Factors of Variation Using Few Labels"):
the DIP-VAE-I/-II (Kumar et al. 2018, Eq. 6/7; dip_type) loss on unlabelled batches plus γ_sup · R_s on a few labelled
observations (disentanglement_lib ``semi_supervised_vae.py``, ``S2DIPVAE``). The shared part — the
labelled data, R_s (xent, l2, cov, embed) and the annealers — is :mod:`disbench.models.semi_supervised`.

Representation (``encode``): the posterior mean μ(x).
"""

from __future__ import annotations

from dataclasses import dataclass

from disbench.models import register
from disbench.models.dip_vae import DIPVAE, DIPVAEConfig
from disbench.models.semi_supervised import SemiSupervisedConfig, SemiSupervisedVAE


@dataclass(frozen=True)
class S2DIPVAEConfig(SemiSupervisedConfig, DIPVAEConfig):
    """Hyper-parameters of :class:`S2DIPVAE`: DIPVAE's and
    the few-label ones of :class:`~disbench.models.semi_supervised.SemiSupervisedConfig`."""


@register
class S2DIPVAE(SemiSupervisedVAE, DIPVAE):
    """S²-DIP-VAE. Hyper-parameters: :class:`S2DIPVAEConfig`."""

    name = "s2_dip_vae"
    supervision = "100 labels"
    config_class = S2DIPVAEConfig
