"""AnnealedVAE (Burgess, Higgins, Pal, Matthey, Watters, Desjardins, Lerchner 2018,
"Understanding disentangling in β-VAE", NIPS workshop, arXiv:1804.03599).

The KL term is pulled towards a target capacity C (nats) that grows linearly during training
(Burgess et al. 2018, Eq. 8)::

    loss = E_q[-log p(x|z)] + γ · |KL(q(z|x) || N(0, I)) − C|,   C = min(C_max, C_max · step / T)

As disentanglement_lib (``methods/unsupervised/vae.py``, ``AnnealedVAE`` and ``anneal``;
``unsupervised_study_v1/sweep.py``): γ = 1000, T = ``iteration_threshold`` = 100,000 steps,
C_max swept over {5, 10, 25, 50, 75, 100}; ``step`` is the 0-based training step.

Representation (``encode``): the posterior mean μ(x).
"""

from __future__ import annotations

from dataclasses import dataclass

from disbench.errors import InvalidInputError
from disbench.models import register
from disbench.models.beta_vae import BetaVAE, VAETrainingConfig
from disbench.models.config import param


@dataclass(frozen=True)
class AnnealedVAEConfig(VAETrainingConfig):
    """Hyper-parameters of :class:`AnnealedVAE` (preset ``[profiles.<p>.model]``)."""

    num_latents: int = param(10, "d, latent dimensions (disentanglement_lib shared.gin: 10)")
    gamma: float = param(1000.0, "γ, weight of |KL − C| (Burgess et al. 2018, Eq. 8; disentanglement_lib: 1000)")
    c_max: float = param(25.0, "C_max, the final capacity, nats (disentanglement_lib sweeps 5-100)")
    iteration_threshold: int = param(100_000, "T, training steps over which C grows from 0 to C_max")

    def __post_init__(self):
        super().__post_init__()
        if self.iteration_threshold < 1:
            raise InvalidInputError(f"iteration_threshold must be ≥ 1 step, got {self.iteration_threshold}")


def capacity(step: int, c_max: float, iteration_threshold: int) -> float:
    """C = min(C_max, C_max · step / T), nats (disentanglement_lib ``anneal``)."""
    return min(c_max, c_max * step / iteration_threshold)


@register
class AnnealedVAE(BetaVAE):
    """AnnealedVAE. Hyper-parameters: :class:`AnnealedVAEConfig`."""

    name = "annealed_vae"
    supervision = "none"
    representation = "posterior mean μ(x)"
    config_class = AnnealedVAEConfig
    pack_hyperparameters = ("gamma", "c_max")

    def regularizer(self, kl, mu, logvar, z, step, hparams=None):
        """γ·|KL − C(step)| (Eq. 8)."""
        hp = self.pack_hparams() if hparams is None else hparams
        c_max = hp["c_max"]
        # :func:`capacity` for C_max ≥ 0, written so that C_max may be a 0-d tensor (a pack)
        threshold = self.config.iteration_threshold
        cap = c_max * step / threshold if step < threshold else c_max
        return hp["gamma"] * (kl - cap).abs(), {}
