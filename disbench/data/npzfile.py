"""Reading large ``.npz`` archives without loading them whole.

An ``.npz`` is a zip of ``.npy`` members. A member stored uncompressed (``np.savez``) is
memory-mapped in place; a compressed one (``np.savez_compressed``) is streamed in row
chunks, so a multi-GB array is converted to a cache file with bounded memory.
Every failure to read (truncated zip, bad header, short member) becomes a
:class:`~disbench.errors.DataFileError` that says to re-download the file.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from disbench.errors import DataFileError

_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # zip local file header (30 bytes)
_READ_ERRORS = (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error, struct.error)


def damaged(path: Path, dataset: str, detail: str) -> DataFileError:
    """The standard error for a data file that exists but cannot be used."""
    return DataFileError(
        f"{dataset}: {path} is truncated, damaged or not the expected file ({detail}); "
        f"delete it and re-download it with `disbench datasets download {dataset}`"
    )


def open_npz(path: Path, dataset: str) -> zipfile.ZipFile:
    """Open ``path`` as a zip archive; DataFileError when it is not one (e.g. truncated)."""
    try:
        return zipfile.ZipFile(path)
    except _READ_ERRORS as e:
        raise damaged(path, dataset, f"not a readable npz archive: {e}") from None


def member_keys(zf: zipfile.ZipFile) -> set[str]:
    """Array names held by an open npz archive."""
    return {n[: -len(".npy")] for n in zf.namelist() if n.endswith(".npy")}


def member_header(
    zf: zipfile.ZipFile, key: str, path: Path, dataset: str
) -> tuple[tuple[int, ...], np.dtype]:
    """``(shape, dtype)`` of member ``key`` read from its ``.npy`` header only."""
    try:
        with zf.open(f"{key}.npy") as fp:
            shape, _, dtype, _ = _read_header(fp)
    except _READ_ERRORS as e:
        raise damaged(path, dataset, f"cannot read the header of {key!r}: {e}") from None
    return shape, dtype


def member_memmap(path: Path, key: str, dataset: str) -> np.memmap | None:
    """A read-only memory map of member ``key``, or None when the member is compressed."""
    with open_npz(path, dataset) as zf:
        info = zf.getinfo(f"{key}.npy")
        if info.compress_type != zipfile.ZIP_STORED:
            return None
        try:
            with zf.open(info) as fp:
                shape, fortran, dtype, header_len = _read_header(fp)
            with open(path, "rb") as f:
                f.seek(info.header_offset)
                fields = _LOCAL_HEADER.unpack(f.read(_LOCAL_HEADER.size))
        except _READ_ERRORS as e:
            raise damaged(path, dataset, f"cannot read member {key!r}: {e}") from None
    name_len, extra_len = fields[-2], fields[-1]
    offset = info.header_offset + _LOCAL_HEADER.size + name_len + extra_len + header_len
    nbytes = int(np.prod(shape)) * dtype.itemsize
    if offset + nbytes > path.stat().st_size:
        raise damaged(path, dataset, f"member {key!r} is cut short")
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran else "C")


def iter_rows(path: Path, key: str, dataset: str, chunk_rows: int) -> Iterator[np.ndarray]:
    """Yield member ``key`` (C order) in consecutive chunks of at most ``chunk_rows`` rows."""
    with open_npz(path, dataset) as zf:
        try:
            with zf.open(f"{key}.npy") as fp:
                shape, fortran, dtype, _ = _read_header(fp)
                if fortran and len(shape) > 1:
                    raise ValueError("Fortran-ordered array")
                row_shape = shape[1:]
                row_bytes = int(np.prod(row_shape)) * dtype.itemsize
                for start in range(0, shape[0], chunk_rows):
                    n = min(chunk_rows, shape[0] - start)
                    buf = fp.read(n * row_bytes)
                    if len(buf) != n * row_bytes:
                        raise EOFError(f"member {key!r} ends after {start * row_bytes + len(buf)} bytes")
                    yield np.frombuffer(buf, dtype=dtype).reshape((n, *row_shape))
        except _READ_ERRORS as e:
            raise damaged(path, dataset, str(e)) from None


def _read_header(fp) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """``(shape, fortran_order, dtype, header_length_in_bytes)`` of an open ``.npy`` stream."""
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
    else:
        raise ValueError(f"unsupported .npy format version {version}")
    if dtype.hasobject:
        raise ValueError("object arrays are not image data")
    return shape, fortran, dtype, fp.tell()
