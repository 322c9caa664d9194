"""MPI3D (Gondal et al. 2019, NeurIPS): toy, realistic and real variants.

Each published ``mpi3d_<variant>.npz`` holds ``images`` (1036800, 64, 64, 3) uint8 over
the factors object_color 6, object_shape 6, object_size 2, camera_height 3,
background_color 3, horizontal_axis 40, vertical_axis 40, the last varying fastest
(https://github.com/rr-learning/disentanglement_dataset). The file has no labels: a
factor's values are its indices.

An uncompressed member is memory-mapped in place (no copy, no load); a compressed one is
streamed once into ``data_dir()`` as a plain ``.npy`` by :meth:`MPI3D.prepare` and that
copy is memory-mapped.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from tqdm import tqdm

from disbench.data.base import GroundTruthDataset, uint8_to_model_images
from disbench.data.integrity import check_recorded
from disbench.data.manifest import manifest, missing_file_error
from disbench.data.npzfile import damaged, iter_rows, member_header, member_keys, member_memmap, open_npz
from disbench.errors import InvalidInputError
from disbench.io import atomic_path
from disbench.resources import data_dir

VARIANTS = ("toy", "realistic", "real")
_CHUNK_ROWS = 4096


class MPI3D(GroundTruthDataset):
    """MPI3D observations, float32 in [0, 1], shape ``(n, 3, 64, 64)``.

    Args:
        variant: ``"toy"``, ``"realistic"`` or ``"real"``; the dataset's name is
            ``mpi3d_<variant>``.
        path: the npz; default ``data_dir() / "mpi3d_<variant>.npz"``.
        factors_num_values: the file's factor grid; default the published one
            (6, 6, 2, 3, 3, 40, 40). A smaller grid is only for a miniature file of the
            same schema (tests); the file must match it.

    Raises:
        InvalidInputError: unknown variant.
        MissingFileError: the file is absent (the message gives the download command).
        ChecksumError: the file in the data cache changed since its sha256 was recorded on
            first use (:mod:`disbench.data.integrity`).
        DataFileError: truncated file, no ``images`` array, or one of the wrong shape.
    """

    reopened_after_pickling = ("_images",)

    observation_shape = (3, 64, 64)

    def __init__(self, variant: str = "toy", path: str | os.PathLike | None = None, factors_num_values=None):
        if variant not in VARIANTS:
            raise InvalidInputError(f"unknown MPI3D variant {variant!r}; valid: {', '.join(VARIANTS)}")
        self.name = f"mpi3d_{variant}"
        m = manifest(self.name)
        self.factor_names = m.factor_names
        self.factors_num_values = tuple(int(k) for k in (factors_num_values or m.factors_num_values))
        self.factor_values = tuple(np.arange(k, dtype=np.float64) for k in self.factors_num_values)
        self.path = Path(path) if path is not None else m.files[0].path()
        if not self.path.is_file():
            raise missing_file_error(self.name, self.path)
        if path is None:
            check_recorded(self.name, m.files[0], self.path)
        self._check_schema()
        self._images = None

    def _check_schema(self) -> None:
        n = len(self)
        with open_npz(self.path, self.name) as zf:
            if "images" not in member_keys(zf):
                raise damaged(self.path, self.name, f"no 'images' array; it holds {sorted(member_keys(zf))}")
            shape, dtype = member_header(zf, "images", self.path, self.name)
        if shape != (n, 64, 64, 3) or dtype != np.uint8:
            raise damaged(self.path, self.name, f"images is {dtype} {shape}, expected uint8 ({n}, 64, 64, 3)")

    @property
    def cache_path(self) -> Path:
        """Where a compressed ``images`` member is extracted (keyed by size and mtime)."""
        st = self.path.stat()
        return data_dir() / f"{self.path.stem}.{st.st_size}-{st.st_mtime_ns}.images.npy"

    def prepare(self, progress: bool = True) -> Path:
        """Make ``images`` memory-mappable; return the file that holds it.

        An uncompressed archive is used in place (its own path is returned); a compressed
        one is streamed once into :attr:`cache_path` (atomically).
        """
        if member_memmap(self.path, "images", self.name) is not None:
            return self.path
        out = self.cache_path
        if out.is_file():
            return out
        n = len(self)
        with atomic_path(out, suffix=".npy") as tmp:
            images = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(n, 64, 64, 3))
            with tqdm(
                total=n, desc=f"extracting {self.name} images", unit="img", disable=not progress
            ) as bar:
                start = 0
                for rows in iter_rows(self.path, "images", self.name, _CHUNK_ROWS):
                    images[start : start + len(rows)] = rows
                    start += len(rows)
                    bar.update(len(rows))
            images.flush()
            del images
        return out

    def _memmap(self) -> np.ndarray:
        if self._images is None:
            images = member_memmap(self.path, "images", self.name)
            self._images = images if images is not None else np.load(self.prepare(), mmap_mode="r")
        return self._images

    def _observations(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        images = self._memmap()[factors @ self._strides]
        return uint8_to_model_images(images)


def load(name: str, source: str = "file", **options) -> MPI3D:
    """``mpi3d_<variant>`` from ``mpi3d_<variant>.npz`` (the file is its only source);
    ``options`` go to :class:`MPI3D`."""
    return MPI3D(name.removeprefix("mpi3d_"), **options)
