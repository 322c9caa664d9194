"""Ground-truth-factor datasets.

``load(name, **options)`` returns a :class:`GroundTruthDataset`; ``DATASETS`` maps each
registered name to its loader. Loaders register themselves with :func:`register`.
"""

from __future__ import annotations

from collections.abc import Callable

from disbench.data.base import GroundTruthDataset
from disbench.errors import unknown_name

DATASETS: dict[str, Callable[..., GroundTruthDataset]] = {}


def register(name: str):
    """Class/function decorator adding a dataset loader to :data:`DATASETS`."""

    def deco(factory):
        DATASETS[name] = factory
        return factory

    return deco


def load(name: str, **options) -> GroundTruthDataset:
    """Load dataset ``name``; ``options`` go to its loader (e.g. ``source="file"``).

    Raises:
        UnknownNameError: ``name`` is not registered (the message lists valid names).
        MissingFileError: a file-backed dataset whose file is absent (the message names
            the file and the ``disbench datasets download`` command).
    """
    _import_loaders()
    if name not in DATASETS:
        raise unknown_name("dataset", name, DATASETS)
    return DATASETS[name](**options)


def _import_loaders() -> None:
    # Importing the modules runs their @register decorators.
    import importlib

    for module in _LOADER_MODULES:
        importlib.import_module(f"disbench.data.{module}")


# modules whose import registers dataset loaders
_LOADER_MODULES = ("registry",)


__all__ = ["DATASETS", "GroundTruthDataset", "load", "register"]
