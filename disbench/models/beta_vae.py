"""β-VAE (Higgins et al. 2017, ICLR) and, with β = 1, the VAE (Kingma & Welling 2014).

Objective (Higgins et al. 2017, Eq. 4), minimised per batch::

    loss = E_q[-log p(x|z)] + β · KL(q(z|x) || N(0, I))

with a factorised Gaussian encoder q(z|x) = N(μ(x), diag σ²(x)) (reparameterised
sample z = μ + σ·ε), a Bernoulli decoder p(x|z) (pixel logits; the reconstruction term is
the binary cross-entropy summed over pixels) and the closed-form Gaussian KL summed over
latents; both are averaged over the batch. β = 4 and 10 latents on dSprites (Higgins et
al. 2017, Table 1 / Appendix A.4).

Architecture: by default the convolutional encoder/decoder of
:mod:`disbench.models.nets` as Locatello et al. 2019's table states it (4×4 kernels) —
``arch = "conv"``; ``arch = "conv_dlib"`` is the network of disentanglement_lib's code
(2×2 kernels in the third and fourth encoder convolutions), which the ``study`` profiles use.
``arch = "fc"`` gives Higgins et al.'s own fully connected dSprites network (1200-1200 /
1200-1200-1200 tanh) used by the ``paper`` profile.

Initialisation: ``init = "torch"`` (default) keeps torch's layer defaults; ``init = "tf_default"``
gives TensorFlow 1's (Glorot-uniform kernels, zero biases), what disentanglement_lib's
``tf.layers`` networks start from; the ``study`` profiles use it (:func:`disbench.models.nets.apply_init`).

Representation (``encode``): the posterior mean μ(x), ``num_latents``-d.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from disbench.models import register
from disbench.models.base import (
    OPTIMIZERS,
    Baseline,
    DatasetInfo,
    as_model_input,
    build_optimizer,
    step_optimizers,
)
from disbench.models.config import BaselineConfig, check_choice, param
from disbench.models.nets import ARCHS, INITS, apply_init, make_decoder, make_encoder

TRAVERSAL_RANGE = 3.0  # latent traversals cover ±3 prior standard deviations


def at_least_float32(t: torch.Tensor) -> torch.Tensor:
    """``t`` in float32, or as it is when float64 (losses are summed in float32 under bf16
    autocast; a float64 model, as in the packing equivalence tests, keeps float64)."""
    return t if t.dtype == torch.float64 else t.float()


@dataclass(frozen=True)
class VAETrainingConfig(BaselineConfig):
    """Architecture and optimiser of the VAE family (shared by :class:`BetaVAEConfig` and DC-IGN's)."""

    arch: str = param("conv", '"conv" (Locatello et al. 2019, Appendix Table 2: 4×4 kernels), "conv_dlib" '
                              "(disentanglement_lib's code: 2×2 in conv 3-4) or \"fc\" (Higgins et al. 2017, Appendix A)")
    optimizer: str = param("adam", '"adam", "rmsprop" or "adagrad"')
    lr: float = param(1e-4, "learning rate (per step)")
    betas: tuple[float, float] = param((0.9, 0.999), "Adam's (β1, β2)")
    eps: float = param(1e-8, "optimiser ε")
    init: str = param("torch", '"torch" (torch\'s default layer initialisation) or "tf_default" (Glorot-uniform '
                               "weights, zero biases for conv, deconv and dense layers: TensorFlow 1's defaults, which "
                               "disentanglement_lib's networks get; disbench.models.nets.apply_init)")

    def __post_init__(self):
        check_choice("arch", self.arch, ARCHS)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("init", self.init, INITS)


@dataclass(frozen=True)
class BetaVAEConfig(VAETrainingConfig):
    """Hyper-parameters of :class:`BetaVAE` (preset ``[profiles.<p>.model]``)."""

    num_latents: int = param(10, "d, latent dimensions (Higgins et al. 2017, Table 1: 10 on dSprites)")
    beta: float = param(4.0, "β, weight of the KL term (Eq. 4), dimensionless; 1 gives the VAE")


@register
class BetaVAE(Baseline):
    """β-VAE; β = 1 is the plain VAE. Hyper-parameters: :class:`BetaVAEConfig`."""

    name = "beta_vae"
    supervision = "none"
    representation = "posterior mean μ(x)"
    config_class = BetaVAEConfig
    pack_hyperparameters = ("beta",)

    def __init__(self, info: DatasetInfo, total_steps: int, config: BetaVAEConfig | None = None):
        super().__init__(info, total_steps, config)
        self.num_latents = self.latent_dims()
        self.encoder = make_encoder(self.config.arch, info.observation_shape, 2 * self.num_latents)
        self.decoder = make_decoder(self.config.arch, info.observation_shape, self.num_latents)
        apply_init(self.encoder, self.config.init)
        apply_init(self.decoder, self.config.init)

    def latent_dims(self) -> int:
        """Number of latents (subclasses derive it from the dataset)."""
        return self.config.num_latents

    # --- model ------------------------------------------------------------------------
    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(μ, log σ²) of q(z|x), each ``(N, num_latents)``."""
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Bernoulli pixel logits ``(N, C, H, W)`` for codes ``(N, num_latents)``."""
        return self.decoder(z)

    def loss_terms(self, x: torch.Tensor, logits: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor):
        """(reconstruction, KL) each averaged over the batch (nats per image)."""
        logits, mu, logvar = at_least_float32(logits), at_least_float32(mu), at_least_float32(logvar)
        recon = F.binary_cross_entropy_with_logits(logits, x.to(logits.dtype), reduction="sum") / x.shape[0]
        kl = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(1).mean()
        return recon, kl

    @torch.no_grad()
    def init_output_bias(self, x: torch.Tensor) -> None:
        """Set the bias of the decoder's last layer to the logit of the per-channel mean
        intensity of ``x`` float32 ``(N, C, H, W)`` (clipped to [1e-3, 1 − 1e-3]): the
        decoder then starts at the data's mean intensity instead of p = 0.5 per pixel. A
        data-dependent initialisation against the early posterior collapse of short runs, for
        the models that offer ``data_output_bias`` (DC-IGN, the weak VAEs; see :mod:`disbench.models.dcign`)."""
        last = [m for m in self.decoder.modules() if isinstance(m, (torch.nn.Linear, torch.nn.ConvTranspose2d))][-1]
        p = x.float().mean(dim=(0, 2, 3)).clamp(1e-3, 1 - 1e-3)
        logit = torch.log(p / (1 - p)).to(last.bias)
        last.bias.view(len(p), -1).copy_(logit[:, None].expand(len(p), last.bias.numel() // len(p)))

    # --- training ---------------------------------------------------------------------
    def configure_optimizers(self):
        c = self.config
        return {"vae": build_optimizer(self.parameters(), c.optimizer, c.lr, c.betas, c.eps)}

    def regularizer(self, kl: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, z: torch.Tensor,
                    step: int, hparams: dict | None = None) -> tuple[torch.Tensor, dict]:
        """The term added to the reconstruction loss, and extra terms for the train log.

        The seam of the VAE family (as disentanglement_lib's ``BaseVAE.regularizer``): FactorVAE,
        β-TCVAE, DIP-VAE and AnnealedVAE override only this (and FactorVAE its discriminator step).

        Args:
            kl: KL(q(z|x) || N(0, I)) averaged over the batch, 0-d (nats).
            mu, logvar: the posterior's mean and log-variance, ``(B, d)``.
            z: the reparameterised sample, ``(B, d)``.
            step: the 0-based training step.
            hparams: the values of :attr:`pack_hyperparameters` (floats, or 0-d tensors in a
                pack); None: ``self.config``'s. Read swept hyper-parameters from here.

        Returns:
            ``(regulariser, {name: detached 0-d tensor})``. Here β·KL (Higgins et al. 2017, Eq. 4).
        """
        hp = self.pack_hparams() if hparams is None else hparams
        return hp["beta"] * kl, {}

    def vae_loss(self, x: torch.Tensor, step: int, noise: dict | None = None,
                 hparams: dict | None = None) -> tuple[torch.Tensor, dict, torch.Tensor]:
        """``(loss, log terms, z)`` for images ``x``: loss = reconstruction + :meth:`regularizer`.

        ``noise["eps"]`` ``(B, num_latents)`` is the reparameterisation noise (default: drawn by
        :meth:`pack_noise`); ``hparams`` as in :meth:`regularizer`."""
        noise = self.pack_noise(len(x), step) if noise is None else noise
        mu, logvar = self.posterior(x)
        z = mu + (0.5 * logvar).exp() * noise["eps"].to(mu.dtype)
        recon, kl = self.loss_terms(x, self.decode_logits(z), mu, logvar)
        reg, extra = self.regularizer(kl, mu, logvar, z, step, hparams)
        loss = recon + reg
        return loss, {"loss": loss.detach(), "recon": recon.detach(), "kl": kl.detach(), **extra}, z

    # --- packing hooks (disbench.models.base, "Packing"): the solo step goes through them too
    def pack_noise(self, batch_size: int, step: int) -> dict[str, torch.Tensor]:
        """``{"eps": standard normal (batch_size, num_latents)}`` from :attr:`generator`."""
        return {"eps": self.randn(batch_size, self.num_latents)}

    def pack_loss(self, batch, noise, hparams, step):
        """``({"vae": negative ELBO with the regulariser}, log terms)`` (:meth:`vae_loss`)."""
        loss, terms, _ = self.vae_loss(batch["x"], step, noise, hparams)
        return {"vae": loss}, terms

    def training_step(self, batch, step, optimizers):
        losses, terms = self.pack_loss(batch, self.pack_noise(len(batch["x"]), step), self.pack_hparams(), step)
        step_optimizers(optimizers, losses)
        return terms

    # --- what metrics and plots read --------------------------------------------------
    @property
    def num_codes(self) -> int:
        return self.num_latents

    @torch.no_grad()
    def encode(self, x) -> torch.Tensor:
        """Posterior mean μ(x): images float32 ``(N, C, H, W)`` (tensor or array, any device)
        -> float32 ``(N, num_latents)`` on the CPU."""
        out = [self.posterior(as_model_input(chunk, self.device))[0].float().cpu() for chunk in _chunks(x)]
        return torch.cat(out) if out else torch.zeros(0, self.num_latents)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` images from the prior: sigmoid(decoder(z)), z ~ N(0, I); float32 CPU
        ``(n, C, H, W)`` in [0, 1] (Bernoulli means)."""
        z = self.randn(n, self.num_latents, generator=generator)
        return torch.sigmoid(self.decode_logits(z).float()).cpu()

    @torch.no_grad()
    def reconstruct(self, x) -> torch.Tensor:
        """sigmoid(decoder(μ(x))): float32 CPU ``(N, C, H, W)``."""
        x = as_model_input(x, self.device)
        return torch.sigmoid(self.decode_logits(self.posterior(x)[0]).float()).cpu()

    @torch.no_grad()
    def traverse(self, x, num_steps: int = 10, generator=None) -> torch.Tensor:
        """Latent traversals ``(num_latents, num_steps, C, H, W)`` on the CPU: starting from
        μ(x[0]) (or a prior sample when ``x`` is None), latent i is set to each value of
        linspace(-3, 3, num_steps) with the others fixed (Higgins et al. 2017, Fig. 7 style)."""
        if x is None:
            base = self.randn(1, self.num_latents, generator=generator)
        else:
            base = self.posterior(as_model_input(x[:1], self.device))[0]
        values = torch.linspace(-TRAVERSAL_RANGE, TRAVERSAL_RANGE, num_steps, device=self.device)
        z = base.repeat(self.num_latents * num_steps, 1).view(self.num_latents, num_steps, -1)
        idx = torch.arange(self.num_latents, device=self.device)
        z[idx, :, idx] = values
        images = torch.sigmoid(self.decode_logits(z.view(-1, self.num_latents)).float())
        return images.view(self.num_latents, num_steps, *images.shape[1:]).cpu()


def _chunks(x, size: int = 1024):
    for i in range(0, len(x), size):
        yield x[i : i + size]
