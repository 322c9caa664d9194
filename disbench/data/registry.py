"""The dataset registry: manifests (``datasets/<name>.toml``) and the loaders behind ``load``.

A manifest names a dataset's factors and their sizes, its observation shape, its sources
(``"procedural"`` and/or ``"file"``) and, for a file, its name in the data cache, its
download URL and its checksums (sha256 and/or md5; an empty string means unknown). A
variant (color-/noisy-dSprites) names its ``base`` dataset and shares the base's file.
Manifests are found with :func:`disbench.resources.manifests_dir`, so they work from a
checkout and from an installed wheel alike.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from disbench.data import register
from disbench.errors import InvalidInputError, MissingFileError, unknown_name
from disbench.resources import data_dir, manifests_dir, read_toml

SOURCES = ("procedural", "file", "auto")


@dataclass(frozen=True)
class DataFile:
    """A published data file: where it lives in the cache and where to download it."""

    name: str
    url: str
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
    base: str | None = None
    file: DataFile | None = None


@functools.cache
def _all_manifests() -> dict[str, Manifest]:
    out = {}
    for path in sorted(manifests_dir().glob("*.toml")):
        raw = read_toml(path)
        file = DataFile(**raw["file"]) if "file" in raw else None
        out[raw["name"]] = Manifest(
            name=raw["name"],
            display_name=raw["display_name"],
            citation=raw["citation"],
            factor_names=tuple(raw["factor_names"]),
            factors_num_values=tuple(int(k) for k in raw["factors_num_values"]),
            observation_shape=tuple(int(k) for k in raw["observation_shape"]),
            sources=tuple(raw["sources"]),
            base=raw.get("base"),
            file=file,
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


def data_file(name: str) -> DataFile:
    """The published file behind dataset ``name`` (a variant's is its base's).

    Raises:
        UnknownNameError: unknown dataset.
        InvalidInputError: the dataset has no file (procedural only).
    """
    m = manifest(name)
    if m.file is None and m.base is not None:
        return data_file(m.base)
    if m.file is None:
        raise InvalidInputError(f"dataset {name!r} has no published file to download")
    return m.file


def missing_file_error(name: str, path: Path) -> MissingFileError:
    """The standard error for an absent data file: names the file and the download command."""
    return MissingFileError(
        f"{name}: data file {path} not found; run `disbench datasets download {name}` "
        "(or put the file there, or point DISBENCH_DATA at the folder holding it)"
    )


def _check_source(name: str, source: str) -> None:
    if source not in SOURCES:
        raise unknown_name("source", source, SOURCES)
    allowed = manifest(name).sources
    if source != "auto" and source not in allowed:
        raise InvalidInputError(
            f"dataset {name!r} has no {source!r} source; its sources: {', '.join(allowed)}"
        )


@register("dsprites")
def load_dsprites(source: str = "procedural", **options):
    """dSprites: ``source="procedural"`` (default, no file), ``"file"`` (the published npz)
    or ``"auto"`` (the published file when present in the data cache, else procedural).

    ``options`` go to :class:`~disbench.data.dsprites.DSprites` or
    :class:`~disbench.data.dsprites_file.DSpritesFile`.

    Raises:
        MissingFileError: ``source="file"`` and the file is absent.
        DataFileError: the file is truncated or has the wrong schema.
    """
    _check_source("dsprites", source)
    if source == "auto":
        path = Path(options["path"]) if options.get("path") is not None else data_file("dsprites").path()
        source = "file" if path.is_file() else "procedural"
    if source == "file":
        from disbench.data.dsprites_file import DSpritesFile

        return DSpritesFile(**options)
    from disbench.data.dsprites import DSprites

    return DSprites(**options)


@register("color_dsprites")
def load_color_dsprites(source: str = "procedural", **options):
    """color-dSprites over a dSprites source (see :func:`load_dsprites`)."""
    from disbench.data.variants import ColorDSprites

    _check_source("color_dsprites", source)
    return ColorDSprites(load_dsprites(source, **options))


@register("noisy_dsprites")
def load_noisy_dsprites(source: str = "procedural", **options):
    """noisy-dSprites over a dSprites source (see :func:`load_dsprites`)."""
    from disbench.data.variants import NoisyDSprites

    _check_source("noisy_dsprites", source)
    return NoisyDSprites(load_dsprites(source, **options))


@register("shapes3d")
def load_shapes3d(source: str = "file", **options):
    """3D Shapes from ``3dshapes.h5`` (file only); ``options`` go to
    :class:`~disbench.data.shapes3d.Shapes3D`."""
    from disbench.data.shapes3d import Shapes3D

    _check_source("shapes3d", source)
    return Shapes3D(**options)


def _mpi3d_loader(variant: str):
    name = f"mpi3d_{variant}"

    def load_mpi3d(source: str = "file", **options):
        from disbench.data.mpi3d import MPI3D

        _check_source(name, source)
        return MPI3D(variant, **options)

    load_mpi3d.__name__ = f"load_{name}"
    load_mpi3d.__doc__ = f"MPI3D-{variant} from ``{name}.npz`` (file only); options go to :class:`MPI3D`."
    return register(name)(load_mpi3d)


for _variant in ("toy", "realistic", "real"):
    _mpi3d_loader(_variant)
