"""What the GAN baselines share: latent noise drawn through the core's data RNG, the
phase schedule of a post-hoc encoder, the adversarial losses, and the mode-collapse monitor.

Noise. Every latent vector a GAN step uses is drawn in :meth:`GanBaseline.next_batch`
from the numpy Generator the training core owns (and checkpoints), so a step is a pure
function of its batch and a resumed run draws the same noise as an uninterrupted one.

Phases. Methods with several phases (encoder pre-training, level-by-level training, a
post-hoc encoder) switch by step number only (:meth:`GanBaseline.phase`), never by
state kept elsewhere, so checkpoint/resume stays uniform.

Mode collapse. Every ``monitor_every`` steps the model counts the distinct shapes that
the metrics' factor classifier (:mod:`disbench.metrics.feature_net`) predicts on a
batch of generated images and reports it as the ``"distinct_shapes"`` loss-dict entry.
It is skipped (no entry at all) when that network is not available or not trained yet:
a training step never trains the classifier.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch
import torch.nn.functional as F

from disbench.errors import DisbenchError, InvalidInputError
from disbench.models.base import Baseline

#: images per generated batch used by the mode-collapse monitor
MONITOR_BATCH = 128


class GanBaseline(Baseline):
    """Base of the GAN baselines (InfoGAN, LSGAN, ACGAN, Stacked GAN).

    Subclasses set :attr:`noise_spec` (name -> (dim, low, high): each drawn i.i.d.
    uniform in ``[low, high)`` per example, float32) and :attr:`phases` (ordered
    ``(name, num_steps)``; the last phase takes the remaining steps).

    Common hyperparameters:
        monitor_every: steps between mode-collapse counts (0 disables; default 250).
        label_factor: name of the ground-truth factor used for labels and for the
            mode-collapse count (default ``"shape"``, or the first factor when the
            dataset has no factor of that name).
    """

    noise_spec: dict[str, tuple[int, float, float]] = {}

    def __init__(self, info, total_steps, *, monitor_every: int = 250, label_factor: str | None = None, **hparams):
        super().__init__(info, total_steps, monitor_every=monitor_every, label_factor=label_factor, **hparams)
        self.monitor_every = int(monitor_every)
        if label_factor is None:
            label_factor = "shape" if "shape" in info.factor_names else info.factor_names[0]
        if label_factor not in info.factor_names:
            raise InvalidInputError(
                f"label_factor {label_factor!r} is not a factor of {info.name}; "
                f"choose one of {', '.join(info.factor_names)}"
            )
        self.label_factor = label_factor
        self.label_index = info.factor_names.index(label_factor)
        self.num_classes = info.factors_num_values[self.label_index]
        self._monitor: list | None = None  # [factor classifier or None], loaded on first use
        self._last_distinct: float | None = None

    # --- phases ----------------------------------------------------------------------
    def phase_schedule(self) -> list[tuple[str, int]]:
        """Ordered ``(phase name, first step)``; the default is one phase ``"gan"``."""
        return [("gan", 0)]

    def phase(self, step: int) -> str:
        """Name of the phase that ``step`` belongs to."""
        current = self.phase_schedule()[0][0]
        for name, start in self.phase_schedule():
            if step >= start:
                current = name
        return current

    # --- data and noise ----------------------------------------------------------------
    def needs_real_data(self, step: int) -> bool:
        """Whether the step trains on real images (post-hoc phases do not)."""
        return True

    def next_batch(self, dataset, batch_size: int, rng: np.random.Generator, step: int) -> dict:
        """Real batch (when the phase uses one) plus this step's noise, all numpy.

        Returns ``{"x": float32 (B, C, H, W), "factors": int64 (B, K), <noise name>:
        float32 (B, dim), ...}``; ``x`` and ``factors`` are absent in phases that train
        on generated data only.
        """
        batch = super().next_batch(dataset, batch_size, rng, step) if self.needs_real_data(step) else {}
        for name, (dim, low, high) in self.noise_spec.items():
            batch[name] = rng.uniform(low, high, size=(batch_size, dim)).astype(np.float32)
        return batch

    def _noise(self, name: str, n: int, generator: torch.Generator | None) -> torch.Tensor:
        """``n`` noise vectors ``name`` drawn with a torch Generator (seed 0 when None)."""
        if generator is None:
            generator = torch.Generator().manual_seed(0)
        dim, low, high = self.noise_spec[name]
        gen_device = generator.device
        u = torch.rand(n, dim, generator=generator, device=gen_device)
        return (low + (high - low) * u).to(self.device)

    def _labels(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        """``n`` uniform class labels (int64) of the label factor."""
        if generator is None:
            generator = torch.Generator().manual_seed(1)
        y = torch.randint(self.num_classes, (n,), generator=generator, device=generator.device)
        return y.to(self.device)

    # --- sampling --------------------------------------------------------------------
    def generate(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        """``n`` images from the generator in eval mode (subclasses implement)."""
        raise NotImplementedError

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, chunk: int = 500) -> torch.Tensor:
        """``n`` generated images, float32 in [0, 1], ``(n, C, H, W)``, in chunks of
        ``chunk`` (generator networks in eval mode: BatchNorm uses running statistics)."""
        if generator is None:
            generator = torch.Generator().manual_seed(0)
        with eval_mode(self):
            parts = [self.generate(min(chunk, n - i), generator) for i in range(0, n, chunk)]
        if not parts:
            return torch.zeros((0, *self.info.observation_shape), device=self.device)
        return torch.cat(parts).float()

    # --- loss dict -----------------------------------------------------------------------
    #: every loss term the model reports, in every step (terms a phase does not train are 0.0,
    #: so the train log keeps one column per term)
    loss_keys: tuple[str, ...] = ()

    def losses(self, step: int, **terms: torch.Tensor | float) -> dict[str, float]:
        """The step's loss dict: :attr:`loss_keys` (0.0 where not in ``terms``) plus the
        mode-collapse count (:meth:`monitor`)."""
        out = {k: float(terms[k]) if k in terms else 0.0 for k in self.loss_keys}
        out.update(self.monitor(step))
        return out

    # --- mode-collapse monitor ---------------------------------------------------------
    def monitor(self, step: int) -> dict[str, float]:
        """``{"distinct_shapes": k}``: distinct label-factor values the metrics' factor
        classifier predicts on :data:`MONITOR_BATCH` generated images, recomputed every
        ``monitor_every`` steps (the last count is repeated in between); ``{}`` when the
        classifier is unavailable."""
        if self.monitor_every <= 0:
            return {}
        if step % self.monitor_every == 0 or self._last_distinct is None:
            net = self._feature_net()
            if net is None:
                return {}
            pred = net.predict(self.sample(MONITOR_BATCH, torch.Generator().manual_seed(step)))
            self._last_distinct = float(torch.unique(pred[:, self.label_index]).numel())
        return {"distinct_shapes": self._last_distinct}

    def _feature_net(self):
        # kept in a list so that it is not registered as a submodule (not in the state dict)
        if self._monitor is None:
            self._monitor = [_cached_feature_net(self.info.name)]
        return self._monitor[0]


def _cached_feature_net(dataset_name: str):
    """The metrics' trained factor classifier for ``dataset_name`` if it is already
    cached, else None (never trains one)."""
    from disbench import data
    from disbench.metrics.feature_net import load_cached_feature_net

    try:
        return load_cached_feature_net(data.load(dataset_name))
    except DisbenchError:  # e.g. a file-backed dataset whose file is absent
        return None


@contextlib.contextmanager
def eval_mode(module):
    """Context manager putting ``module`` in eval mode and restoring its mode after."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


# --- losses ------------------------------------------------------------------------------
def bce_real(logits: torch.Tensor) -> torch.Tensor:
    """``-mean log sigmoid(logits)``: binary cross-entropy against the label "real"."""
    return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))


def bce_fake(logits: torch.Tensor) -> torch.Tensor:
    """``-mean log(1 - sigmoid(logits))``: binary cross-entropy against "fake"."""
    return F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits))


def requires_grad(module, flag: bool) -> None:
    """Switch gradient tracking of all parameters of ``module``."""
    for p in module.parameters():
        p.requires_grad_(flag)


@contextlib.contextmanager
def frozen(*modules):
    """Context manager: no gradients for the parameters of ``modules`` inside it (the
    discriminator during a generator update); tracking is switched back on after."""
    for m in modules:
        requires_grad(m, False)
    try:
        yield
    finally:
        for m in modules:
            requires_grad(m, True)


def adam(params, lr: float, beta1: float, beta2: float = 0.999) -> torch.optim.Adam:
    """Adam over ``params`` (a list of parameters)."""
    return torch.optim.Adam(params, lr=lr, betas=(beta1, beta2))


def linspace_traversal(base: torch.Tensor, index: int, low: float, high: float, num_steps: int) -> torch.Tensor:
    """``num_steps`` copies of latent ``base`` (D,) with coordinate ``index`` swept
    linearly from ``low`` to ``high``: ``(num_steps, D)``."""
    z = base.unsqueeze(0).repeat(num_steps, 1)
    z[:, index] = torch.linspace(low, high, num_steps, device=base.device)
    return z
