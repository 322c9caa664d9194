"""Deterministic autoencoder: the VAE's encoder and decoder with the KL term removed.

The reference row for "no KL pressure at all" beside the VAE (β = 1) and the β-VAE (β > 1):
the β-VAE objective (Higgins et al. 2017, Eq. 4) at β = 0 with a point-mass encoder
z = f(x) instead of a Gaussian posterior (no sampling noise), minimised per batch::

    loss = −log p(x | z = f(x)),   p(x|z) Bernoulli with pixel logits g(z)

i.e. the binary cross-entropy summed over pixels and averaged over the batch (nats per image),
the reconstruction term of :meth:`disbench.models.beta_vae.BetaVAE.loss_terms`. The classic
autoencoder (Hinton & Salakhutdinov 2006, Science, "Reducing the dimensionality of data with
neural networks") trained on the cross-entropy error, with the networks of the VAE rows: ``arch``
``"conv"`` / ``"conv_dlib"`` / ``"fc"`` of :mod:`disbench.models.nets` (the encoder's last layer
gives the ``num_latents``-d code directly, not 2·``num_latents`` Gaussian parameters).

Representation (``encode``): the code f(x), ``num_latents``-d. The model has no
``posterior`` method, so UDR treats every latent as informative (it has no KL to filter by).

Sampling (FID): an autoencoder has no prior. As the "ex-post density estimation" of Ghosh et al.
2020 (ICLR, "From Variational to Deterministic Autoencoders", Sec. 4) with its simplest density,
a diagonal Gaussian fitted to the training codes: running mean and variance of f(x) over training
batches (exponential moving averages with weight :data:`CODE_STATS_MOMENTUM`, as BatchNorm's
running statistics; buffers, so checkpointed), and ``sample`` decodes z ~ N(mean, diag var).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from disbench.models import register
from disbench.models.base import Baseline, as_model_input, build_optimizer
from disbench.models.beta_vae import TRAVERSAL_RANGE, VAETrainingConfig, _chunks
from disbench.models.config import param
from disbench.models.nets import apply_init, make_decoder, make_encoder

#: weight of the newest batch in the running code statistics (BatchNorm's "momentum" convention)
CODE_STATS_MOMENTUM = 0.01


@dataclass(frozen=True)
class AEConfig(VAETrainingConfig):
    """Hyper-parameters of :class:`AE` (preset ``[profiles.<p>.model]``): the VAE family's
    architecture and optimiser fields, and the code size."""

    num_latents: int = param(10, "d, code dimensions (as the VAE rows: 10 on dSprites)")


@register
class AE(Baseline):
    """Deterministic autoencoder (see the module docstring). Hyper-parameters: :class:`AEConfig`."""

    name = "ae"
    supervision = "none"
    representation = "code f(x)"
    config_class = AEConfig

    def __init__(self, info, total_steps: int, config: AEConfig | None = None):
        super().__init__(info, total_steps, config)
        d = self.config.num_latents
        self.encoder = make_encoder(self.config.arch, info.observation_shape, d)
        self.decoder = make_decoder(self.config.arch, info.observation_shape, d)
        apply_init(self.encoder, self.config.init)  # "torch" (default) or "tf_default", as the VAE rows
        apply_init(self.decoder, self.config.init)
        self.register_buffer("code_mean", torch.zeros(d))
        self.register_buffer("code_var", torch.ones(d))

    def recon_loss(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(reconstruction, codes)``: binary cross-entropy of ``x`` ``(B, C, H, W)`` under the
        decoder's Bernoulli logits, summed over pixels and averaged over the batch (0-d, nats per
        image), and the codes f(x) ``(B, num_latents)``."""
        z = self.encoder(x)
        recon = F.binary_cross_entropy_with_logits(self.decoder(z).float(), x, reduction="sum") / x.shape[0]
        return recon, z

    def configure_optimizers(self):
        c = self.config
        return {"ae": build_optimizer(self.parameters(), c.optimizer, c.lr, c.betas, c.eps)}

    def training_step(self, batch, step, optimizers):
        recon, z = self.recon_loss(batch["x"])
        self.optimize(optimizers["ae"], recon)
        with torch.no_grad():
            z = z.float()
            self.code_mean.lerp_(z.mean(0), CODE_STATS_MOMENTUM)
            self.code_var.lerp_(z.var(0, unbiased=False), CODE_STATS_MOMENTUM)
        return {"loss": recon.detach(), "recon": recon.detach()}

    # --- what metrics and plots read --------------------------------------------------
    @property
    def num_codes(self) -> int:
        return self.config.num_latents

    @torch.no_grad()
    def encode(self, x) -> torch.Tensor:
        """The code f(x): images float32 ``(N, C, H, W)`` (tensor or array) -> float32
        ``(N, num_latents)`` on the CPU."""
        out = [self.encoder(as_model_input(chunk, self.device)).float().cpu() for chunk in _chunks(x)]
        return torch.cat(out) if out else torch.zeros(0, self.num_codes)

    def _code_sample(self, n: int, generator) -> torch.Tensor:
        return self.code_mean + self.code_var.sqrt() * self.randn(n, self.num_codes, generator=generator)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` images sigmoid(g(z)), z ~ N(code_mean, diag code_var) (the Gaussian fitted to
        the training codes): float32 CPU ``(n, C, H, W)`` in [0, 1]."""
        return torch.sigmoid(self.decoder(self._code_sample(n, generator)).float()).cpu()

    @torch.no_grad()
    def reconstruct(self, x) -> torch.Tensor:
        """sigmoid(g(f(x))): float32 CPU ``(N, C, H, W)``."""
        x = as_model_input(x, self.device)
        return torch.sigmoid(self.decoder(self.encoder(x)).float()).cpu()

    @torch.no_grad()
    def traverse(self, x, num_steps: int = 10, generator=None) -> torch.Tensor:
        """Latent traversals ``(num_latents, num_steps, C, H, W)`` on the CPU: from f(x[0]) (or a
        sample of the fitted Gaussian when ``x`` is None), latent i swept over its running mean
        ± 3 running standard deviations, the others fixed."""
        d = self.num_codes
        base = self._code_sample(1, generator) if x is None else self.encoder(as_model_input(x[:1], self.device))
        steps = torch.linspace(-TRAVERSAL_RANGE, TRAVERSAL_RANGE, num_steps, device=self.device)
        values = self.code_mean[:, None] + self.code_var.sqrt()[:, None] * steps[None, :]  # (d, num_steps)
        z = base.repeat(d * num_steps, 1).view(d, num_steps, d)
        idx = torch.arange(d, device=self.device)
        z[idx, :, idx] = values
        images = torch.sigmoid(self.decoder(z.view(-1, d)).float())
        return images.view(d, num_steps, *images.shape[1:]).cpu()
