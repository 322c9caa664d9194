"""SmallNORB (LeCun, Huang & Bottou 2004, CVPR), as disentanglement_lib uses it.

Source: the six published files (https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/),
``smallnorb-5x46789x9x18x6x2x96x96-training-{dat,cat,info}.mat.gz`` and
``smallnorb-5x01235x9x18x6x2x96x96-testing-{dat,cat,info}.mat.gz``; the gunzipped ``.mat``
files (as disentanglement_lib's ``bin/dlib_download_data`` leaves them) are read alike.

Convention of disentanglement_lib's ``data/ground_truth/norb.py`` (Locatello et al. 2019):

* both chunks together: 48,600 stereo pairs of 96×96 grey images; only the first camera's
  image of each pair is used;
* factors category 5, elevation 9, azimuth 18, lighting 6 (the ``-info`` file stores
  azimuth as 0, 2, …, 34: halved to an index); the instance (10 per category: 4, 6, 7, 8, 9
  in training, 0, 1, 2, 3, 5 in testing) is not a factor: it is drawn uniformly for every
  observation, so the same factors give different images (``deterministic = False``);
* images resized to 64×64 with Pillow's Lanczos filter (``Image.LANCZOS``, disentanglement_lib's
  ``PIL.Image.ANTIALIAS``) applied, as there, to a 32-bit integer image (disentanglement_lib reads
  the byte matrix as int8, which Pillow turns into mode ``"I"``); Lanczos overshoot beyond
  [0, 255] is kept by disentanglement_lib (pixel values slightly outside [0, 1]) and clipped
  here, the only difference.

The NORB binary matrix format (the dataset page, "file format"), little-endian: an int32
magic number giving the element type (``0x1E3D4C55`` byte, ``0x1E3D4C54`` int32,
``0x1E3D4C56`` int16, ``0x1E3D4C51`` float32, ``0x1E3D4C53`` float64), an int32 number of
dimensions ``ndim``, then ``max(3, ndim)`` int32 sizes (unused ones are 1), then the
elements in row-major order. ``-dat``: bytes (N, 2, 96, 96); ``-cat``: int32 (N,);
``-info``: int32 (N, 4) = instance, elevation, azimuth, lighting.

:meth:`SmallNORB.prepare` reads the files once (streaming the images in chunks) into a
64×64 uint8 cache in grid order (category, instance, elevation, azimuth, lighting),
``smallnorb.<key>.images.npy`` in the data cache, written atomically and memory-mapped.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from disbench.data.base import GroundTruthDataset, uint8_to_model_images
from disbench.data.manifest import manifest, missing_file_error
from disbench.errors import DataFileError
from disbench.io import atomic_path
from disbench.resources import data_dir

NAME = "smallnorb"
CHUNKS = ("5x46789x9x18x6x2x96x96-training", "5x01235x9x18x6x2x96x96-testing")
NUM_INSTANCES = 10
MAGIC = {
    0x1E3D4C55: np.dtype("u1"),
    0x1E3D4C54: np.dtype("<i4"),
    0x1E3D4C56: np.dtype("<i2"),
    0x1E3D4C51: np.dtype("<f4"),
    0x1E3D4C53: np.dtype("<f8"),
}
_ROWS = 1024


def damaged(path: Path, detail: str) -> DataFileError:
    """The error for a NORB file that exists but cannot be used."""
    return DataFileError(
        f"{NAME}: {path} is truncated, damaged or not the expected file ({detail}); "
        f"delete it and re-download it with `disbench datasets download {NAME}`"
    )


def _open(path: Path):
    """A binary stream of ``path``, gunzipped when it is a gzip file."""
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gz else open(path, "rb")


def read_header(stream, path: Path) -> tuple[np.dtype, tuple[int, ...]]:
    """Read a NORB matrix header from ``stream``; return (element dtype, shape).

    Raises:
        DataFileError: unknown magic number, impossible dimensions, or a short header.
    """
    head = stream.read(8)
    if len(head) < 8:
        raise damaged(path, "shorter than a NORB header")
    magic, ndim = (int(v) for v in np.frombuffer(head, "<i4"))
    if magic not in MAGIC:
        raise damaged(path, f"magic number {magic:#x} is not a NORB matrix type")
    if not 0 < ndim <= 16:
        raise damaged(path, f"{ndim} dimensions")
    dims = stream.read(4 * max(3, ndim))
    if len(dims) < 4 * max(3, ndim):
        raise damaged(path, "header cut short")
    shape = tuple(int(v) for v in np.frombuffer(dims, "<i4")[:ndim])
    if min(shape) < 0:
        raise damaged(path, f"negative size in {shape}")
    return MAGIC[magic], shape


def read_matrix(path: Path) -> np.ndarray:
    """A whole NORB matrix file (small ones: ``-cat``, ``-info``) as a numpy array.

    Raises:
        DataFileError: bad header or fewer elements than the header declares.
    """
    try:
        with _open(path) as f:
            dtype, shape = read_header(f, path)
            n = int(np.prod(shape)) * dtype.itemsize
            buf = f.read(n)
    except (OSError, EOFError) as e:
        raise damaged(path, str(e)) from None
    if len(buf) != n:
        raise damaged(path, f"{len(buf)} of {n} data bytes")
    return np.frombuffer(buf, dtype).reshape(shape)


def iter_images(path: Path, rows: int = _ROWS) -> Iterator[np.ndarray]:
    """The first camera's images of a ``-dat`` file, uint8 ``(≤rows, H, W)`` chunks in file order.

    Raises:
        DataFileError: not a byte matrix (N, 2, H, W), or cut short.
    """
    try:
        with _open(path) as f:
            dtype, shape = read_header(f, path)
            if dtype != np.uint8 or len(shape) != 4 or shape[1] != 2:
                raise damaged(path, f"a {dtype} matrix {shape}, expected bytes (N, 2, H, W)")
            pair = 2 * shape[2] * shape[3]
            for start in range(0, shape[0], rows):
                n = min(rows, shape[0] - start)
                buf = f.read(n * pair)
                if len(buf) != n * pair:
                    raise damaged(path, f"image data ends after {start + len(buf) // pair} of {shape[0]} pairs")
                yield np.frombuffer(buf, np.uint8).reshape(n, 2, shape[2], shape[3])[:, 0]
    except (OSError, EOFError) as e:
        raise damaged(path, str(e)) from None


def resize(images: np.ndarray) -> np.ndarray:
    """uint8 ``(n, H, W)`` → uint8 ``(n, 64, 64)``: Lanczos on a 32-bit integer image, as
    disentanglement_lib's ``_resize_images``, then clipped to [0, 255]."""
    out = np.empty((len(images), 64, 64), np.uint8)
    for i, image in enumerate(images):
        resized = Image.fromarray(image.astype(np.int32)).resize((64, 64), Image.LANCZOS)
        out[i] = np.clip(np.asarray(resized), 0, 255)
    return out


class SmallNORB(GroundTruthDataset):
    """SmallNORB observations, float32 in [0, 1], shape ``(n, 1, 64, 64)``.

    Args:
        folder: where the six files are; default the data cache. Each is looked up under its
            manifest name (``….mat.gz``), then without ``.gz``.
        factors_num_values: the grid (category, elevation, azimuth, lighting); default the
            published (5, 9, 18, 6). A smaller grid is only for miniature files of the same
            format (tests); the files must match it.
        num_instances: instances per category (10 published; the non-factor drawn per observation).

    ``factor_values``: category and lighting as indices, elevation 30…70° in 5° steps,
    azimuth 0…340° in 20° steps (the dataset page).

    Raises:
        MissingFileError: a file is absent (the message gives the download command).
        DataFileError (on :meth:`prepare`, i.e. first use): a file is truncated, not in NORB
            format, disagrees with the others, or does not cover the grid exactly once.
    """

    reopened_after_pickling = ("_images",)

    name = NAME
    deterministic = False
    observation_shape = (1, 64, 64)

    def __init__(self, folder: str | os.PathLike | None = None, factors_num_values=None, num_instances: int = NUM_INSTANCES):
        m = manifest(NAME)
        self.factor_names = m.factor_names
        self.factors_num_values = tuple(int(k) for k in (factors_num_values or m.factors_num_values))
        c, e, a, light = (np.arange(k, dtype=np.float64) for k in self.factors_num_values)
        self.factor_values = (c, 30 + 5 * e, 20 * a, light)  # elevation and azimuth in degrees
        self.num_instances = int(num_instances)
        self.folder = Path(folder) if folder is not None else data_dir()
        self.paths = {}
        for spec in m.files:
            path = self.folder / spec.name
            if not path.is_file() and (self.folder / spec.name.removesuffix(".gz")).is_file():
                path = self.folder / spec.name.removesuffix(".gz")
            if not path.is_file():
                raise missing_file_error(NAME, self.folder / spec.name)
            self.paths[spec.name.removesuffix(".gz").removesuffix(".mat").removeprefix("smallnorb-")] = path
        self._images = None

    @property
    def grid(self) -> tuple[int, ...]:
        """Sizes of the stored grid: category, instance, elevation, azimuth, lighting."""
        c, e, a, light = self.factors_num_values
        return (c, self.num_instances, e, a, light)

    @property
    def cache_path(self) -> Path:
        """The 64×64 cache, keyed by the six files' names, sizes and mtimes."""
        key = hashlib.sha256()
        for path in self.paths.values():
            st = path.stat()
            key.update(f"{path.name}:{st.st_size}:{st.st_mtime_ns};".encode())
        return data_dir() / f"smallnorb.{key.hexdigest()[:16]}.images.npy"

    def prepare(self, progress: bool = True) -> Path:
        """Resize both chunks once into :attr:`cache_path` (atomically); return its path.

        Raises:
            DataFileError: see the class docstring; nothing is written then.
        """
        out = self.cache_path
        if out.is_file():
            return out
        grid = np.asarray(self.grid)
        total = int(grid.prod())
        seen = np.zeros(total, np.int64)
        with atomic_path(out, suffix=".npy") as tmp:
            images = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(total, 64, 64))
            with tqdm(total=total, desc="resizing smallnorb", unit="img", disable=not progress) as bar:
                for chunk in CHUNKS:
                    index = self._grid_index(chunk)
                    start = 0
                    for rows in iter_images(self.paths[f"{chunk}-dat"]):
                        if start + len(rows) > len(index):
                            raise damaged(self.paths[f"{chunk}-dat"], f"more images than the {len(index)} labels")
                        images[index[start : start + len(rows)]] = resize(rows)
                        start += len(rows)
                        bar.update(len(rows))
                    if start != len(index):
                        raise damaged(self.paths[f"{chunk}-dat"], f"{start} images for {len(index)} labels")
                    np.add.at(seen, index, 1)
            if not np.all(seen == 1):
                raise DataFileError(
                    f"{NAME}: the files do not hold each (category, instance, elevation, azimuth, lighting) "
                    f"exactly once ({int((seen == 0).sum())} missing, {int((seen > 1).sum())} repeated); "
                    f"re-download them with `disbench datasets download {NAME}`"
                )
            images.flush()
            del images
        return out

    def _grid_index(self, chunk: str) -> np.ndarray:
        """Flat grid index (int64) of each pair in ``chunk``, from its ``-cat`` and ``-info`` files."""
        cat_path, info_path = self.paths[f"{chunk}-cat"], self.paths[f"{chunk}-info"]
        cat, info = read_matrix(cat_path), read_matrix(info_path)
        if cat.ndim != 1 or info.ndim != 2 or info.shape != (len(cat), 4):
            raise damaged(info_path, f"-cat {cat.shape} and -info {info.shape} do not pair up as (N,) and (N, 4)")
        if np.any(info[:, 2] % 2):
            raise damaged(info_path, "odd azimuth (stored as 0, 2, ..., 34)")
        features = np.column_stack([cat, info[:, 0], info[:, 1], info[:, 2] // 2, info[:, 3]]).astype(np.int64)
        grid = np.asarray(self.grid)
        bad = (features < 0) | (features >= grid)
        if bad.any():
            col = int(np.argwhere(bad)[0, 1])
            names = ("category", "instance", "elevation", "azimuth", "lighting")
            raise damaged(cat_path if col == 0 else info_path, f"{names[col]} out of range [0, {grid[col]})")
        strides = np.concatenate([np.cumprod(grid[::-1])[::-1][1:], [1]])
        return features @ strides

    def _memmap(self) -> np.ndarray:
        if self._images is None:
            self._images = np.load(self.prepare(progress=False), mmap_mode="r")
        return self._images

    def _observations(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        instance = rng.integers(0, self.num_instances, size=len(factors))
        c, e, a, light = factors.T
        _, ni, ne, na, nl = self.grid
        index = (((c * ni + instance) * ne + e) * na + a) * nl + light
        images = self._memmap()[index]
        return uint8_to_model_images(images)


def load(name: str = NAME, source: str = "file", **options) -> SmallNORB:
    """SmallNORB from its six published files (the only source); ``options`` go to :class:`SmallNORB`."""
    return SmallNORB(**options)
