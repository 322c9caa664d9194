"""The noise floor of a metric: how much its score moves when only the metric's own random
draws change (the factors sampled, the train/test split, the classifier's randomness) and
the representation stays the same.

:func:`metric_noise` re-scores one representation at ``n`` further metric seeds and
reports the sample standard deviation over all ``n + 1`` scores. The leaderboard sets it
beside the standard deviation over training seeds (which contains this noise too): where
the metric noise is as large as the seed spread, differences between models are mostly
evaluation noise. The extra seeds share the evaluation's :class:`~disbench.metrics.codes.CodeCache`,
so on a deterministic dataset an observation drawn again is not encoded again.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from disbench.errors import InvalidInputError

# mixed into the seed sequence so that the noise seeds never coincide with training seeds
NOISE_STREAM = 0x6E6F6973  # "nois"


def noise_seeds(seed: int, n: int) -> list[int]:
    """``n`` metric seeds derived from the evaluation seed ``seed`` (numpy ``SeedSequence``
    of ``(seed, NOISE_STREAM)``): deterministic, distinct from ``seed`` with overwhelming
    probability, and different for every ``seed``."""
    if n < 0:
        raise InvalidInputError(f"the number of noise seeds must be non-negative, got {n}")
    return [int(s) for s in np.random.SeedSequence([int(seed), NOISE_STREAM]).generate_state(n, dtype=np.uint32)]


def metric_noise(name: str, score_at: Callable[[int], float], first: float, seed: int, n: int) -> dict:
    """Score a metric again at ``n`` noise seeds and summarise the spread.

    Args:
        name: metric name (prefix of the returned keys).
        score_at: ``metric seed -> headline score`` on the same representation.
        first: the score already computed at ``seed``.
        seed: the evaluation's metric seed.
        n: number of further seeds (≥ 1 for a spread).

    Returns:
        ``{"<name>.noise_std": sample std (ddof 1) of the n + 1 scores, "<name>.noise_scores":
        [first, ...], "<name>.noise_seeds": [seed, ...], "<name>.noise_seconds": float}``;
        empty for ``n == 0``.

    Raises:
        InvalidInputError: negative ``n``.
    """
    seeds = noise_seeds(seed, n)
    if not seeds:
        return {}
    start = time.perf_counter()
    scores = [float(first)] + [float(score_at(s)) for s in seeds]
    return {
        f"{name}.noise_std": float(np.std(scores, ddof=1)),
        f"{name}.noise_scores": scores,
        f"{name}.noise_seeds": [int(seed), *seeds],
        f"{name}.noise_seconds": round(time.perf_counter() - start, 3),
    }
