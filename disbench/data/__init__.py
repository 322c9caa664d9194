"""Ground-truth-factor datasets: ``load(name, **options)`` returns a :class:`GroundTruthDataset`.

:data:`DATASETS` maps each dataset name to the module that builds it; :func:`get_loader`
imports that module on first use and returns its ``load``. What a dataset is (factors,
sizes, sources, file, checksums) is in its manifest, read by :mod:`disbench.data.manifest`.

Adding a dataset ``foo`` takes exactly:

1. ``datasets/foo.toml``, its manifest (fields in ``datasets/README.md``);
2. a module ``disbench/data/foo.py`` holding the :class:`GroundTruthDataset` subclass and
   ``load(name: str, source: str = <its default>, **options) -> GroundTruthDataset``;
   ``name`` is the registry name (one module may serve several, as ``mpi3d`` does),
   ``source`` one of the manifest's ``sources`` or ``"auto"`` (already checked against
   the manifest when the caller gave one), ``options`` the dataset's own keyword arguments;
3. one line ``"foo": "disbench.data.foo"`` in :data:`DATASETS`.

``tests/test_data_files.py`` checks that :data:`DATASETS` and the manifests name the
same datasets.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable

from disbench.data.base import GroundTruthDataset
from disbench.data.manifest import check_source
from disbench.errors import unknown_name

# dataset name -> module whose `load(name, source=..., **options)` builds it (imported on first use)
DATASETS: dict[str, str] = {
    "dsprites": "disbench.data.dsprites",
    "color_dsprites": "disbench.data.variants",
    "noisy_dsprites": "disbench.data.variants",
    "shapes3d": "disbench.data.shapes3d",
    "mpi3d_toy": "disbench.data.mpi3d",
    "mpi3d_realistic": "disbench.data.mpi3d",
    "mpi3d_real": "disbench.data.mpi3d",
    "scream_dsprites": "disbench.data.variants",
    "smallnorb": "disbench.data.smallnorb",
    "cars3d": "disbench.data.cars3d",
}


def get_loader(name: str) -> Callable[..., GroundTruthDataset]:
    """The ``load`` function of dataset ``name``'s module (imported on first use).

    Raises:
        UnknownNameError: ``name`` is not in :data:`DATASETS` (the message lists valid names).
    """
    if name not in DATASETS:
        raise unknown_name("dataset", name, DATASETS)
    return importlib.import_module(DATASETS[name]).load


def load(name: str, source: str | None = None, **options) -> GroundTruthDataset:
    """Load dataset ``name``.

    Args:
        name: a key of :data:`DATASETS`.
        source: ``"procedural"``, ``"file"`` or ``"auto"`` (the file when it is in the data
            cache, else procedural); None: the dataset's default (procedural for dSprites
            and its variants, the file for the others).
        options: the dataset's keyword arguments (e.g. ``path=``, ``cache=``).

    Raises:
        UnknownNameError: unknown dataset or source (the message lists valid names).
        InvalidInputError: a source the dataset's manifest does not list.
        MissingFileError: a file-backed dataset whose file is absent (the message names
            the file and the ``disbench datasets download`` command).
        DataFileError: the file is truncated or has the wrong schema.
    """
    loader = get_loader(name)
    if source is None:
        return loader(name, **options)
    check_source(name, source)
    return loader(name, source, **options)


class ProceduralFallbackWarning(UserWarning):
    """A profile asked for the published file (``data_source = "auto"``) and it is absent: the
    run uses disbench's procedural render instead."""


_warned: set[str] = set()


def resolve_source(name: str, source: str | None) -> str | None:
    """The concrete source ``source`` stands for on this machine: ``"auto"`` becomes ``"file"``
    when dataset ``name``'s published file is in the data cache (``disbench datasets download
    NAME``; a variant's is its base's) or the dataset has no other source, else
    ``"procedural"`` — with ONE :class:`ProceduralFallbackWarning` per dataset and process
    naming the download command. Other values (and None: the dataset's default) are returned
    unchanged.

    Raises:
        UnknownNameError: unknown dataset or source.
        InvalidInputError: a source the dataset's manifest does not list.
    """
    from disbench.data.manifest import data_files, manifest

    if source is None:
        get_loader(name)  # checks the name
        return None
    check_source(name, source)
    if source != "auto":
        return source
    sources = manifest(name).sources
    if "procedural" not in sources:
        return "file"
    if "file" in sources and all(f.path().is_file() for f in data_files(name)):
        return "file"
    if name not in _warned:
        _warned.add(name)
        base = manifest(name).base or name
        warnings.warn(
            f"{name}: the published file is not in the data cache, so these runs use disbench's procedural "
            f"render (not the published {base} file the reference used; scores record dataset.source = "
            f"'procedural'); run `disbench datasets download {base}` to train on the published file",
            ProceduralFallbackWarning, stacklevel=2,
        )
    return "procedural"


__all__ = ["DATASETS", "GroundTruthDataset", "ProceduralFallbackWarning", "get_loader", "load", "resolve_source"]
