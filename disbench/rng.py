"""Random-state handling: every public sampling function takes ``random_state``.

``random_state`` is a :class:`numpy.random.Generator`, an ``int`` seed, or a legacy
:class:`numpy.random.RandomState` (as disentanglement_lib passes); global state is
never used.
"""

from __future__ import annotations

import numpy as np

from disbench.errors import InvalidInputError

RandomState = "np.random.Generator | int | np.random.RandomState"


def as_generator(random_state) -> np.random.Generator:
    """Return a :class:`numpy.random.Generator` for ``random_state``.

    A Generator is returned as is (so callers share its stream), an int seeds a new
    PCG64 generator, a RandomState seeds one from its next draw.

    Raises:
        InvalidInputError: for ``None`` or any other type (global randomness is not
            allowed: pass a seed).
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        if random_state < 0:
            raise InvalidInputError(f"random_state must be a non-negative seed, got {random_state}")
        return np.random.default_rng(int(random_state))
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(2**31 - 1))
    raise InvalidInputError(
        "random_state must be a numpy.random.Generator or an int seed, "
        f"got {type(random_state).__name__}; pass e.g. random_state=0"
    )
