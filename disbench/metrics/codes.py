"""Getting latent codes for sampled factors: the encoder adapter and the code cache.

The metrics ask for codes of *factor combinations*; :class:`CodeCache` renders the
observations through the dataset interface, encodes them in batches on the encoder's
device and, when ``dataset.deterministic`` (the observation is a function of its factors
alone), keeps the codes keyed by flat index so each distinct observation is encoded at
most once per :func:`disbench.metrics.evaluate` call, shared by all its metrics.

``encode`` may be
  * a ``torch.nn.Module`` with an ``encode`` method (a :class:`disbench.models.Baseline`),
    or such a module's bound ``encode`` method, or any ``torch.nn.Module``: it gets float32
    tensors ``(B, C, H, W)`` on the module's device (or ``device``) under ``torch.no_grad``;
  * any other callable: it gets float32 numpy arrays ``(B, C, H, W)``;
  * an object with ``encode_factors(factors) -> codes`` (e.g. the ground-truth sanity
    representation): it gets int64 factor indices ``(B, num_factors)`` and no images.
It must return ``(B, num_codes)`` codes (numpy array or tensor); they are returned as float64.

``dataset`` may be a :class:`disbench.data.GroundTruthDataset` or any object with
disentanglement_lib's ``GroundTruthData`` interface alone (``num_factors``,
``factors_num_values``, ``observation_shape``, ``sample_factors(num, random_state)``,
``sample_observations_from_factors(factors, random_state)``): it is seen through
:class:`ForeignDataset`, which hands it a legacy ``numpy.random.RandomState`` (what those
classes call ``randint``/``choice`` on) seeded from the metric's stream, and passes its
observations to the encoder unchanged. Without ``index_of``/``factors_of`` the code cache
is off (:attr:`CodeCache.cache_status` says why; :func:`disbench.metrics.evaluate`
reports it).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np
from tqdm.auto import tqdm

from disbench.errors import InvalidInputError
from disbench.metrics.utils import check_codes
from disbench.rng import as_generator

# observations per encoder call: on the CPU small batches keep a conv encoder's activations
# in cache (the 32-32-64-64 encoder on the 2-core reference machine, with
# disbench.allocator's tuning: ~15,000 images/s at 64 per batch, ~12,000-13,000 at
# 256-1024); accelerators want large ones
CPU_BATCH_SIZE = 64
ACCELERATOR_BATCH_SIZE = 1024
# a dense per-dataset code table is kept when it fits in this many bytes (else no cache)
DEFAULT_MAX_CACHE_BYTES = 1 << 30
# codes (rows x num_codes) a metric holds at once while it streams them into its features
CHUNK_VALUES = 1 << 23


def as_encoder(encode, *, device=None) -> Callable[[np.ndarray], np.ndarray]:
    """Adapt ``encode`` (see module docstring) to ``float32 (B, C, H, W) numpy -> codes``.

    Args:
        encode: a torch module, a torch module's bound method, or a numpy callable.
        device: torch device for module inputs; default the module's parameter device.

    Raises:
        InvalidInputError: ``encode`` is not callable.
    """
    if not callable(encode):
        raise InvalidInputError(f"encode must be callable (observations -> codes), got {type(encode).__name__}")
    module = _module_of(encode)
    if module is None:
        return encode
    import torch

    fn = module.encode if encode is module and hasattr(module, "encode") else encode
    device = encoder_device(encode, device)

    def encode_numpy(x: np.ndarray):
        with torch.no_grad():
            return fn(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(device))

    return encode_numpy


def _module_of(encode):
    """The torch module behind ``encode`` (itself or its bound method's owner), else None."""
    if "torch" not in sys.modules:  # torch is imported lazily: per-factor workers stay light
        return None
    import torch

    module = encode if isinstance(encode, torch.nn.Module) else getattr(encode, "__self__", None)
    return module if isinstance(module, torch.nn.Module) else None


def encoder_device(encode, device=None):
    """The torch device ``encode`` runs on: ``device`` if given, else its module's parameter
    device; None for a non-torch encoder (it gets numpy arrays)."""
    module = _module_of(encode)
    if module is None:
        return None
    import torch

    if device is None:
        param = next(module.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
    return torch.device(device)


def default_batch_size(encode, device=None) -> int:
    """:data:`CPU_BATCH_SIZE` for an encoder on the CPU (or a numpy one), else
    :data:`ACCELERATOR_BATCH_SIZE`."""
    dev = encoder_device(encode, device)
    return CPU_BATCH_SIZE if dev is None or dev.type == "cpu" else ACCELERATOR_BATCH_SIZE


NATIVE = ("index_of", "factors_of", "validate_factors")
FOREIGN = ("num_factors", "factors_num_values", "observation_shape", "sample_factors",
           "sample_observations_from_factors")


class ForeignDataset:
    """A disentanglement_lib-style ``GroundTruthData`` seen through the interface the metrics use.

    Args:
        data: an object with :data:`FOREIGN` attributes.

    Attributes:
        deterministic: always False (nothing says an observation is a function of its
            factors), so codes are not cached.

    Raises:
        InvalidInputError: ``data`` lacks one of :data:`FOREIGN`, or its ``num_factors``
            disagrees with ``factors_num_values``.
    """

    deterministic = False

    def __init__(self, data):
        missing = [a for a in FOREIGN if not hasattr(data, a)]
        if missing:
            raise InvalidInputError(
                f"dataset {type(data).__name__} lacks {', '.join(missing)}; pass a ground-truth dataset "
                "(disbench.data.load(name), or an object with disentanglement_lib's GroundTruthData interface)"
            )
        self.data = data
        self.factors_num_values = tuple(int(v) for v in data.factors_num_values)
        self.observation_shape = tuple(int(v) for v in data.observation_shape)
        self.name = str(getattr(data, "name", type(data).__name__))
        if int(data.num_factors) != len(self.factors_num_values):
            raise InvalidInputError(f"dataset {self.name}: num_factors {data.num_factors} disagrees with "
                                    f"factors_num_values {self.factors_num_values}")

    @property
    def num_factors(self) -> int:
        return len(self.factors_num_values)

    def sample_factors(self, num: int, random_state) -> np.ndarray:
        """int64 ``(num, num_factors)`` from the wrapped object, checked."""
        return self.validate_factors(self.data.sample_factors(int(num), _legacy(random_state)))

    def sample_observations_from_factors(self, factors, random_state):
        """The wrapped object's observations of ``factors``, as it returns them."""
        return self.data.sample_observations_from_factors(self.validate_factors(factors), _legacy(random_state))

    def validate_factors(self, factors) -> np.ndarray:
        """int64 ``(n, num_factors)`` within the factor sizes.

        Raises:
            InvalidInputError: wrong shape, non-integer or out-of-range values.
        """
        f = np.asarray(factors)
        if f.ndim != 2 or f.shape[1] != self.num_factors:
            raise InvalidInputError(f"factors must have shape (n, {self.num_factors}), got {f.shape}")
        if f.size and not (np.isfinite(f).all() and np.all(np.mod(f, 1) == 0)):
            raise InvalidInputError("factors must be integer indices")
        f = f.astype(np.int64)
        if f.size and (f.min() < 0 or np.any(f.max(axis=0) >= self.factors_num_values)):
            raise InvalidInputError(f"factor index out of range for sizes {self.factors_num_values}")
        return f


def _legacy(random_state) -> np.random.RandomState:
    return np.random.RandomState(int(as_generator(random_state).integers(2**31 - 1)))


def as_ground_truth(dataset):
    """``dataset`` itself when it has the full disbench interface, else a :class:`ForeignDataset`."""
    if all(hasattr(dataset, a) for a in NATIVE) and hasattr(dataset, "sample_factors"):
        return dataset
    return ForeignDataset(dataset)


def _to_numpy(codes) -> np.ndarray:
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(codes, torch.Tensor):
        return codes.detach().to("cpu", torch.float64).numpy()
    return np.asarray(codes)


class CodeCache:
    """Codes of factor combinations for one dataset and one encoder.

    Args:
        dataset: a :class:`disbench.data.GroundTruthDataset` or a disentanglement_lib-style
            object (see the module docstring).
        encode: see the module docstring.
        device: torch device for module encoders (default: the module's).
        batch_size: observations rendered and encoded per call (None:
            :func:`default_batch_size`, by the encoder's device).
        max_cache_bytes: keep a dense float64 table of ``len(dataset) * num_codes`` codes
            when it fits in this budget; otherwise (e.g. raw pixels, 4096-d) codes are not
            kept and observations are encoded as requested.
        progress: show a tqdm bar while encoding.

    Attributes:
        dataset: the dataset the metrics sample from (a :class:`ForeignDataset` around a
            disentanglement_lib-style object).
        source: the object passed as ``dataset``.
        num_requested: factor rows asked for so far.
        num_encoded: observations actually rendered and encoded.
    """

    def __init__(self, dataset, encode, *, device=None, batch_size: int | None = None,
                 max_cache_bytes: int = DEFAULT_MAX_CACHE_BYTES, progress: bool = False):
        self.source = dataset
        self.dataset = as_ground_truth(dataset)
        _check_dataset(self.dataset)
        self.from_factors = hasattr(encode, "encode_factors")
        if batch_size is None:
            batch_size = CPU_BATCH_SIZE if self.from_factors else default_batch_size(encode, device)
        self.batch_size = int(batch_size)
        if self.batch_size < 1:
            raise InvalidInputError(f"batch_size must be positive, got {batch_size}")
        self.max_cache_bytes = int(max_cache_bytes)
        self.progress = progress
        self._encode = encode.encode_factors if self.from_factors else as_encoder(encode, device=device)
        self.num_requested = 0
        self.num_encoded = 0
        self.num_codes: int | None = None
        self._table: np.ndarray | None = None
        self._filled: np.ndarray | None = None

    @classmethod
    def wrap(cls, dataset, encode) -> CodeCache:
        """``encode`` itself when it is a CodeCache of ``dataset``, else a new CodeCache."""
        if isinstance(encode, CodeCache):
            if encode.source is not dataset and encode.dataset is not dataset:
                raise InvalidInputError("the CodeCache passed as encode belongs to another dataset")
            return encode
        return cls(dataset, encode)

    @property
    def cached(self) -> bool:
        """Whether codes are kept by flat index (deterministic dataset, table fits)."""
        return self._table is not None

    @property
    def cache_status(self) -> str:
        """``"on"``, or ``"off: <why>"`` (a foreign or non-deterministic dataset, a table too large)."""
        if self.cached:
            return "on"
        if isinstance(self.dataset, ForeignDataset):
            return (f"off: dataset {self.dataset.name} has no index_of/factors_of (disentanglement_lib-style "
                    "object); every requested observation is encoded")
        if not getattr(self.dataset, "deterministic", False):
            return "off: the dataset draws randomness per observation (not a function of its factors)"
        if self.num_codes is None:
            return "off: no codes requested yet"
        return f"off: {len(self.dataset)} x {self.num_codes} codes exceed max_cache_bytes={self.max_cache_bytes}"

    def codes(self, factors, random_state) -> np.ndarray:
        """Codes of factor combinations.

        Args:
            factors: int ``(n, num_factors)`` factor indices.
            random_state: Generator or int seed; renders non-deterministic observations.

        Returns:
            float64 ``(n, num_codes)``.

        Raises:
            InvalidInputError: bad factors, or ``encode`` returned a wrong shape or NaN/inf.
        """
        factors = self.dataset.validate_factors(factors)
        rng = as_generator(random_state)
        self.num_requested += len(factors)
        if len(factors) == 0:
            return np.zeros((0, self.num_codes or 0))
        first = None
        if self.num_codes is None:  # the first point fixes the code size and the cache mode
            first = self._encode_factors(factors[:1], rng)
            self._setup_table(first.shape[1])
        if not self.cached:
            rest = self._encode_factors(factors[0 if first is None else 1:], rng)
            return rest if first is None else np.concatenate([first, rest])
        if first is not None:
            i = self.dataset.index_of(factors[:1])
            self._table[i], self._filled[i] = first, True
        index = self.dataset.index_of(factors)
        missing = np.unique(index[~self._filled[index]])
        if missing.size:
            self._table[missing] = self._encode_factors(self.dataset.factors_of(missing), rng)
            self._filled[missing] = True
        return self._table[index]

    def sample(self, num: int, random_state) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``num`` uniform factor combinations and their codes.

        Returns:
            ``(codes float64 (num, num_codes), factors int64 (num, num_factors))``.
        """
        rng = as_generator(random_state)
        factors = self.dataset.sample_factors(num, rng)
        return self.codes(factors, rng), factors

    def sample_train_test(self, num_train: int, num_test: int, random_state):
        """Two independent samples (train drawn first, then test) as :meth:`sample` returns.

        Returns:
            ``(x_train, y_train, x_test, y_test)``: codes float64 and factors int64.
        """
        rng = as_generator(random_state)
        x_train, y_train = self.sample(int(num_train), rng)
        x_test, y_test = self.sample(int(num_test), rng)
        return x_train, y_train, x_test, y_test

    def chunks(self, num_points: int, rows_per_point: int):
        """Yield slices over ``num_points`` points of ``rows_per_point`` code rows each, sized so
        one chunk holds about :data:`CHUNK_VALUES` codes (few chunks for 10-d codes, many
        for 4096-d raw pixels)."""
        start = 0
        while start < num_points:
            step = max(1, CHUNK_VALUES // (rows_per_point * (self.num_codes or 64)))
            yield slice(start, min(num_points, start + step))
            start += step

    def _setup_table(self, num_codes: int) -> None:
        self.num_codes = num_codes
        if not getattr(self.dataset, "deterministic", False) or isinstance(self.dataset, ForeignDataset):
            return
        size = len(self.dataset) * num_codes * 8
        if size <= self.max_cache_bytes:
            self._table = np.empty((len(self.dataset), num_codes))
            self._filled = np.zeros(len(self.dataset), dtype=bool)

    def _encode_factors(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = []
        bar = tqdm(total=len(factors), desc="encoding", unit="obs", disable=not self.progress or len(factors) < 10_000,
                   leave=False)
        for start in range(0, len(factors), self.batch_size):
            f = factors[start:start + self.batch_size]
            inputs = f if self.from_factors else self.dataset.sample_observations_from_factors(f, rng)
            codes = _to_numpy(self._encode(inputs))
            if codes.ndim != 2 or codes.shape[0] != len(f) or (self.num_codes and codes.shape[1] != self.num_codes):
                raise InvalidInputError(
                    f"encode must return codes of shape ({len(f)}, num_codes) for {len(f)} observations, "
                    f"got {codes.shape}"
                )
            out.append(check_codes(codes, name="encoded codes"))
            bar.update(len(f))
        bar.close()
        self.num_encoded += len(factors)
        return np.concatenate(out) if out else np.zeros((0, self.num_codes))


def cache_and_rng(dataset, encode, random_state) -> tuple[CodeCache, np.random.Generator]:
    """The start of every sampling metric: ``encode`` as a :class:`CodeCache` of ``dataset``
    (``encode`` itself when it already is one, as :func:`disbench.metrics.evaluate` passes)
    and ``random_state`` as a Generator.

    Raises:
        InvalidInputError: a CodeCache of another dataset, or a bad ``random_state``.
    """
    return CodeCache.wrap(dataset, encode), as_generator(random_state)


def _check_dataset(dataset) -> None:
    if len(dataset.factors_num_values) < 1:
        raise InvalidInputError("dataset has no ground-truth factors; the metrics need at least one")
