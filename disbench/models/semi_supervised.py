"""Few-label (semi-supervised) disentanglement: the supervised regularisers, the annealers and
the shared training of the S²-VAEs (Locatello, Tschannen, Bauer, Rätsch, Schölkopf, Bachem 2020,
ICLR, "Disentangling Factors of Variation Using Few Labels"; disentanglement_lib
``methods/semi_supervised/semi_supervised_vae.py`` and ``train_semi_supervised_lib.py``).

A helper module (it registers no model): each method is its own module and preset —
``s2_beta_vae``, ``s2_factor_vae``, ``s2_dip_vae``, ``s2_beta_tc_vae`` (each
``class S2X(SemiSupervisedVAE, X)`` over the unsupervised model ``X`` it extends, whose
regulariser and, for FactorVAE, discriminator step it reuses unchanged) and ``supervised_vae``.

Objective of the S²-VAEs (disentanglement_lib ``BaseS2VAE.model_fn``), per step::

    loss = [unsupervised loss of X on an unlabelled batch] + γ_sup(step) · R_s(μ(x_l), v_l)

with R_s one of the supervised regularisers below, evaluated on the posterior means μ(x_l) of a
batch of *labelled* observations x_l with factor labels v_l (int64 factor indices), and tying
latent i to factor i (the first ``num_factors`` latents; needs ``num_latents`` ≥ ``num_factors``).

Labelled data (the data layer: :meth:`~disbench.data.base.GroundTruthDataset.labelled_subset`):
``num_labels`` observations drawn once with seed ``label_seed`` (dlib ``supervised_data_seed``),
of which the first ⌈``train_fraction`` · ``num_labels``⌉ are trained on (dlib
``train_test_split`` with ``train_percentage`` 0.9; the rest is its validation split, unused here).
Step s takes the labelled examples s·B, …, s·B + B − 1 modulo that number, in order (dlib
repeats the labelled set without shuffling and zips it with the unlabelled stream); the unlabelled
batch is an ordinary uniform batch from the run's data stream. Labels are the true factors
(dlib's ``perfect_labeller``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from disbench.errors import InvalidInputError
from disbench.models.base import DatasetInfo
from disbench.models.beta_vae import BetaVAE
from disbench.models.config import BaselineConfig, check_choice, param
from disbench.models.gan_common import frozen

SUPERVISED_LOSSES = ("xent", "l2", "cov", "embed", "mine")
ANNEALERS = ("fixed", "anneal", "fine_tune")


@dataclass(frozen=True)
class LabelsConfig(BaselineConfig):
    """The labelled data and the supervised regulariser (fields shared by the few-label models)."""

    num_labels: int = param(100, "labelled observations drawn (Locatello et al. 2020 ICLR: 100 or 1,000; the "
                                 "preset's supervision says which)")
    label_seed: int = param(0, "seed of the labelled subset (dlib supervised_data_seed); the same seed, the same subset")
    train_fraction: float = param(0.9, "fraction of the labelled observations trained on, rounded up "
                                       "(dlib train_percentage = 0.9 in tests/methods/semi_supervised/train_test.gin)")
    supervised_loss: str = param("xent", '"xent", "l2", "cov", "embed" (module functions supervised_*) or "mine" '
                                         "(MineVAE's Σ_{l≠r} MI(z_r; v_l)², :class:`MINE`)")
    mine_lr: float = param(0.01, "mine: Adam learning rate of the MINE statistics networks (dlib: 0.01)")
    l2_learn_scale: bool = param(True, 'l2: learn a scalar scale b of the codes (dlib default) instead of '
                                       'comparing sigmoid(codes) with labels / factor size')
    embed_sigma: float = param(1.0, "embed: softmax temperature σ (dlib embed.sigma, no default there)")
    embed_learn_sigma: bool = param(False, "embed: learn σ (dlib sigma = 'learn'), starting at embed_sigma")
    embed_use_order: bool = param(False, "embed: factor values embedded on a learned line slope·i + bias "
                                         "(dlib use_order) instead of free embeddings")

    def __post_init__(self):
        parent = getattr(super(), "__post_init__", None)
        if parent is not None:
            parent()
        check_choice("supervised_loss", self.supervised_loss, SUPERVISED_LOSSES)
        if self.num_labels < 1:
            raise InvalidInputError(f"num_labels must be ≥ 1, got {self.num_labels}")
        if not 0.0 < self.train_fraction <= 1.0:
            raise InvalidInputError(f"train_fraction must be in (0, 1], got {self.train_fraction}")
        if self.label_seed < 0:
            raise InvalidInputError(f"label_seed must be a non-negative seed, got {self.label_seed}")


@dataclass(frozen=True)
class SemiSupervisedConfig(LabelsConfig):
    """:class:`LabelsConfig` plus the weight of the supervised term and its annealing."""

    gamma_sup: float = param(4.0, "γ_sup, weight of the supervised regulariser; dimensionless "
                                  "(dlib tests/methods/semi_supervised/train_test.gin: s2_vae.gamma_sup = 4)")
    annealer: str = param("fixed", '"fixed" (γ_sup), "anneal" (γ_sup · min(1, step / T)) or "fine_tune" '
                                   "(0 up to step T, then γ_sup); dlib annealer.anneal_fn")
    iteration_threshold: int = param(1, "T of the annealer, steps (dlib annealer.iteration_threshold; test config: 1)")

    def __post_init__(self):
        super().__post_init__()
        check_choice("annealer", self.annealer, ANNEALERS)
        if self.iteration_threshold < 1:
            raise InvalidInputError(f"iteration_threshold must be ≥ 1 step, got {self.iteration_threshold}")


def annealed_weight(gamma: float, step: int, iteration_threshold: int, annealer: str) -> float:
    """Weight of the supervised term at 0-based ``step`` (dlib ``fixed_annealer``,
    ``annealed_annealer``, ``fine_tune_annealer``): ``fixed`` γ; ``anneal`` min(γ, γ·step/T);
    ``fine_tune`` γ·min(1, max(0, step − T)) (0 up to and including step T)."""
    if annealer == "fixed":
        return gamma
    if annealer == "anneal":
        return min(gamma, gamma * step / iteration_threshold)
    return gamma * min(1.0, max(0.0, float(step - iteration_threshold)))


# --- supervised regularisers R_s(codes, labels): codes (B, d) float, labels (B, K) int64 indices ---
def supervised_xent(codes: torch.Tensor, labels: torch.Tensor, sizes) -> torch.Tensor:
    """Σ over the batch and the first K latents of the sigmoid cross-entropy between logits
    ``codes[:, :K]`` and targets labels / factor size (in [0, 1)); dlib ``supervised_regularizer_xent``.
    0-d, nats (a sum, not a mean, as dlib)."""
    k = labels.shape[1]
    targets = labels.to(codes.dtype) / torch.as_tensor(sizes, dtype=codes.dtype, device=codes.device)
    return F.binary_cross_entropy_with_logits(codes[:, :k], targets, reduction="sum")


def supervised_l2(codes: torch.Tensor, labels: torch.Tensor, sizes, scale: torch.Tensor | None) -> torch.Tensor:
    """Σ (b · codes[:, :K] − labels)² with a learned scalar ``scale`` b (dlib ``supervised_regularizer_l2``,
    ``learn_scale=True``: raw factor indices as targets); with ``scale`` None,
    Σ (sigmoid(codes[:, :K]) − labels / size)² (``learn_scale=False`` as its docstring describes it;
    dlib's code broadcasts an extra axis there, ``(B, 1, K) − (B, K)``, comparing every code with
    every label of the batch). 0-d."""
    k = labels.shape[1]
    labels = labels.to(codes.dtype)
    if scale is not None:
        return (codes[:, :k] * scale - labels).pow(2).sum()
    sizes = torch.as_tensor(sizes, dtype=codes.dtype, device=codes.device)
    return (torch.sigmoid(codes[:, :k]) - labels / sizes).pow(2).sum()


def supervised_cov(codes: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Σ of the squared off-diagonal entries of the (d, K) cross-covariance between codes and labels
    (population, 1/B), the first min(d, K) diagonal entries zeroed (dlib ``supervised_regularizer_cov``:
    each latent should co-vary only with its own factor). 0-d."""
    labels = labels.to(codes.dtype)
    cov = ((codes - codes.mean(0))[:, :, None] * (labels - labels.mean(0))[:, None, :]).mean(0)
    n = min(cov.shape)
    keep = torch.ones_like(cov)
    keep[torch.arange(n), torch.arange(n)] = 0
    return (cov * keep).pow(2).sum()


def supervised_embed(codes: torch.Tensor, labels: torch.Tensor, embeddings, sigma) -> torch.Tensor:
    """Σ over the first K latents of the softmax cross-entropy (mean over the batch) of the label
    among the factor's values, with logits −((code_i − e_{i,v}) · σ)² over the embeddings e_i
    ``(size_i,)`` of factor i's values (dlib ``supervised_regularizer_embed``). ``embeddings``: K
    tensors; ``sigma``: float or 0-d tensor. 0-d, nats."""
    loss = codes.new_zeros(())
    for i, e in enumerate(embeddings):
        logits = -((codes[:, i : i + 1] - e[None, :]) * sigma).pow(2)
        loss = loss + F.cross_entropy(logits, labels[:, i].long())
    return loss


class MINE(nn.Module):
    """One MINE statistics network per (factor l, latent r) pair, evaluated together (Belghazi et al.
    2018, ICML, "Mutual Information Neural Estimation"; disentanglement_lib ``semi_supervised_vae.py``,
    ``mine`` and ``MineVAE``): T_lr(x, v) = w2 · ELU(a_x x + b_x + a_v v + b_v) + b2 with 20 hidden
    units, x the latent's code and v the factor's label (raw index, as a float). Glorot-uniform
    weights and zero biases (TensorFlow's dense-layer default, which dlib uses)."""

    def __init__(self, num_factors: int, num_latents: int, hidden: int = 20):
        super().__init__()
        shape = (num_factors, num_latents, hidden)
        limit = math.sqrt(6.0 / (1 + hidden))
        self.a_x = nn.Parameter((torch.rand(shape) * 2 - 1) * limit)
        self.a_v = nn.Parameter((torch.rand(shape) * 2 - 1) * limit)
        self.b = nn.Parameter(torch.zeros(shape))  # b_x + b_v: one bias, both start at 0
        self.w2 = nn.Parameter((torch.rand(shape) * 2 - 1) * limit)
        self.b2 = nn.Parameter(torch.zeros(num_factors, num_latents))

    def statistics(self, codes: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """T ``(B, K, d)`` for codes ``(B, d)`` and labels ``(B, K, d)`` (a label per network)."""
        h = F.elu(codes[:, None, :, None] * self.a_x + labels[..., None] * self.a_v + self.b)
        return (h * self.w2).sum(-1) + self.b2

    def mutual_information(self, codes: torch.Tensor, labels: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Donsker-Varadhan estimates Î(z_r; v_l) ``(K, d)``, nats: mean_b T(x_b, v_b) + log B −
        logsumexp_b T(x_b, v_π(b)), with the labels of each network permuted across the batch by
        argsort of ``noise`` (uniform ``(B, K, d)``; dlib ``shuffle_codes``).

        Args:
            codes: ``(B, d)`` float; labels: ``(B, K)`` int64 factor indices.
        """
        b, k = labels.shape
        v = labels.to(codes.dtype)[:, :, None].expand(b, k, codes.shape[1])
        shuffled = v.gather(0, noise.argsort(dim=0))
        joint = self.statistics(codes, v).mean(0)
        marginal = torch.logsumexp(self.statistics(codes, shuffled), dim=0) - math.log(b)
        return joint - marginal


def supervised_mine(mi: torch.Tensor) -> torch.Tensor:
    """Σ_{l≠r} Î_lr² over a ``(K, d)`` matrix of mutual-information estimates between factor l and
    latent r (dlib ``MineVAE``: latent i should carry information on factor i only). 0-d."""
    off = torch.ones_like(mi)
    n = min(mi.shape)
    off[torch.arange(n), torch.arange(n)] = 0
    return (mi * off).pow(2).sum()


class SemiSupervisedVAE(BetaVAE):
    """Adds the labelled batch and γ_sup · R_s to a VAE-family model (see the module docstring).

    Not registered: ``class S2X(SemiSupervisedVAE, X)`` with ``config_class`` a dataclass over
    ``(SemiSupervisedConfig, XConfig)``. The supervised term enters through :meth:`vae_loss`, so
    ``X``'s own ``training_step`` (FactorVAE's discriminator step included) runs unchanged.

    Raises:
        InvalidInputError: fewer latents than factors (R_s ties latent i to factor i).
    """

    representation = "posterior mean μ(x); latent i tied to factor i by the labels"

    def __init__(self, info: DatasetInfo, total_steps: int, config=None):
        super().__init__(info, total_steps, config)
        c, sizes = self.config, info.factors_num_values
        if self.num_latents < len(sizes):
            raise InvalidInputError(f"the supervised regulariser ties latent i to factor i: num_latents must be ≥ the "
                                    f"{len(sizes)} factors of {info.name}, got {self.num_latents}")
        self.scale = nn.Parameter(torch.ones(())) if c.supervised_loss == "l2" and c.l2_learn_scale else None
        self.embeddings = nn.ParameterList()
        self.embed_line = self.sigma = self.mine = None
        if c.supervised_loss == "mine":
            self.mine = MINE(len(sizes), self.num_latents)
        if c.supervised_loss == "embed":
            if c.embed_use_order:  # a line through the value indices: slope 1, bias 0 at the start
                self.embed_line = nn.Parameter(torch.tensor([[1.0, 0.0]] * len(sizes)))
            else:  # dlib's tf.get_variable default: Glorot uniform, limit sqrt(6 / (n + n))
                for n in sizes:
                    self.embeddings.append(nn.Parameter((torch.rand(n) * 2 - 1) * math.sqrt(3.0 / n)))
            self.sigma = nn.Parameter(torch.tensor(c.embed_sigma)) if c.embed_learn_sigma else None
        self._labelled_train = None
        self._batch_labelled = None
        self._mine_inputs = None

    # --- data -----------------------------------------------------------------------------
    def labelled_train_set(self, dataset) -> tuple[np.ndarray, np.ndarray]:
        """The labelled observations trained on, ``(float32 (n, C, H, W), int64 (n, K))``: the first
        ⌈train_fraction · num_labels⌉ of ``dataset.labelled_subset(num_labels, label_seed)``. A
        function of the config alone (cached; the same after a resume)."""
        if self._labelled_train is None:
            c = self.config
            x, factors = dataset.labelled_subset(c.num_labels, c.label_seed)
            n = math.ceil(c.num_labels * c.train_fraction)
            self._labelled_train = (x[:n], factors[:n])
        return self._labelled_train

    def next_batch(self, dataset, batch_size, rng, step):
        """An unlabelled uniform batch ``{"x", "factors"}`` (the labels of ``factors`` are never read)
        plus the labelled one ``{"x_labelled" float32 (B, C, H, W), "labels" int64 (B, K)}``:
        labelled training examples s·B … s·B + B − 1 modulo their number (module docstring)."""
        factors, x = dataset.sample(batch_size, rng)
        x_l, labels = self.labelled_train_set(dataset)
        idx = (step * batch_size + np.arange(batch_size)) % len(labels)
        return {"x": x, "factors": factors, "x_labelled": x_l[idx], "labels": labels[idx]}

    # --- loss -------------------------------------------------------------------------------
    def supervised_regularizer(self, codes: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """R_s of ``config.supervised_loss`` on posterior means ``codes`` ``(B, d)`` and labels ``(B, K)``; 0-d."""
        c, sizes = self.config, self.info.factors_num_values
        codes = codes.float()
        if c.supervised_loss == "xent":
            return supervised_xent(codes, labels, sizes)
        if c.supervised_loss == "l2":
            return supervised_l2(codes, labels, sizes, self.scale)
        if c.supervised_loss == "cov":
            return supervised_cov(codes, labels)
        if c.supervised_loss == "mine":
            self._mine_inputs = (codes.detach(), labels)
            mine = self.mine
            with frozen(mine):
                return supervised_mine(mine.mutual_information(codes, labels, self.rand(len(labels), *mine.b2.shape)))
        if c.embed_use_order:
            embeddings = [torch.arange(n, device=codes.device) * a + b for n, (a, b) in zip(sizes, self.embed_line)]
        else:
            embeddings = list(self.embeddings)
        return supervised_embed(codes, labels, embeddings, self.sigma if self.sigma is not None else c.embed_sigma)

    def supervised_weight(self, step: int) -> float:
        """γ_sup(step) (:func:`annealed_weight`)."""
        c = self.config
        return annealed_weight(c.gamma_sup, step, c.iteration_threshold, c.annealer)

    def supervised_term(self) -> torch.Tensor:
        """R_s on the current step's labelled batch (set by :meth:`training_step`)."""
        x_l, labels = self._batch_labelled
        return self.supervised_regularizer(self.posterior(x_l)[0], labels)

    def vae_loss(self, x, step, noise=None, hparams=None):
        """The unsupervised model's loss plus γ_sup(step) · R_s; the log gains ``sup``."""
        loss, terms, z = super().vae_loss(x, step, noise, hparams)
        sup = self.supervised_term()
        loss = loss + self.supervised_weight(step) * sup
        return loss, {**terms, "loss": loss.detach(), "sup": sup.detach()}, z

    def configure_optimizers(self):
        """The model's optimisers; with ``"mine"`` the statistics networks leave the VAE optimiser
        for their own Adam (``mine_lr``), as dlib trains them apart."""
        optimizers = super().configure_optimizers()
        if self.mine is not None:
            own = {id(p) for p in self.mine.parameters()}
            for group in optimizers["vae"].param_groups:
                group["params"] = [p for p in group["params"] if id(p) not in own]
            optimizers["mine"] = torch.optim.Adam(self.mine.parameters(), lr=self.config.mine_lr)
        return optimizers

    def pack_loss(self, batch, noise, hparams, step):
        """The unsupervised model's losses, its VAE loss with γ_sup · R_s (:meth:`vae_loss`); with
        ``"mine"`` also ``"mine"``: minus the statistics networks' estimates on the same detached
        codes, so they step from the same parameters as the VAE (dlib groups the two train ops)."""
        losses, terms = super().pack_loss(batch, noise, hparams, step)
        if self.mine is not None:
            codes, labels = self._mine_inputs
            self._mine_inputs = None
            mi = self.mine.mutual_information(codes, labels, self.rand(len(labels), *self.mine.b2.shape))
            losses = {**losses, "mine": -mi.sum()}
            terms = {**terms, "mi": mi.detach().sum()}
        return losses, terms

    def training_step(self, batch, step, optimizers):
        """The unsupervised model's step on the unlabelled batch, the labelled batch set for R_s."""
        self._batch_labelled = (batch["x_labelled"], batch["labels"])
        try:
            return super().training_step(batch, step, optimizers)
        finally:
            self._batch_labelled = None
