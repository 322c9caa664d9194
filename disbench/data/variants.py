"""color-, noisy- and scream-dSprites, as disentanglement_lib defines them.

Locatello et al. 2019, "Challenging Common Assumptions in the Unsupervised Learning of
Disentangled Representations" (ICML), Sec. 5 and disentanglement_lib's
``data/ground_truth/dsprites.py``: the factor grid is dSprites' own; each observation draws
fresh randomness, so the same factors give different images (``deterministic = False``):

* color-dSprites: the binary sprite image is repeated over 3 channels and multiplied by a
  colour drawn uniformly from [0.5, 1]^3 per observation (the background stays black);
* noisy-dSprites: the background is replaced by independent uniform noise in [0, 1] per
  pixel and channel, i.e. ``min(sprite + noise, 1)`` (the sprite stays white);
* scream-dSprites: the background is a random 64×64 patch of Munch's *The Scream*
  (``scream.jpg``, shrunk to fit 350×274 px by Pillow's ``thumbnail``), averaged with a
  colour drawn uniformly from [0, 1]^3, ``(patch + colour) / 2``; the sprite's pixels are
  inverted, ``1 - background``. Patch corners are drawn uniformly from
  ``[0, H - 64) × [0, W - 64)`` (disentanglement_lib's ``randint(0, H - 64)``, upper bound
  excluded). Any RGB image at least 65×65 px after the thumbnail works in place of the
  painting (``image=``).

Both wrap any dSprites source: procedural (:class:`~disbench.data.dsprites.DSprites`) or
the published file (:class:`~disbench.data.dsprites_file.DSpritesFile`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from disbench.data import dsprites
from disbench.data.base import GroundTruthDataset
from disbench.data.integrity import check_recorded
from disbench.data.manifest import manifest, missing_file_error
from disbench.errors import DataFileError, InvalidInputError

SCREAM_SIZE = (350, 274)  # disentanglement_lib: scream.thumbnail((350, 274, 3))


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


class ScreamDSprites(_DSpritesVariant):
    """scream-dSprites: observations float32 in [0, 1], shape ``(n, 3, 64, 64)``; a random
    patch of the painting, averaged with a random colour, with the sprite inverted.

    Args:
        base: a single-channel dSprites dataset.
        image: the painting (any image file Pillow reads; converted to RGB); default
            ``scream.jpg`` in the data cache.

    Raises:
        MissingFileError: the image is absent (the message gives the download command).
        ChecksumError: ``scream.jpg`` in the data cache changed since its sha256 was
            recorded on first use (:mod:`disbench.data.integrity`).
        DataFileError: not a readable image (truncated, not an image), or smaller than
            65×65 px after the thumbnail.
    """

    name = "scream_dsprites"

    def __init__(self, base: GroundTruthDataset, image: str | os.PathLike | None = None):
        super().__init__(base)
        spec = manifest(self.name).files[0]
        self.image_path = Path(image) if image is not None else spec.path()
        if not self.image_path.is_file():
            raise missing_file_error(self.name, self.image_path)
        if image is None:
            check_recorded(self.name, spec, self.image_path)
        self.scream = read_painting(self.image_path, self.name)

    def _observations(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        sprites = self._sprites(factors, rng)
        n, (h, w) = len(sprites), self.scream.shape[:2]
        rows = rng.integers(0, h - 64, size=n)[:, None, None] + np.arange(64)[None, :, None]
        cols = rng.integers(0, w - 64, size=n)[:, None, None] + np.arange(64)[None, None, :]
        patches = self.scream[rows, cols].transpose(0, 3, 1, 2)  # (n, 3, 64, 64)
        colour = rng.uniform(0.0, 1.0, size=(n, 3, 1, 1)).astype(np.float32)
        background = (patches + colour) / np.float32(2)
        return np.where(sprites == 1, 1 - background, background).astype(np.float32)


def read_painting(path: Path, dataset: str) -> np.ndarray:
    """The painting as float32 RGB in [0, 1], shape ``(H, W, 3)``, shrunk by Pillow's
    ``thumbnail`` to fit :data:`SCREAM_SIZE` (aspect kept; never enlarged).

    Raises:
        DataFileError: unreadable or truncated image, or smaller than 65×65 px.
    """
    try:
        with Image.open(path) as img:
            img = img.convert("RGB")  # decodes the whole file: a truncated one fails here
            img.thumbnail(SCREAM_SIZE)
            pixels = np.asarray(img, dtype=np.float32) / np.float32(255)
    except (OSError, UnidentifiedImageError, ValueError) as e:
        raise DataFileError(
            f"{dataset}: {path} is not a readable image ({e}); delete it and re-download it with "
            f"`disbench datasets download {dataset}`, or pass another image file"
        ) from None
    if min(pixels.shape[:2]) <= 64:
        raise DataFileError(
            f"{dataset}: {path} is {pixels.shape[1]}×{pixels.shape[0]} px after fitting it into "
            f"{SCREAM_SIZE[0]}×{SCREAM_SIZE[1]}; a 64×64 patch needs at least 65 px each way"
        )
    return pixels


def load(name: str, source: str = "procedural", image: str | os.PathLike | None = None, **options) -> GroundTruthDataset:
    """``name`` (``"color_dsprites"``, ``"noisy_dsprites"`` or ``"scream_dsprites"``) over the
    dSprites of ``source`` (see :func:`disbench.data.dsprites.load`; ``options`` go to it);
    ``image`` is scream-dSprites' painting (see :class:`ScreamDSprites`)."""
    base = dsprites.load("dsprites", source, **options)
    if name == "scream_dsprites":
        return ScreamDSprites(base, image=image)
    if image is not None:
        raise InvalidInputError(f"{name} takes no image; only scream_dsprites does")
    return {"color_dsprites": ColorDSprites, "noisy_dsprites": NoisyDSprites}[name](base)
