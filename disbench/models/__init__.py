"""Baselines: one module per method, sharing blocks from :mod:`disbench.models.nets`.

``MODELS`` maps registry names to classes; modules register with :func:`register`.
"""

from __future__ import annotations

import importlib

from disbench.errors import unknown_name
from disbench.models.base import Baseline, DatasetInfo

MODELS: dict[str, type[Baseline]] = {}

# registry name -> module defining it (imported on first use)
_MODULES = {
    "beta_vae": "beta_vae",
    "dcign": "dcign",
    "infogan": "infogan",
    "lsgan": "lsgan",
    "acgan": "acgan",
    "sgan": "sgan",
}


def register(cls):
    """Class decorator adding a baseline to :data:`MODELS` under ``cls.name``."""
    MODELS[cls.name] = cls
    return cls


def get_model_class(name: str) -> type[Baseline]:
    """The class registered as ``name``.

    Raises:
        UnknownNameError: unknown name (the message lists the valid ones).
    """
    if name not in _MODULES:
        raise unknown_name("model", name, _MODULES)
    importlib.import_module(f"disbench.models.{_MODULES[name]}")
    return MODELS[name]


__all__ = ["MODELS", "Baseline", "DatasetInfo", "get_model_class", "register"]
