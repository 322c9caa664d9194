"""What the GAN baselines share: latent noise drawn through the core's data RNG, the
phase schedule of a post-hoc encoder, the adversarial losses, and the mode-collapse monitor.

Noise. Every latent vector a GAN step uses is drawn in :meth:`GanBaseline.next_batch`
from the numpy Generator the training core owns (and checkpoints), so a step is a pure
function of its batch and a resumed run draws the same noise as an uninterrupted one.

Phases. Methods with several phases (encoder pre-training, level-by-level training, a
post-hoc encoder) switch by step number only (:meth:`GanBaseline.phase`), never by
state kept elsewhere, so checkpoint/resume stays uniform.

Mode collapse. A GAN asks the training core to run the
:class:`~disbench.callbacks.ModeCollapseMonitor` callback (every ``monitor_every`` steps:
the distinct shapes the metrics' factor classifier predicts on generated images, logged as
``"distinct_shapes"``; nothing when that classifier is not cached yet).

Loss dicts hold detached 0-d tensors (0.0 for terms a phase does not train), so a step
never waits for the device; the core converts them when it writes a log row.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from disbench.callbacks import ModeCollapseMonitor
from disbench.errors import InvalidInputError
from disbench.models.base import Baseline
from disbench.models.config import BaselineConfig, param


@dataclass(frozen=True)
class GanConfig(BaselineConfig):
    """Hyper-parameters every GAN baseline has (their configs extend this one)."""

    monitor_every: int = param(250, "steps between mode-collapse counts (ModeCollapseMonitor); 0 disables")
    label_factor: str | None = param(None, 'ground-truth factor used for labels and the mode-collapse count '
                                           '(None: "shape", or the first factor if there is none)')


class GanBaseline(Baseline):
    """Base of the GAN baselines (InfoGAN, LSGAN, ACGAN, Stacked GAN).

    Subclasses set :attr:`noise_spec` (name -> (dim, low, high): each drawn i.i.d.
    uniform in ``[low, high)`` per example, float32) and may override
    :meth:`phase_schedule`; their config extends :class:`GanConfig`.

    Raises:
        InvalidInputError: ``label_factor`` is not a factor of the dataset.
    """

    noise_spec: dict[str, tuple[int, float, float]] = {}
    config_class = GanConfig

    def __init__(self, info, total_steps, config: GanConfig | None = None):
        super().__init__(info, total_steps, config)
        label_factor = self.config.label_factor
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

    def callbacks(self):
        """The mode-collapse monitor on the label factor (none when ``monitor_every`` is 0)."""
        every = self.config.monitor_every
        return [ModeCollapseMonitor(every, self.label_index)] if every > 0 else []

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

    def losses(self, **terms: torch.Tensor) -> dict[str, torch.Tensor | float]:
        """The step's loss dict: each of :attr:`loss_keys`, detached (0.0 where not in ``terms``)."""
        return {k: terms[k].detach() if k in terms else 0.0 for k in self.loss_keys}


@contextlib.contextmanager
def eval_mode(*modules):
    """Context manager putting ``modules`` in eval mode and restoring their modes after;
    yields the first."""
    was_training = [m.training for m in modules]
    for m in modules:
        m.eval()
    try:
        yield modules[0]
    finally:
        for m, mode in zip(modules, was_training, strict=True):
            m.train(mode)


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
