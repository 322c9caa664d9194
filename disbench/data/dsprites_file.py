"""dSprites from the published file ``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz``.

Matthey et al. 2017, https://github.com/deepmind/dsprites-dataset. The archive holds
``imgs`` (737280, 64, 64) uint8 in {0, 1}, ``latents_values`` and ``latents_classes``
(737280, 6) over the factors (color, shape, scale, orientation, posX, posY) with posY
varying fastest, and a Python-2 pickled ``metadata`` dict (read with
``encoding="latin1", allow_pickle=True``). As in disentanglement_lib the constant colour
factor is dropped, leaving the grid of the procedural :class:`~disbench.data.dsprites.DSprites`:
shape 3, scale 6, orientation 40, posX 32, posY 32.

``imgs`` is compressed in the published file, so it cannot be memory-mapped; the first
use (or :meth:`DSpritesFile.prepare`) streams it once into a bit-packed cache
(737280 x 64 x 8 bytes = 360 MiB) beside the other caches, which is then memory-mapped.
Only load files you trust: ``metadata`` is a pickle.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from tqdm import tqdm

from disbench.data.base import GroundTruthDataset
from disbench.data.integrity import check_recorded
from disbench.data.manifest import manifest, missing_file_error
from disbench.data.npzfile import damaged, iter_rows, member_header, member_keys, open_npz
from disbench.io import atomic_path
from disbench.resources import data_dir

KEYS = ("imgs", "latents_values", "latents_classes", "metadata")
_CHUNK_ROWS = 8192


class DSpritesFile(GroundTruthDataset):
    """dSprites observations read from the published npz (see the module docstring).

    Args:
        path: the npz; default ``data_dir() / "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"``.
        factors_num_values: the file's factor grid without the colour factor; default the
            published grid (3, 6, 40, 32, 32). A smaller grid is only for a miniature file of
            the same schema (tests); the file must match it.

    Observations are float32 in {0, 1}, shape ``(n, 1, 64, 64)``; ``deterministic`` is True.

    Raises:
        MissingFileError: the file is absent (the message gives the download command).
        ChecksumError: the file in the data cache changed since its sha256 was recorded on
            first use (:mod:`disbench.data.integrity`).
        DataFileError: truncated file, missing keys, or arrays that do not match the grid.
    """

    reopened_after_pickling = ("_packed",)

    name = "dsprites"
    observation_shape = (1, 64, 64)

    def __init__(self, path: str | os.PathLike | None = None, factors_num_values=None):
        m = manifest("dsprites")
        self.factor_names = m.factor_names
        self.factors_num_values = tuple(int(k) for k in (factors_num_values or m.factors_num_values))
        self.path = Path(path) if path is not None else m.files[0].path()
        if not self.path.is_file():
            raise missing_file_error("dsprites", self.path)
        if path is None:
            check_recorded("dsprites", m.files[0], self.path)
        self.factor_values = self._read_factor_values()
        self._packed = None

    def _read_factor_values(self) -> tuple[np.ndarray, ...]:
        """Check the schema against the grid; return each factor's values."""
        n = len(self)
        with open_npz(self.path, "dsprites") as zf:
            missing = set(KEYS) - member_keys(zf)
            if missing:
                raise damaged(
                    self.path, "dsprites", f"missing arrays {sorted(missing)}; expected {list(KEYS)}"
                )
            shape, dtype = member_header(zf, "imgs", self.path, "dsprites")
        if shape != (n, *self.observation_shape[1:]) or dtype.kind not in "biu":
            raise damaged(self.path, "dsprites", f"imgs is {dtype} {shape}, expected integer ({n}, 64, 64)")
        try:
            with np.load(self.path, encoding="latin1", allow_pickle=True) as npz:
                sizes = [int(k) for k in npz["metadata"][()]["latents_sizes"]]
                classes = npz["latents_classes"]
                values = npz["latents_values"]
        except Exception as e:  # any failure to unpickle/decompress means a bad file
            raise damaged(
                self.path, "dsprites", f"cannot read metadata/latents: {type(e).__name__}: {e}"
            ) from None
        expected = [1, *self.factors_num_values]
        if sizes != expected:
            raise damaged(self.path, "dsprites", f"metadata latents_sizes {sizes}, expected {expected}")
        if classes.shape != (n, 6) or values.shape != (n, 6):
            raise damaged(
                self.path, "dsprites", f"latents arrays {classes.shape}/{values.shape}, expected ({n}, 6)"
            )
        grid = self.factors_of(np.arange(n, dtype=np.int64))
        if np.any(classes[:, 0] != 0) or not np.array_equal(classes[:, 1:], grid):
            raise damaged(self.path, "dsprites", "latents_classes are not in grid order (posY fastest)")
        return tuple(
            values[np.arange(k) * s, i + 1]
            for i, (k, s) in enumerate(zip(self.factors_num_values, self._strides))
        )

    @property
    def cache_path(self) -> Path:
        """The bit-packed copy of ``imgs`` (keyed by the file's size and modification time)."""
        st = self.path.stat()
        return data_dir() / f"{self.path.stem}.{st.st_size}-{st.st_mtime_ns}.bits.npy"

    def prepare(self, progress: bool = True) -> Path:
        """Write the bit-packed cache of ``imgs`` once (atomically); return its path.

        Raises:
            DataFileError: ``imgs`` is cut short or holds values other than 0 and 1.
        """
        out = self.cache_path
        if out.is_file():
            return out
        n = len(self)
        with atomic_path(out, suffix=".npy") as tmp:
            packed = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(n, 64, 8))
            with tqdm(total=n, desc="packing dSprites imgs", unit="img", disable=not progress) as bar:
                start = 0
                for rows in iter_rows(self.path, "imgs", "dsprites", _CHUNK_ROWS):
                    if rows.max(initial=0) > 1:
                        raise damaged(self.path, "dsprites", "imgs holds values other than 0 and 1")
                    packed[start : start + len(rows)] = np.packbits(rows.astype(bool), axis=-1)
                    start += len(rows)
                    bar.update(len(rows))
            packed.flush()
            del packed
        return out

    def _observations(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if self._packed is None:
            self._packed = np.load(self.prepare(progress=False), mmap_mode="r")
        bits = self._packed[factors @ self._strides]
        return np.unpackbits(bits, axis=-1)[:, None].astype(np.float32)
