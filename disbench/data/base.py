"""The ground-truth dataset interface.

Method names follow disentanglement_lib's ``GroundTruthData`` (``num_factors``,
``factors_num_values``, ``observation_shape``, ``sample_factors``,
``sample_observations_from_factors``) so results can be cross-checked; every dataset is
also a :class:`torch.utils.data.Dataset` over its full factor grid.

Factor indices are int64; the flat index of a factor combination is mixed radix with
the last factor varying fastest, as in the published dSprites file
(``index = sum_i factors[i] * prod(factors_num_values[i+1:])``).
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import torch

from disbench.errors import InvalidInputError
from disbench.rng import as_generator


class GroundTruthDataset(torch.utils.data.Dataset):
    """A dataset whose observations are generated from discrete ground-truth factors.

    Subclasses set ``name``, ``factor_names``, ``factors_num_values``,
    ``observation_shape`` (and optionally ``factor_values``) and implement
    :meth:`_observations` on validated factor indices.

    Attributes:
        name: registry name, e.g. ``"dsprites"``.
        factor_names: one name per factor, in grid order.
        factors_num_values: number of values of each factor.
        observation_shape: ``(C, H, W)`` of one observation.
        factor_values: per factor, the float64 values the indices stand for
            (e.g. dSprites scale ``linspace(0.5, 1, 6)``).
        deterministic: True when an observation is a function of its factors alone
            (so an encoder's codes can be cached by flat index); False for variants
            that draw randomness per observation (color-/noisy-dSprites).
    """

    name: ClassVar[str] = ""
    deterministic: ClassVar[bool] = True
    #: attributes holding open files or memory maps: set to None when the dataset is pickled
    #: (DataLoader workers, Ray tasks) and reopened lazily in the receiving process
    reopened_after_pickling: ClassVar[tuple[str, ...]] = ()
    factor_names: tuple[str, ...] = ()
    factors_num_values: tuple[int, ...] = ()
    observation_shape: tuple[int, int, int] = (1, 64, 64)
    factor_values: tuple[np.ndarray, ...] = ()

    def __getstate__(self):
        state = dict(self.__dict__)
        for attr in self.reopened_after_pickling:
            state[attr] = None
        return state

    # --- disentanglement_lib interface -------------------------------------------------
    @property
    def num_factors(self) -> int:
        """Number of ground-truth factors."""
        return len(self.factors_num_values)

    def sample_factors(self, num: int, random_state) -> np.ndarray:
        """Draw ``num`` factor combinations uniformly from the grid.

        Returns:
            int64 array, shape ``(num, num_factors)``.
        """
        rng = as_generator(random_state)
        num = _check_count(num)
        sizes = np.asarray(self.factors_num_values, dtype=np.int64)
        return rng.integers(0, sizes, size=(num, len(sizes)), dtype=np.int64)

    def sample_observations_from_factors(self, factors, random_state) -> np.ndarray:
        """Observations for given factor indices.

        Args:
            factors: integer array, shape ``(n, num_factors)``.
            random_state: Generator or int seed (used only by non-deterministic datasets).

        Returns:
            float32 array in [0, 1], shape ``(n, C, H, W)``.

        Raises:
            InvalidInputError: wrong shape or an index out of its factor's range.
        """
        factors = self.validate_factors(factors)
        return self._observations(factors, as_generator(random_state))

    def sample(self, num: int, random_state) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``num`` (factors, observations) pairs; shapes as in the two methods above."""
        rng = as_generator(random_state)
        factors = self.sample_factors(num, rng)
        return factors, self.sample_observations_from_factors(factors, rng)

    def sample_observations(self, num: int, random_state) -> np.ndarray:
        """Draw ``num`` observations, float32 ``(num, C, H, W)``."""
        return self.sample(num, random_state)[1]

    # --- weak and few-label supervision -----------------------------------------------------
    def sample_pairs(self, num: int, k: int, random_state) -> dict:
        """Draw ``num`` pairs of observations that share all but a few factors (weak supervision).

        Locatello et al. 2020 (ICML), "Weakly-Supervised Disentanglement Without Compromises";
        the draw follows disentanglement_lib's ``methods/weak/train_weak_lib.py``
        (``simple_dynamics``), per pair:

        1. k_observed = ``k``, or for ``k = -1`` uniform on {1, ..., K − 1} (K = number of
           factors with more than one value);
        2. the number of changed factors is 1 or k_observed, each with probability ½ (the
           reference's ``random_state.choice([1, k_observed])``);
        3. that many distinct factors are chosen uniformly and each gets a new value.

        Deviation: the reference redraws a chosen factor uniformly over all its values (with
        the global numpy RNG), so it keeps its value with probability 1/size and the pair then
        differs in fewer factors; here the new value is uniform over the *other* values, so the
        pair differs in exactly ``num_changed`` factors, as the paper describes the setting.

        Args:
            num: number of pairs.
            k: changed factors per pair, in [1, K], or -1 for a random k as above.
            random_state: Generator or int seed (all randomness, including observations).

        Returns:
            ``{"factors", "factors2"}`` int64 ``(num, num_factors)``; ``{"x", "x2"}`` float32
            ``(num, C, H, W)`` in [0, 1]; ``"num_changed"`` int64 ``(num,)``; ``"changed"``
            int64 ``(num,)``, the index of the changed factor drawn last (the reference's label,
            ``return_index=True``; the only one when ``num_changed`` is 1).

        Raises:
            InvalidInputError: ``k`` not -1 and outside [1, K]; K = 0, or K = 1 with ``k = -1``.
        """
        rng = as_generator(random_state)
        num = _check_count(num)
        sizes = np.asarray(self.factors_num_values, dtype=np.int64)
        varying = np.flatnonzero(sizes > 1)
        n_var = len(varying)
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not (k == -1 or 1 <= k <= n_var):
            raise InvalidInputError(f"k (changed factors per pair) must be -1 (random) or in [1, {n_var}] for "
                                    f"{self.name}, got {k!r}")
        if n_var == 0 or (k == -1 and n_var < 2):
            raise InvalidInputError(f"{self.name} has {n_var} varying factor(s): too few to draw pairs with k={k}")
        k_observed = np.full(num, k, dtype=np.int64) if k != -1 else rng.integers(1, n_var, size=num)
        num_changed = np.where(rng.random(num) < 0.5, 1, k_observed)
        # a uniform random order of the varying factors per pair; the first num_changed change
        rank = np.argsort(rng.random((num, n_var)), axis=1).argsort(axis=1)
        change = rank < num_changed[:, None]
        factors = self.sample_factors(num, rng)
        factors2 = factors.copy()
        offset = rng.integers(1, sizes[varying][None, :], size=(num, n_var))
        moved = (factors[:, varying] + offset) % sizes[varying][None, :]
        factors2[:, varying] = np.where(change, moved, factors[:, varying])
        last = np.where(change, rank, -1).argmax(axis=1)
        x = self.sample_observations_from_factors(np.concatenate([factors, factors2]), rng)
        return {"x": x[:num], "x2": x[num:], "factors": factors, "factors2": factors2,
                "num_changed": num_changed.astype(np.int64), "changed": varying[last].astype(np.int64)}

    def labelled_subset(self, num_labels: int, random_state) -> tuple[np.ndarray, np.ndarray]:
        """The labelled observations of the few-labels setting: ``num_labels`` factor
        combinations drawn uniformly, their observations and their true factor indices
        (Locatello et al. 2020, ICLR, "Disentangling Factors of Variation Using Few Labels":
        100 or 1,000 labels; disentanglement_lib ``semi_supervised_utils.py``,
        ``sample_supervised_data`` with ``perfect_labeller``). The same ``random_state`` seed
        gives the same subset.

        Returns:
            ``(observations float32 (num_labels, C, H, W), factors int64 (num_labels, num_factors))``.

        Raises:
            InvalidInputError: ``num_labels`` not a positive int.
        """
        if _check_count(num_labels) < 1:
            raise InvalidInputError(f"num_labels must be ≥ 1, got {num_labels}")
        factors, x = self.sample(num_labels, as_generator(random_state))
        return x, factors

    # --- flat indices -----------------------------------------------------------------
    @property
    def _strides(self) -> np.ndarray:
        sizes = np.asarray(self.factors_num_values, dtype=np.int64)
        return np.concatenate([np.cumprod(sizes[::-1])[::-1][1:], [1]]).astype(np.int64)

    def index_of(self, factors) -> np.ndarray:
        """Flat indices (int64, shape ``(n,)``) of factor combinations ``(n, num_factors)``."""
        factors = self.validate_factors(factors)
        return factors @ self._strides

    def factors_of(self, index) -> np.ndarray:
        """Factor indices (int64, shape ``(n, num_factors)``) of flat indices ``(n,)``.

        Raises:
            InvalidInputError: an index outside ``[0, len(self))``.
        """
        index = np.asarray(index)
        if index.ndim == 0:
            index = index[None]
        if index.ndim != 1 or not np.issubdtype(index.dtype, np.integer):
            raise InvalidInputError(f"index must be a 1-d integer array, got shape {index.shape} dtype {index.dtype}")
        index = index.astype(np.int64)
        if index.size and (index.min() < 0 or index.max() >= len(self)):
            raise InvalidInputError(f"index out of range [0, {len(self)}) for {self.name}")
        sizes = np.asarray(self.factors_num_values, dtype=np.int64)
        return (index[:, None] // self._strides[None, :]) % sizes[None, :]

    def validate_factors(self, factors) -> np.ndarray:
        """Return ``factors`` as int64 ``(n, num_factors)``; raise InvalidInputError otherwise."""
        factors = np.asarray(factors)
        if factors.ndim == 1 and factors.shape[0] == self.num_factors:
            factors = factors[None]
        if factors.ndim != 2 or factors.shape[1] != self.num_factors:
            raise InvalidInputError(
                f"factors must have shape (n, {self.num_factors}) for {self.name} "
                f"({', '.join(self.factor_names)}), got {factors.shape}"
            )
        if factors.size and not np.issubdtype(factors.dtype, np.integer):
            if not np.all(np.equal(np.mod(factors, 1), 0)):
                raise InvalidInputError("factors must be integer indices, not factor values")
        factors = factors.astype(np.int64)
        if factors.size:
            sizes = np.asarray(self.factors_num_values)
            bad = (factors < 0) | (factors >= sizes[None, :])
            if bad.any():
                col = int(np.argwhere(bad)[0, 1])
                raise InvalidInputError(
                    f"factor {self.factor_names[col]!r} index out of range [0, {sizes[col]})"
                )
        return factors

    # --- torch Dataset ------------------------------------------------------------------
    def __len__(self) -> int:
        return math.prod(self.factors_num_values)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(observation float32 (C, H, W), factors int64 (num_factors,))`` at flat index ``i``.

        Non-deterministic datasets seed the per-item randomness with the index, so an
        item is the same every time it is read.
        """
        if i < 0:
            i += len(self)
        factors = self.factors_of(np.asarray([i], dtype=np.int64))
        obs = self._observations(factors, np.random.default_rng(i))
        return torch.from_numpy(obs[0]), torch.from_numpy(factors[0])

    # --- to implement ---------------------------------------------------------------------
    def _observations(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Render/look up observations for validated int64 factors ``(n, num_factors)``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        facs = ", ".join(f"{n}={k}" for n, k in zip(self.factor_names, self.factors_num_values))
        return f"<{type(self).__name__} {self.name!r}: {facs}; observation {self.observation_shape}>"


def _check_count(num) -> int:
    if not isinstance(num, (int, np.integer)) or isinstance(num, bool) or num < 0:
        raise InvalidInputError(f"number of samples must be a non-negative int, got {num!r}")
    return int(num)


def uint8_to_model_images(images: np.ndarray) -> np.ndarray:
    """uint8 images ``(N, H, W)`` (grey) or ``(N, H, W, C)`` -> float32 ``(N, C, H, W)`` in [0, 1]."""
    images = images[:, None] if images.ndim == 3 else images.transpose(0, 3, 1, 2)
    return (images / np.float32(255)).astype(np.float32)
