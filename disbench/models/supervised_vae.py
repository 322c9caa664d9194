"""The supervised VAE of the few-labels study (Locatello et al. 2020, ICLR, "Disentangling Factors of
Variation Using Few Labels": the fully supervised baseline; disentanglement_lib
``semi_supervised_vae.py``, ``SupervisedVAE``).

The encoder is trained only by the supervised regulariser R_s on the labelled observations (no KL
term, no γ_sup); a decoder is trained on the unlabelled batch from the *stopped-gradient* posterior
sample, only so that samples and traversals can be drawn::

    loss = E_q[-log p(x|sg(z))] + R_s(μ(x_l), v_l)

R_s, the labelled data and their batching: :mod:`disbench.models.semi_supervised`.

Representation (``encode``): the posterior mean μ(x).
"""

from __future__ import annotations

from dataclasses import dataclass

from disbench.models import register
from disbench.models.beta_vae import BetaVAE, VAETrainingConfig
from disbench.models.config import param
from disbench.models.semi_supervised import LabelsConfig, SemiSupervisedVAE


@dataclass(frozen=True)
class SupervisedVAEConfig(LabelsConfig, VAETrainingConfig):
    """Hyper-parameters of :class:`SupervisedVAE`: the labelled data and R_s of
    :class:`~disbench.models.semi_supervised.LabelsConfig`, architecture and optimiser."""

    num_latents: int = param(10, "d, latent dimensions (disentanglement_lib shared.gin: 10)")


@register
class SupervisedVAE(SemiSupervisedVAE, BetaVAE):
    """Supervised VAE. Hyper-parameters: :class:`SupervisedVAEConfig`."""

    name = "supervised_vae"
    supervision = "100 labels"
    config_class = SupervisedVAEConfig

    def pack_hparams(self) -> dict:
        """None of β-VAE's: the supervised VAE has no β (no KL term)."""
        return {}

    def vae_loss(self, x, step, noise=None, hparams=None):
        """Reconstruction from the stopped-gradient sample plus R_s (module docstring); the log has
        ``loss``, ``recon`` and ``sup``. ``noise["eps"]`` as in :meth:`BetaVAE.vae_loss`."""
        noise = self.pack_noise(len(x), step) if noise is None else noise
        mu, logvar = self.posterior(x)
        z = mu + (0.5 * logvar).exp() * noise["eps"].to(mu.dtype)
        logits = self.decode_logits(z.detach())
        recon, _ = self.loss_terms(x, logits, mu, logvar)
        sup = self.supervised_term()
        loss = recon + sup
        return loss, {"loss": loss.detach(), "recon": recon.detach(), "sup": sup.detach()}, z
