"""The Baseline contract: what a model class implements; the training core (``disbench.train``) drives it.

A baseline is an ``nn.Module`` that owns its optimisers and does its own optimisation
inside :meth:`Baseline.training_step` (GANs alternate several optimisers per step;
multi-phase methods such as Stacked GAN or a post-hoc encoder switch phase by step
number, so checkpoint/resume stays uniform: the whole state is the module, its
optimisers, the step and the RNG states).

The contract (checked by ``disbench check-model package.module:Class`` and
:func:`disbench.testing.check_model`):

Class attributes
    ``name`` (str), ``supervision`` (``"none"``, ``"factor labels"`` or ``"clamped
    batches"``), ``representation`` (what :meth:`~Baseline.encode` returns, in words) and
    ``config_class``: a frozen :class:`~disbench.models.config.BaselineConfig` dataclass
    whose fields (each with a default and a doc) are the hyper-parameters a preset's
    ``[profiles.<p>.model]`` table sets. Read them as ``self.config.<field>``.
Construction
    ``__init__(info: DatasetInfo, total_steps: int, config: XConfig | None = None)`` calls
    ``super().__init__(info, total_steps, config)`` and builds the networks. Weights are
    initialised from the global torch RNG, which the core seeds (``build_model``).
Training
    :meth:`~Baseline.configure_optimizers` returns ``{name: optimizer}`` (their states are
    checkpointed). :meth:`~Baseline.training_step` ``(batch, step, optimizers)`` does one
    step: ``batch`` holds tensors on the model's device from :meth:`~Baseline.next_batch`
    (default ``{"x": float32 (B, C, H, W) in [0, 1], "factors": int64 (B, K)}``); update with
    ``self.optimize(optimizer, loss)``; return ``{term: detached 0-d tensor or float}``
    (the train log's columns; a non-finite value fails the run).
Randomness
    Training noise comes from :attr:`~Baseline.generator` (``self.randn``/``self.rand``);
    batches from the numpy Generator the core passes to ``next_batch``; both are saved in
    checkpoints. State that must survive a resume lives in parameters, buffers, optimiser
    states or a callback's declared state (:mod:`disbench.callbacks`) — never in plain
    attributes. A run resumed from ``checkpoints/last.pt`` ends bit-identical (CPU).
Packing (optional; ``disbench run/study --pack N``, :mod:`disbench.packing`)
    A class opts in by declaring, *in its own class body* (a subclass that does not repeat
    it trains alone), ``pack_hyperparameters``: the config fields that may differ between
    the models of one pack (β, γ, λ, C_max ...; floats). It then implements two hooks and
    trains itself through them, so that solo and packed training share one loss:

    - :meth:`~Baseline.pack_noise` ``(batch_size, step)``: every noise tensor of one step,
      drawn from :attr:`~Baseline.generator` in the order ``training_step`` used;
    - :meth:`~Baseline.pack_loss` ``(batch, noise, hparams, step)`` ->
      ``({optimizer name: 0-d loss}, {term: detached 0-d tensor})``: a *pure* function of the
      module's parameters and buffers, the batch, the noise and ``hparams`` (``{field: 0-d
      tensor or float}``; read the packed fields there, never from ``self.config``). All
      losses of a step are computed from the parameters before any update, and each
      parameter's gradient comes only from the loss of the optimiser that owns it (detach
      the rest: FactorVAE's VAE loss reads D through detached parameters), so one backward
      over their sum gives every optimiser its gradient (:func:`step_optimizers`).

    The core evaluates ``pack_loss`` with ``torch.func.functional_call`` under
    ``torch.vmap`` over N stacked copies of the parameters (``torch.func.stack_module_state``;
    the PyTorch "model ensembling" tutorial), so it must not draw random numbers, mutate
    state, read ``self.device`` or branch on tensor values. Optimisers must be element-wise
    (Adam, RMSprop, Adagrad: one optimiser over stacked parameters equals N of them) and
    alike across the pack; BatchNorm running statistics cannot pack
    (:meth:`~Baseline.pack_blocker`). GANs do not declare it (they keep their own
    alternating steps).
Outputs (under ``torch.no_grad``, eval mode)
    :meth:`~Baseline.encode`: float32 ``(N, C, H, W)`` -> float32 ``(N, num_codes)`` tensor,
    finite, each row depending only on its image; :attr:`~Baseline.num_codes` is its width.
    :meth:`~Baseline.sample` ``(n, generator)``: float32 ``(n, C, H, W)`` in [0, 1], all noise
    from ``generator``. :meth:`~Baseline.traverse` ``(x, num_steps, generator)``:
    ``(num_codes, num_steps, C, H, W)``. :meth:`~Baseline.reconstruct`: images like ``x``, or
    None.

Images at this boundary are float32 in [0, 1], shape ``(N, C, H, W)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from disbench.errors import InvalidInputError, unknown_name
from disbench.models.config import BaselineConfig


@dataclass(frozen=True)
class DatasetInfo:
    """What a baseline may know of its dataset (never the dataset object itself)."""

    name: str
    observation_shape: tuple[int, int, int]
    factor_names: tuple[str, ...]
    factors_num_values: tuple[int, ...]

    @classmethod
    def of(cls, dataset) -> DatasetInfo:
        return cls(
            dataset.name,
            tuple(dataset.observation_shape),
            tuple(dataset.factor_names),
            tuple(int(k) for k in dataset.factors_num_values),
        )


class Baseline(nn.Module):
    """Base class of the baselines.

    Class attributes (also stored in the run record and shown on the leaderboard):
        name: registry name (``"beta_vae"``).
        supervision: ``"none"``, ``"factor labels"`` or ``"clamped batches"``.
        representation: what :meth:`encode` returns, in words.
        config_class: the :class:`~disbench.models.config.BaselineConfig` subclass holding
            the hyper-parameters (built from the preset profile's ``model`` table).

    Args:
        info: the dataset description.
        total_steps: the number of training steps the profile asks for (phased
            methods split it themselves).
        config: an instance of :attr:`config_class` (default: all its defaults).

    Raises:
        InvalidInputError: ``config`` is not an instance of :attr:`config_class`.
    """

    name: ClassVar[str] = ""
    supervision: ClassVar[str] = "none"
    representation: ClassVar[str] = ""
    config_class: ClassVar[type[BaselineConfig]] = BaselineConfig

    def __init__(self, info: DatasetInfo, total_steps: int, config: BaselineConfig | None = None):
        super().__init__()
        if config is None:
            config = self.config_class()
        if not isinstance(config, self.config_class):
            raise InvalidInputError(
                f"{type(self).__name__} takes a {self.config_class.__name__}, got {type(config).__name__}"
            )
        self.info = info
        self.total_steps = int(total_steps)
        self.config = config

    # --- training -----------------------------------------------------------------------
    def next_batch(self, dataset, batch_size: int, rng: np.random.Generator, step: int) -> dict:
        """Draw one training batch through the dataset interface.

        Must depend only on its arguments (not on parameters): the core may draw batches
        ahead of training in a background thread, always in step order from one ``rng``.

        Default: uniform factors -> ``{"x": float32 (B, C, H, W), "factors": int64 (B, K)}``
        as numpy arrays; the core moves them to the device as tensors. DC-IGN overrides
        this with clamped batches.
        """
        factors, x = dataset.sample(batch_size, rng)
        return {"x": x, "factors": factors}

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Create the optimisers (by name) from ``self.config``; called once by the core."""
        raise NotImplementedError

    @staticmethod
    def optimize(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        """One gradient step of ``optimizer`` on ``loss`` (gradients zeroed to None first)."""
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    # --- packing (optional; see the module docstring) -----------------------------------------
    #: config fields that may differ between the models of a pack; None: the class trains alone.
    #: Only a declaration in the class's own body counts (:meth:`packable`).
    pack_hyperparameters: ClassVar[tuple[str, ...] | None] = None

    @classmethod
    def packable(cls) -> bool:
        """True when ``cls`` itself declares :attr:`pack_hyperparameters` (not inherited: a
        subclass that changes the training step must opt in again)."""
        return cls.__dict__.get("pack_hyperparameters") is not None

    def pack_blocker(self) -> str | None:
        """Why this instance cannot train in a pack (None when it can): the class does not
        declare the hooks, or a module keeps BatchNorm running statistics."""
        if not self.packable():
            return f"{type(self).__name__} does not declare pack_hyperparameters (the packing hooks)"
        for name, module in self.named_modules():
            if isinstance(module, nn.modules.batchnorm._NormBase) and module.track_running_stats:
                return f"{type(self).__name__}.{name} keeps BatchNorm running statistics"
        return None

    def pack_hparams(self) -> dict[str, float]:
        """The values of :attr:`pack_hyperparameters` in ``self.config`` (floats)."""
        return {k: float(getattr(self.config, k)) for k in self.pack_hyperparameters or ()}

    def pack_noise(self, batch_size: int, step: int) -> dict[str, torch.Tensor]:
        """All training noise of step ``step`` for a batch of ``batch_size``, drawn from
        :attr:`generator` in the order the step uses it: ``{name: tensor}`` on the model's device."""
        raise NotImplementedError

    def pack_loss(self, batch: dict, noise: dict, hparams: dict, step: int) -> tuple[dict, dict]:
        """The pure per-model loss of one step: ``({optimizer name: 0-d loss}, {term: detached
        0-d tensor})`` from the batch, :meth:`pack_noise`'s noise and ``hparams`` (see the
        module docstring for what it may not do)."""
        raise NotImplementedError

    def callbacks(self) -> list:
        """Training callbacks (:class:`disbench.callbacks.Callback`) the core runs after each
        step, their state checkpointed with the model; default none."""
        return []

    def training_step(self, batch: dict, step: int, optimizers: dict) -> dict[str, float]:
        """One optimisation step on ``batch`` (tensors on the model's device).

        Returns the loss terms as plain floats or detached 0-d tensors (tensors let the core
        avoid a device sync every step); they go to the train log and progress bar, and a
        non-finite value fails the run.
        """
        raise NotImplementedError

    # --- what metrics and plots read ------------------------------------------------------
    @property
    def num_codes(self) -> int:
        """Dimension of :meth:`encode`'s output."""
        raise NotImplementedError

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Representation of observations: float32 ``(N, C, H, W)`` -> float32 ``(N, num_codes)``."""
        raise NotImplementedError

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` generated images, float32 in [0, 1], ``(n, C, H, W)`` (for FID and grids)."""
        raise NotImplementedError

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor | None:
        """Reconstructions of ``x`` (VAEs); None for models without one."""
        return None

    @torch.no_grad()
    def traverse(self, x: torch.Tensor | None, num_steps: int, generator=None) -> torch.Tensor:
        """Latent traversal images ``(num_codes, num_steps, C, H, W)``: each code varied over
        its range with the others fixed (Higgins et al. 2017, Fig. 7 style)."""
        raise NotImplementedError

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    # --- training randomness (set by the core; saved in checkpoints) ----------------------
    def set_generator(self, generator: torch.Generator) -> None:
        """Use ``generator`` (on the model's device) for all training noise; the core seeds
        it from the run seed and saves/restores its state in checkpoints."""
        self._generator = generator

    @property
    def generator(self) -> torch.Generator:
        """The training-noise generator (a fresh one seeded 0 if the core set none)."""
        gen = getattr(self, "_generator", None)
        if gen is None or gen.device != self.device:
            gen = torch.Generator(self.device).manual_seed(0)
            self._generator = gen
        return gen

    def randn(self, *shape: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Standard normal float32 noise of ``shape`` on the model's device (from
        ``generator``, default :attr:`generator`; a generator on another device draws there
        and the noise is moved)."""
        gen = generator or self.generator
        return torch.randn(shape, generator=gen, device=gen.device).to(self.device)

    def rand(self, *shape: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Uniform [0, 1) float32 noise of ``shape`` on the model's device."""
        gen = generator or self.generator
        return torch.rand(shape, generator=gen, device=gen.device).to(self.device)


def step_optimizers(optimizers: dict[str, torch.optim.Optimizer], losses: dict[str, torch.Tensor]) -> None:
    """One step of every optimiser on one backward over the sum of ``losses`` (``{optimizer
    name: 0-d loss}``, the keys of ``optimizers``); each parameter's gradient must come from
    its own optimiser's loss only (:meth:`Baseline.pack_loss`). Gradients are zeroed to None first.

    Raises:
        InvalidInputError: ``losses`` and ``optimizers`` name different optimisers.
    """
    if set(losses) != set(optimizers):
        raise InvalidInputError(f"losses name {sorted(losses)}, the optimisers are {sorted(optimizers)}")
    for opt in optimizers.values():
        opt.zero_grad(set_to_none=True)
    sum(losses.values()).backward()
    for opt in optimizers.values():
        opt.step()


#: optimiser names :func:`build_optimizer` knows
OPTIMIZERS = ("adam", "rmsprop", "adagrad")


def build_optimizer(params, name: str = "adam", lr: float = 1e-4, betas=(0.9, 0.999), eps: float = 1e-8,
                    weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """The optimiser a preset names: ``"adam"``, ``"rmsprop"`` or ``"adagrad"``.

    ``betas``/``eps`` apply to Adam; ``eps`` also to RMSprop and Adagrad.

    Raises:
        UnknownNameError: unknown optimiser name.
    """
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, eps=eps, weight_decay=weight_decay)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, eps=eps, weight_decay=weight_decay)
    raise unknown_name("optimizer", name, OPTIMIZERS)


def as_model_input(x, device: torch.device) -> torch.Tensor:
    """A tensor or numpy array of images as a float32 tensor on ``device``."""
    if not isinstance(x, torch.Tensor):
        x = torch.from_numpy(np.asarray(x, dtype=np.float32))
    return x.to(device=device, dtype=torch.float32)
