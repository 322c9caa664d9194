"""Cars3D (Reed, Zhang, Zhang & Lee 2015, "Deep Visual Analogy-Making", NeurIPS), as
disentanglement_lib uses it.

Source: ``nips2015-analogy-data.tar.gz`` (http://www.scottreed.info), whose ``data/cars/``
holds one MATLAB file per car model, ``car_<id>_mesh.mat``, with ``im``: uint8
(128, 128, 3, 24, 4) = (H, W, RGB, azimuth, elevation), and ``list.txt`` naming the 183
models in order. The archive is read in place (members streamed, nothing extracted); a
folder holding the ``.mat`` files (disentanglement_lib's ``$DISENTANGLEMENT_LIB_DATA/cars``)
is read alike.

Convention of disentanglement_lib's ``data/ground_truth/cars3d.py`` (Locatello et al. 2019):
factors elevation 4, azimuth 24, object_type 183 (flat index with object_type fastest);
every image resized to 64×64 by Pillow's ``thumbnail`` with ``ANTIALIAS`` — for a square
128×128 image that is ``resize((64, 64), Image.LANCZOS)``, which is what is called here
(Pillow ≥ 10 no longer accepts disentanglement_lib's 3-tuple size). The object_type index
follows ``list.txt`` (disentanglement_lib numbers the files in directory-listing order,
which the file system decides; disent uses ``list.txt`` too); a folder without
``list.txt`` is numbered in sorted file-name order.

:meth:`Cars3D.prepare` resizes the 17,568 images once into a uint8 cache in grid order,
``<archive stem>.<size>-<mtime>.images.npy`` in the data cache (216 MB), written
atomically and memory-mapped.
"""

from __future__ import annotations

import io
import os
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import numpy as np
import scipy.io
from PIL import Image
from tqdm import tqdm

from disbench.data.base import GroundTruthDataset, uint8_to_model_images
from disbench.data.integrity import check_recorded
from disbench.data.manifest import manifest, missing_file_error
from disbench.errors import DataFileError
from disbench.io import atomic_path
from disbench.resources import data_dir

NAME = "cars3d"
_READ_ERRORS = (OSError, EOFError, ValueError, tarfile.TarError, zlib.error, NotImplementedError)


def damaged(path: Path, detail: str) -> DataFileError:
    """The error for a Cars3D source that exists but cannot be used."""
    return DataFileError(
        f"{NAME}: {path} is truncated, damaged or not the expected file ({detail}); "
        f"delete it and re-download it with `disbench datasets download {NAME}`"
    )


def read_mesh(stream, where: str, path: Path, azimuths: int, elevations: int) -> np.ndarray:
    """One car's ``im`` array from a ``.mat`` stream, checked: uint8 (128, 128, 3, az, el).

    Raises:
        DataFileError: unreadable MATLAB file, no ``im``, or the wrong shape/dtype.
    """
    try:
        im = scipy.io.loadmat(stream, variable_names=["im"]).get("im")
    except _READ_ERRORS as e:
        raise damaged(path, f"{where} is not a readable MATLAB file: {e}") from None
    expected = (128, 128, 3, azimuths, elevations)
    if im is None or im.shape != expected or im.dtype != np.uint8:
        got = "no 'im'" if im is None else f"'im' is {im.dtype} {im.shape}"
        raise damaged(path, f"{where}: {got}, expected uint8 {expected}")
    return im


def resize(im: np.ndarray) -> np.ndarray:
    """uint8 (128, 128, 3, az, el) → uint8 (el, az, 64, 64, 3), each image Lanczos-resized."""
    el_az = im.transpose(4, 3, 0, 1, 2)
    out = np.empty((*el_az.shape[:2], 64, 64, 3), np.uint8)
    for e in range(el_az.shape[0]):
        for a in range(el_az.shape[1]):
            out[e, a] = np.asarray(Image.fromarray(el_az[e, a]).resize((64, 64), Image.LANCZOS))
    return out


def _members(path: Path) -> Iterator[tuple[str, bytes]]:
    """``(file name, bytes)`` of ``list.txt`` and the ``.mat`` files in the cars folder of the
    archive (streamed) or of the folder ``path``."""
    if path.is_dir():
        for p in sorted(path.iterdir()):
            if p.suffix == ".mat" or p.name == "list.txt":
                yield p.name, p.read_bytes()
        return
    with tarfile.open(path, "r|gz") as tar:
        for member in tar:
            pure = PurePosixPath(member.name)
            if member.isfile() and pure.parent.name == "cars" and (pure.suffix == ".mat" or pure.name == "list.txt"):
                yield pure.name, tar.extractfile(member).read()


class Cars3D(GroundTruthDataset):
    """Cars3D observations, float32 in [0, 1], shape ``(n, 3, 64, 64)``.

    Args:
        path: ``nips2015-analogy-data.tar.gz`` or a folder holding the ``car_*_mesh.mat``
            files; default the archive in the data cache.
        factors_num_values: the grid (elevation, azimuth, object_type); default the published
            (4, 24, 183). A smaller grid is only for miniature files of the same format
            (tests); the files must match it.

    ``factor_values`` are indices (the source gives no angles).

    Raises:
        MissingFileError: the archive is absent (the message gives the download command).
        ChecksumError: the archive in the data cache changed since its sha256 was recorded
            on first use (:mod:`disbench.data.integrity`).
        DataFileError (on :meth:`prepare`, i.e. first use): truncated archive, a ``.mat``
            file that is not a car of the expected shape, or a number of cars other than
            the grid's.
    """

    reopened_after_pickling = ("_images",)

    name = NAME
    observation_shape = (3, 64, 64)

    def __init__(self, path: str | os.PathLike | None = None, factors_num_values=None):
        m = manifest(NAME)
        self.factor_names = m.factor_names
        self.factors_num_values = tuple(int(k) for k in (factors_num_values or m.factors_num_values))
        self.factor_values = tuple(np.arange(k, dtype=np.float64) for k in self.factors_num_values)
        self.path = Path(path) if path is not None else m.files[0].path()
        if not self.path.exists():
            raise missing_file_error(NAME, self.path)
        if path is None:
            check_recorded(NAME, m.files[0], self.path)
        self._images = None

    @property
    def cache_path(self) -> Path:
        """Where the 64×64 images are cached (keyed by the source's size and mtime)."""
        st = self.path.stat()
        stem = self.path.name.removesuffix(".tar.gz")
        return data_dir() / f"{stem}.{st.st_size}-{st.st_mtime_ns}.images.npy"

    def prepare(self, progress: bool = True) -> Path:
        """Read and resize every car once into :attr:`cache_path` (atomically); return it.

        Raises:
            DataFileError: see the class docstring; nothing is written then.
        """
        out = self.cache_path
        if out.is_file():
            return out
        elevations, azimuths, cars = self.factors_num_values
        meshes, order = {}, None
        try:
            with tqdm(total=cars, desc="resizing cars3d", unit="car", disable=not progress) as bar:
                for name, data in _members(self.path):
                    if name == "list.txt":
                        order = [line.strip() for line in data.decode("utf-8").splitlines() if line.strip()]
                        continue
                    im = read_mesh(io.BytesIO(data), name, self.path, azimuths, elevations)
                    meshes[name.removesuffix(".mat")] = resize(im)
                    bar.update(1)
        except _READ_ERRORS as e:
            raise damaged(self.path, str(e)) from None
        order = order if order is not None else sorted(meshes)
        missing = [n for n in order if n not in meshes]
        if missing or len(order) != cars:
            raise damaged(
                self.path,
                f"{len(order)} car models listed and {len(meshes)} found, expected {cars}"
                + (f"; missing {', '.join(missing[:3])}" if missing else ""),
            )
        with atomic_path(out, suffix=".npy") as tmp:
            images = np.lib.format.open_memmap(
                tmp, mode="w+", dtype=np.uint8, shape=(elevations, azimuths, cars, 64, 64, 3)
            )
            for i, name in enumerate(order):
                images[:, :, i] = meshes[name]
            images.flush()
            del images
        return out

    def _memmap(self) -> np.ndarray:
        if self._images is None:
            self._images = np.load(self.prepare(progress=False), mmap_mode="r").reshape(-1, 64, 64, 3)
        return self._images

    def _observations(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        images = self._memmap()[factors @ self._strides]
        return uint8_to_model_images(images)


def load(name: str = NAME, source: str = "file", **options) -> Cars3D:
    """Cars3D from ``nips2015-analogy-data.tar.gz`` (the only source); ``options`` go to :class:`Cars3D`."""
    return Cars3D(**options)
