"""The interface every baseline implements; the training core (``disbench.train``) drives it.

A baseline is an ``nn.Module`` that owns its optimisers and does its own optimisation
inside :meth:`Baseline.training_step` (GANs alternate several optimisers per step;
multi-phase methods such as Stacked GAN or a post-hoc encoder switch phase by step
number, so checkpoint/resume stays uniform: the whole state is the module, its
optimisers, the step and the RNG states).

Images at this boundary are float32 in [0, 1], shape ``(N, C, H, W)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import nn


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

    Args:
        info: the dataset description.
        total_steps: the number of training steps the profile asks for (phased
            methods split it themselves).
        **hparams: the preset profile's ``[profiles.<p>.model]`` table.
    """

    name: ClassVar[str] = ""
    supervision: ClassVar[str] = "none"
    representation: ClassVar[str] = ""

    def __init__(self, info: DatasetInfo, total_steps: int, **hparams):
        super().__init__()
        self.info = info
        self.total_steps = int(total_steps)
        self.hparams = dict(hparams)

    # --- training -----------------------------------------------------------------------
    def next_batch(self, dataset, batch_size: int, rng: np.random.Generator, step: int) -> dict:
        """Draw one training batch through the dataset interface.

        Default: uniform factors -> ``{"x": float32 (B, C, H, W), "factors": int64 (B, K)}``
        as numpy arrays; the core moves them to the device as tensors. DC-IGN overrides
        this with clamped batches.
        """
        factors, x = dataset.sample(batch_size, rng)
        return {"x": x, "factors": factors}

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Create the optimisers (by name) from ``self.hparams``; called once by the core."""
        raise NotImplementedError

    def training_step(self, batch: dict, step: int, optimizers: dict) -> dict[str, float]:
        """One optimisation step on ``batch`` (tensors on the model's device).

        Returns the loss terms as plain floats (logged to the train log and progress bar;
        a non-finite value fails the run).
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
