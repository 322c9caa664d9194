"""Dataset manifests (``datasets/<name>.toml``): what each dataset is and where its file lives.

A manifest names a dataset's factors and their sizes, its observation shape, its sources
(``"procedural"`` and/or ``"file"``), its licence and, for each published file (``[[files]]``),
its name in the data cache, its download URLs (mirrors, tried in order) and its checksums
(sha256 and/or md5; an empty string means unknown, i.e. not published). A variant
(color-/noisy-dSprites) names its ``base`` dataset and shares the base's files unless it
lists files of its own (scream-dSprites: the painting).
Manifests are found with :func:`disbench.resources.manifests_dir`, so they work from a
checkout and from an installed wheel alike.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from disbench.errors import InvalidInputError, MissingFileError, unknown_name
from disbench.resources import data_dir, manifests_dir, read_toml

SOURCES = ("procedural", "file", "auto")


@dataclass(frozen=True)
class DataFile:
    """A published data file: where it lives in the cache and where to download it.

    ``urls`` are mirrors of the same bytes, tried in order by
    :func:`disbench.data.download.download`.
    """

    name: str
    urls: tuple[str, ...]
    sha256: str = ""
    md5: str = ""
    size: int | None = None

    def path(self, root: Path | None = None) -> Path:
        """Its path under ``root`` (default: :func:`disbench.resources.data_dir`)."""
        return Path(root if root is not None else data_dir()) / self.name


@dataclass(frozen=True)
class Manifest:
    """One dataset's manifest (see the module docstring)."""

    name: str
    display_name: str
    citation: str
    factor_names: tuple[str, ...]
    factors_num_values: tuple[int, ...]
    observation_shape: tuple[int, int, int]
    sources: tuple[str, ...]
    licence: str = ""
    base: str | None = None
    files: tuple[DataFile, ...] = ()


@functools.cache
def _all_manifests() -> dict[str, Manifest]:
    out = {}
    for path in sorted(manifests_dir().glob("*.toml")):
        raw = read_toml(path)
        files = tuple(DataFile(**{**f, "urls": tuple(f["urls"])}) for f in raw.get("files", ()))
        out[raw["name"]] = Manifest(
            name=raw["name"],
            display_name=raw["display_name"],
            citation=raw["citation"],
            factor_names=tuple(raw["factor_names"]),
            factors_num_values=tuple(int(k) for k in raw["factors_num_values"]),
            observation_shape=tuple(int(k) for k in raw["observation_shape"]),
            sources=tuple(raw["sources"]),
            licence=raw.get("licence", ""),
            base=raw.get("base"),
            files=files,
        )
    return out


def manifest_names() -> list[str]:
    """Names of all datasets that have a manifest, sorted."""
    return sorted(_all_manifests())


def manifest(name: str) -> Manifest:
    """The manifest of dataset ``name``.

    Raises:
        UnknownNameError: no manifest of that name (the message lists the valid names).
    """
    manifests = _all_manifests()
    if name not in manifests:
        raise unknown_name("dataset", name, manifests)
    return manifests[name]


def data_files(name: str) -> tuple[DataFile, ...]:
    """The published files behind dataset ``name`` (a variant without files of its own
    uses its base's).

    Raises:
        UnknownNameError: unknown dataset.
        InvalidInputError: the dataset has no file (procedural only).
    """
    m = manifest(name)
    if not m.files and m.base is not None:
        return data_files(m.base)
    if not m.files:
        raise InvalidInputError(f"dataset {name!r} has no published file to download")
    return m.files


def missing_file_error(name: str, path: Path) -> MissingFileError:
    """The standard error for an absent data file: names the file and the download command."""
    return MissingFileError(
        f"{name}: data file {path} not found; run `disbench datasets download {name}` "
        "(or put the file there, or point DISBENCH_DATA at the folder holding it)"
    )


def check_source(name: str, source: str) -> None:
    """Check that dataset ``name`` can be loaded from ``source``.

    Raises:
        UnknownNameError: ``source`` is none of :data:`SOURCES`, or ``name`` has no manifest.
        InvalidInputError: the manifest does not list ``source`` among the dataset's sources.
    """
    if source not in SOURCES:
        raise unknown_name("source", source, SOURCES)
    allowed = manifest(name).sources
    if source != "auto" and source not in allowed:
        raise InvalidInputError(
            f"dataset {name!r} has no {source!r} source; its sources: {', '.join(allowed)}"
        )
