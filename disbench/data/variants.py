"""color-dSprites and noisy-dSprites, as disentanglement_lib defines them.

Locatello et al. 2019, "Challenging Common Assumptions in the Unsupervised Learning of
Disentangled Representations" (ICML), Sec. 5 and disentanglement_lib's
``data/ground_truth/dsprites.py``: the factor grid is dSprites' own; each observation draws
fresh randomness, so the same factors give different images (``deterministic = False``):

* color-dSprites: the binary sprite image is repeated over 3 channels and multiplied by a
  colour drawn uniformly from [0.5, 1]^3 per observation (the background stays black);
* noisy-dSprites: the background is replaced by independent uniform noise in [0, 1] per
  pixel and channel, i.e. ``min(sprite + noise, 1)`` (the sprite stays white).

Both wrap any dSprites source: procedural (:class:`~disbench.data.dsprites.DSprites`) or
the published file (:class:`~disbench.data.dsprites_file.DSpritesFile`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from disbench.data import dsprites
from disbench.data.base import GroundTruthDataset
from disbench.errors import InvalidInputError


class _DSpritesVariant(GroundTruthDataset):
    """A dSprites variant over ``base`` (a single-channel dSprites dataset)."""

    deterministic = False

    def __init__(self, base: GroundTruthDataset):
        if base.observation_shape[0] != 1:
            raise InvalidInputError(f"{self.name} needs a single-channel dSprites base, got {base!r}")
        self.base = base
        self.factor_names = base.factor_names
        self.factors_num_values = base.factors_num_values
        self.factor_values = base.factor_values
        self.observation_shape = (3, *base.observation_shape[1:])

    def prepare(self, progress: bool = True) -> Path:
        """Materialise the base dataset's cache (the variant itself caches nothing)."""
        return self.base.prepare(progress=progress)

    def _sprites(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Base observations repeated over 3 channels, float32 ``(n, 3, H, W)``."""
        return np.repeat(self.base._observations(factors, rng), 3, axis=1)


class ColorDSprites(_DSpritesVariant):
    """color-dSprites: observations float32 in [0, 1], shape ``(n, 3, 64, 64)``; the
    sprite is multiplied by a colour ~ U[0.5, 1]^3 drawn per observation."""

    name = "color_dsprites"

    def _observations(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        sprites = self._sprites(factors, rng)
        colour = rng.uniform(0.5, 1.0, size=(len(sprites), 3, 1, 1)).astype(np.float32)
        return sprites * colour


class NoisyDSprites(_DSpritesVariant):
    """noisy-dSprites: observations float32 in [0, 1], shape ``(n, 3, 64, 64)``; the
    background is uniform noise in [0, 1] drawn per pixel, the sprite is white."""

    name = "noisy_dsprites"

    def _observations(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        sprites = self._sprites(factors, rng)
        noise = rng.random(sprites.shape, dtype=np.float32)
        return np.minimum(sprites + noise, np.float32(1))


def load(name: str, source: str = "procedural", **options) -> GroundTruthDataset:
    """``name`` (``"color_dsprites"`` or ``"noisy_dsprites"``) over the dSprites of
    ``source`` (see :func:`disbench.data.dsprites.load`; ``options`` go to it)."""
    variant = {"color_dsprites": ColorDSprites, "noisy_dsprites": NoisyDSprites}[name]
    return variant(dsprites.load("dsprites", source, **options))
