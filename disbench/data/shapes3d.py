"""3D Shapes (Burgess & Kim 2018; used in Kim & Mnih 2018, "Disentangling by Factorising").

Read lazily with h5py from the published ``3dshapes.h5``: ``images`` (480000, 64, 64, 3)
uint8 and ``labels`` (480000, 6) float64 over the factors floor_hue 10, wall_hue 10,
object_hue 10, scale 8, shape 4, orientation 15, the last varying fastest
(https://github.com/deepmind/3d-shapes).

The published file is gzip-compressed in chunks, so random access decompresses a chunk
per image. :meth:`Shapes3D.prepare` (``disbench datasets prepare shapes3d``) streams the
images once into an uncompressed ``.npy`` in ``data_dir()`` (5.9 GB) that is memory-mapped
from then on; without it images are read from the h5 file directly.
"""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np
from tqdm import tqdm

from disbench.data.base import GroundTruthDataset, uint8_to_model_images
from disbench.data.integrity import check_recorded
from disbench.data.manifest import manifest, missing_file_error
from disbench.data.npzfile import damaged
from disbench.io import atomic_path
from disbench.resources import data_dir

_CHUNK_ROWS = 4096


class Shapes3D(GroundTruthDataset):
    """3D Shapes observations, float32 in [0, 1], shape ``(n, 3, 64, 64)``.

    Args:
        path: the h5 file; default ``data_dir() / "3dshapes.h5"``.
        factors_num_values: the file's factor grid; default the published one
            (10, 10, 10, 8, 4, 15). A smaller grid is only for a miniature file of the
            same schema (tests); the file must match it.

    ``factor_values`` are the distinct label values of each factor (hues in [0, 1),
    scale 0.75..1.25, shape 0..3, orientation -30..30 degrees).

    Raises:
        MissingFileError: the file is absent (the message gives the download command).
        DataFileError: not a readable HDF5 file, missing datasets, or labels that do not
            match the grid.
    """

    reopened_after_pickling = ("_h5", "_pid", "_images")

    name = "shapes3d"
    observation_shape = (3, 64, 64)

    def __init__(self, path: str | os.PathLike | None = None, factors_num_values=None):
        m = manifest("shapes3d")
        self.factor_names = m.factor_names
        self.factors_num_values = tuple(int(k) for k in (factors_num_values or m.factors_num_values))
        self.path = Path(path) if path is not None else m.files[0].path()
        if not self.path.is_file():
            raise missing_file_error("shapes3d", self.path)
        if path is None:
            check_recorded("shapes3d", m.files[0], self.path)
        self._h5 = None
        self._pid = None
        self._images = None
        self.factor_values = self._read_factor_values()

    def _file(self) -> h5py.File:
        if self._h5 is None or self._pid != os.getpid():  # h5py handles do not survive fork
            try:
                self._h5 = h5py.File(self.path, "r")
            except OSError as e:
                raise damaged(self.path, "shapes3d", f"not a readable HDF5 file: {e}") from None
            self._pid = os.getpid()
        return self._h5

    def _read_factor_values(self) -> tuple[np.ndarray, ...]:
        n = len(self)
        f = self._file()
        if "images" not in f or "labels" not in f:
            raise damaged(
                self.path, "shapes3d", f"datasets {sorted(f.keys())}, expected ['images', 'labels']"
            )
        images, labels = f["images"], f["labels"]
        if images.shape != (n, 64, 64, 3) or images.dtype != np.uint8:
            raise damaged(
                self.path,
                "shapes3d",
                f"images is {images.dtype} {images.shape}, expected uint8 ({n}, 64, 64, 3)",
            )
        if labels.shape != (n, self.num_factors):
            raise damaged(
                self.path, "shapes3d", f"labels is {labels.shape}, expected ({n}, {self.num_factors})"
            )
        try:
            labels = labels[()]
        except OSError as e:
            raise damaged(self.path, "shapes3d", f"cannot read labels: {e}") from None
        grid = self.factors_of(np.arange(n, dtype=np.int64))
        values = []
        for i, name in enumerate(self.factor_names):
            uniq = np.unique(labels[:, i])
            if len(uniq) != self.factors_num_values[i] or not np.array_equal(
                np.searchsorted(uniq, labels[:, i]), grid[:, i]
            ):
                raise damaged(self.path, "shapes3d", f"labels of {name!r} are not in grid order")
            values.append(uniq)
        return tuple(values)

    @property
    def cache_path(self) -> Path:
        """The uncompressed copy of ``images`` (keyed by the file's size and modification time)."""
        st = self.path.stat()
        return data_dir() / f"{self.path.stem}.{st.st_size}-{st.st_mtime_ns}.images.npy"

    def prepare(self, progress: bool = True) -> Path:
        """Write the uncompressed, memory-mappable copy of ``images`` once (atomically).

        Raises:
            DataFileError: the images cannot be read (damaged file).
        """
        out = self.cache_path
        if out.is_file():
            return out
        source = self._file()["images"]
        with atomic_path(out, suffix=".npy") as tmp:
            images = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=source.shape)
            for start in tqdm(
                range(0, len(source), _CHUNK_ROWS), desc="extracting shapes3d images", disable=not progress
            ):
                try:
                    images[start : start + _CHUNK_ROWS] = source[start : start + _CHUNK_ROWS]
                except OSError as e:
                    raise damaged(self.path, "shapes3d", f"cannot read images: {e}") from None
            images.flush()
            del images
        return out

    def _observations(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        index = factors @ self._strides
        if self._images is None and self.cache_path.is_file():
            self._images = np.load(self.cache_path, mmap_mode="r")
        if self._images is not None:
            images = self._images[index]
        else:
            uniq, inverse = np.unique(index, return_inverse=True)  # h5py needs increasing indices
            try:
                images = self._file()["images"][uniq][inverse]
            except OSError as e:
                raise damaged(self.path, "shapes3d", f"cannot read images: {e}") from None
        return uint8_to_model_images(images)


def load(name: str = "shapes3d", source: str = "file", **options) -> Shapes3D:
    """3D Shapes from ``3dshapes.h5`` (the file is its only source); ``options`` go to :class:`Shapes3D`."""
    return Shapes3D(**options)
