"""DC-IGN (Kulkarni, Whitney, Kohli & Tenenbaum 2015, NeurIPS): a VAE trained with
clamped mini-batches.

Training procedure (Kulkarni et al. 2015, Section 3.1, adapted from faces to
ground-truth-factor datasets):

1. Latent dims are assigned to factors: one dim per *extrinsic* factor (dSprites: scale,
   orientation, posX, posY — the paper's azimuth, elevation, light) and a block of
   ``num_intrinsic`` dims for the *intrinsic* factors (dSprites: shape — the paper's face
   identity/shape/texture). On dSprites that is 4 + 6 = 10 latents.
2. Each step picks one batch type — an extrinsic factor, or "intrinsic" — and draws a
   *clamped mini-batch* through the dataset interface: one factor combination is drawn,
   then the active factor(s) are redrawn per example, all others stay fixed.
   Batch-type schedule: extrinsic factors with weight 1 each, the intrinsic type with
   weight ``intrinsic_weight``. The paper (Section 3.1) selects batch types "in a ratio of
   about 1:1:1:10, azimuth:elevation:lighting:intrinsic" because its intrinsic block
   (~200 latents) is much larger than the three extrinsic ones; the reference code's
   default draws the four types uniformly (``utils.lua``, ``load_random_mv_batch``;
   1:1:1:16 only with ``--shape_bias``). Our default and the ``paper`` profile are
   uniform, weight 1 per factor: on dSprites the intrinsic block is 6 latents for one
   factor (shape), and 1:…:10 would make 10/14 of the batches shape-only (at most 3
   distinct images each) and leave each extrinsic latent active in ~7 % of the steps.
   Datasets without an intrinsic factor use plain (all-factors) batches for the
   intrinsic type.
3. The encoder outputs (μ and log σ², as in the reference code where the clamp sits on
   both heads) of the dims *not* assigned to the active type are replaced by their
   **batch mean** before sampling and decoding ("clamped"); the active dims pass through.
   The mean is the paper's target (Section 3.1, step 5: "replace the values z_i ≠ z_train
   with their averages over the entire batch"); the reference code's forward clamp copies
   the batch's *first* sample instead (``SelectiveOutputClamp.lua``: ``output[i] =
   input[1]``). We follow the paper; the two agree in expectation over the batch order.
4. In the backward pass the gradient of each clamped dim is *replaced* by its deviation
   from the batch mean ("invariance targeting", Section 3.2): for example k,
   ``grad h_k = invariance_strength · (h_k − mean_j h_j) / B`` — exactly the gradient of
   ``invariance_strength/(2B) · Σ_k ||h_k − h̄||²`` (B = batch size; the 1/B matches
   our batch-mean loss to the reference code's batch-sum loss, so the ratio to the
   reconstruction gradient is the reference's). The decoder's and KL's gradients for those
   dims are discarded; active dims get the ordinary gradient. Section 3.2: "This
   regularizing force needs to be scaled to be much smaller than the true training
   signal, otherwise it can overwhelm the reconstruction goal. Empirically, a factor of
   1/100 works well" — our default ``invariance_strength`` is 0.01 (the reference code's
   ``SelectiveGradientFilter.lua`` multiplies by ``invariance_strength``, 0 unless set on
   the command line). Implemented as the custom autograd Function
   :class:`ClampToBatchMean`, which computes the clamp and this gradient in float32 even
   under bf16 autocast (the deviations from the mean are small differences of similar
   numbers).

Warm-up: the reference code's clamped-batch trainer (``monovariant_main.lua``: "Ideally
preload model trained using main.lua") is meant to start from a VAE trained on ordinary
batches (``main.lua``; the README: "pre-training the network with main.lua followed by
monovariant_main.lua gives better results"); neither gives its length. ``warmup_fraction``
of the steps do that here: ordinary batches of all factors, every dim active. The
``paper`` profile uses 0.1 (30,000 of 300,000 steps; why that long: see the preset).

Leaving the early posterior collapse in a short run (the ``quick`` profile; both switches
are off by default and in the ``paper`` profile):

* ``data_output_bias``: at the first step the bias of the decoder's last layer is set to the
  logit of the first batch's mean pixel intensity (a data-dependent initialisation; the
  paper and the reference code use the default initialisation). Cause of the collapse it
  removes: with the default bias 0 the decoder starts at p = 0.5 per pixel (≈ 2,800 nats
  per 64×64 image) while dSprites images are ~4 % white; Adam moves each weight ~lr per
  step, so at lr 1e-3 the decoder needs ~200 steps just to learn the dark mean image, and
  meanwhile the KL term pulls q(z|x) onto the prior and the decoder learns to ignore z
  (KL ≈ 0.01 nats, the β-VAE metric at chance). Clamped batches make it worse (one dim
  gets a reconstruction gradient per batch; shape-only batches carry little signal): in
  our runs the clamped-batch phase never left the collapse within 500 steps, and 250
  ordinary warm-up steps left it in some seeds only. With this initialisation the KL was
  ≈ 10 nats after 50 steps in each of our four runs (two DC-IGN, two VAE).
* ``kl_warmup_fraction``: the KL weight rises linearly from ~0 to 1 over the first
  ``kl_warmup_fraction`` of the steps ("KL cost annealing", Bowman et al. 2016, CoNLL,
  Section 3.1). A weaker alternative to the above: with the ordinary warm-up it left the
  collapse after ~150-200 steps in two of our three runs and not in the third.

Objective otherwise as a VAE (β = 1): Bernoulli BCE + KL, batch-averaged. Optimiser of the
reference code: its ``rmsprop.lua`` is Adam-like — m ← 0.9·m + 0.1·g, v ← 0.99·v + 0.01·g²,
bias-corrected, lr 5e-4 (``momentumDecay`` 0.1, ``updateDecay`` 0.01 in
``monovariant_main.lua``), i.e. Adam(lr 5e-4, betas (0.9, 0.99)) up to where ε enters
(inside the square root there) — not torch's RMSprop. The paper's network (96 feature
maps, 5×5 convs with max pooling, 200 latents, 150×150 inputs, batch 20) was for faces; we
use the shared conv architecture of :mod:`disbench.models.nets` for 64×64 inputs.

Representation (``encode``): the posterior mean μ(x) of all dims (unclamped).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from disbench.models import register
from disbench.models.base import DatasetInfo
from disbench.models.beta_vae import BetaVAE, VAETrainingConfig
from disbench.models.config import param


class ClampToBatchMean(torch.autograd.Function):
    """Forward: columns outside ``active`` replaced by their batch mean. Backward: active
    columns pass the incoming gradient; the others get ``strength · (h − mean) / B``.

    ``h``: ``(B, D)`` (computed and returned in float32, or float64 for float64 input),
    ``active``: bool ``(D,)``; the gradient returned for ``h`` has ``h``'s dtype."""

    @staticmethod
    def forward(ctx, h: torch.Tensor, active: torch.Tensor, strength: float):
        ctx.in_dtype = h.dtype
        h = h.to(torch.promote_types(h.dtype, torch.float32))
        mean = h.mean(0, keepdim=True)
        ctx.save_for_backward(h, mean, active)
        ctx.strength = strength
        return torch.where(active, h, mean.expand_as(h))

    @staticmethod
    def backward(ctx, grad_out):
        h, mean, active = ctx.saved_tensors
        invariance = (h - mean) * (ctx.strength / h.shape[0])
        return torch.where(active, grad_out.to(h.dtype), invariance).to(ctx.in_dtype), None, None


@dataclass(frozen=True)
class DCIGNConfig(VAETrainingConfig):
    """Hyper-parameters of :class:`DCIGN` (preset ``[profiles.<p>.model]``); β is fixed to 1."""

    num_intrinsic: int = param(6, "size of the intrinsic latent block (dims)")
    intrinsic_factors: tuple[str, ...] = param(
        ("shape",), "factors the intrinsic block represents (names absent from the dataset are ignored)")
    intrinsic_weight: float = param(1.0, "schedule weight of intrinsic batches (extrinsic factors weigh 1 each); "
                                         "1 = uniform, the reference code's default (the paper's faces: ~10)")
    invariance_strength: float = param(0.01, "scale of the invariance gradient of clamped dims (Sec. 3.2: "
                                             "'a factor of 1/100 works well')")
    warmup_fraction: float = param(0.0, "leading fraction of the steps on ordinary (unclamped) batches, in [0, 1)")
    kl_warmup_fraction: float = param(0.0, "leading fraction of the steps over which the KL weight rises "
                                            "linearly to 1 (Bowman et al. 2016), in [0, 1]; 0: none")
    data_output_bias: bool = param(False, "initialise the decoder's output bias from the first batch's mean "
                                          "intensity (module docstring)")
    optimizer: str = param("adam", '"adam", "rmsprop" or "adagrad" (the reference code\'s rmsprop.lua is Adam '
                                   'with betas (0.9, 0.99): module docstring)')
    lr: float = param(5e-4, "learning rate (per step; the reference code: 5e-4)")
    betas: tuple[float, float] = param((0.9, 0.99), "Adam's (β1, β2); the reference rmsprop.lua's "
                                                    "momentumDecay 0.1 / updateDecay 0.01")


@register
class DCIGN(BetaVAE):
    """DC-IGN on a ground-truth dataset. Hyper-parameters: :class:`DCIGNConfig`."""

    name = "dcign"
    supervision = "clamped batches"
    representation = "posterior mean μ(x): one dim per extrinsic factor + intrinsic block"
    config_class = DCIGNConfig

    def __init__(self, info: DatasetInfo, total_steps: int, config: DCIGNConfig | None = None):
        super().__init__(info, total_steps, config)
        c = self.config
        extrinsic = self.extrinsic
        self.warmup_steps = int(c.warmup_fraction * self.total_steps)
        self.kl_warmup_steps = int(c.kl_warmup_fraction * self.total_steps)
        # batch type t < len(extrinsic): extrinsic factor extrinsic[t] (latent dim t);
        # t == len(extrinsic): intrinsic (latent dims len(extrinsic)..num_latents-1)
        weights = np.array([1.0] * len(extrinsic) + [c.intrinsic_weight])
        self.type_probs = weights / weights.sum()
        # row len(extrinsic) + 1: warm-up batches, every dim active
        masks = torch.zeros(len(extrinsic) + 2, self.num_latents, dtype=torch.bool)
        for t in range(len(extrinsic)):
            masks[t, t] = True
        masks[len(extrinsic), len(extrinsic):] = True
        masks[len(extrinsic) + 1] = True
        self.register_buffer("active_masks", masks, persistent=False)

    def latent_dims(self) -> int:
        """One dim per extrinsic factor plus the intrinsic block (sets :attr:`intrinsic` and
        :attr:`extrinsic`, the factor indices)."""
        names = self.info.factor_names
        self.intrinsic = [i for i, n in enumerate(names) if n in set(self.config.intrinsic_factors)]
        self.extrinsic = [i for i in range(len(names)) if i not in self.intrinsic]
        return len(self.extrinsic) + self.config.num_intrinsic

    def next_batch(self, dataset, batch_size, rng, step):
        """A clamped mini-batch: ``{"x", "factors", "batch_type"}``; one factor combination
        with the active factor(s) redrawn per example (see the module docstring). During
        the warm-up, an ordinary batch (``batch_type`` = number of extrinsic factors + 1)."""
        if step < self.warmup_steps:
            factors, x = dataset.sample(batch_size, rng)
            return {"x": x, "factors": factors, "batch_type": len(self.extrinsic) + 1}
        t = int(rng.choice(len(self.type_probs), p=self.type_probs))
        varying = [self.extrinsic[t]] if t < len(self.extrinsic) else (self.intrinsic or list(range(len(self.info.factor_names))))
        factors = np.repeat(dataset.sample_factors(1, rng), batch_size, axis=0)
        sizes = np.asarray(self.info.factors_num_values)
        for f in varying:
            factors[:, f] = rng.integers(0, sizes[f], size=batch_size)
        x = dataset.sample_observations_from_factors(factors, rng)
        return {"x": x, "factors": factors, "batch_type": t}

    def kl_weight(self, step: int) -> float:
        """Weight of the KL term at ``step``: rises linearly from 1/n to 1 over the first
        n = ``kl_warmup_fraction · total_steps`` steps, then 1."""
        return min(1.0, (step + 1) / self.kl_warmup_steps) if self.kl_warmup_steps else 1.0

    def training_step(self, batch, step, optimizers):
        x, active = batch["x"], self.active_masks[batch["batch_type"]]
        if step == 0 and self.config.data_output_bias:
            self.init_output_bias(x)
        mu, logvar = self.posterior(x)
        mu = ClampToBatchMean.apply(mu, active, self.config.invariance_strength)
        logvar = ClampToBatchMean.apply(logvar, active, self.config.invariance_strength)
        z = mu + (0.5 * logvar).exp() * self.randn(*mu.shape).to(mu.dtype)
        recon, kl = self.loss_terms(x, self.decode_logits(z), mu, logvar)
        loss = recon + self.kl_weight(step) * kl
        self.optimize(optimizers["vae"], loss)
        return {"loss": loss.detach(), "recon": recon.detach(), "kl": kl.detach()}
