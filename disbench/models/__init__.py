"""Baselines: one module per method, sharing blocks from :mod:`disbench.models.nets`.

The built-in baseline ``X`` lives in ``disbench/models/X.py``, which defines its config
dataclass (``XConfig``, see :mod:`disbench.models.config`) and the class, decorated with
:func:`register` and named ``X``; a preset ``baselines/<row>.toml`` with ``model = "X"``
puts it on the board. Nothing else is edited to add one: :func:`get_model_class` imports
the module of that name on first use.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil

from disbench.errors import unknown_name
from disbench.models.base import Baseline, DatasetInfo
from disbench.models.config import BaselineConfig

#: registry name -> class, filled by :func:`register` as model modules are imported
MODELS: dict[str, type[Baseline]] = {}


def register(cls):
    """Class decorator adding a baseline to :data:`MODELS` under ``cls.name``."""
    MODELS[cls.name] = cls
    return cls


def get_model_class(name: str) -> type[Baseline]:
    """The class registered as ``name`` (imports ``disbench.models.<name>`` on first use).

    Raises:
        UnknownNameError: unknown name (the message lists the valid ones).
    """
    if name not in MODELS and name.isidentifier() and importlib.util.find_spec(f"{__name__}.{name}"):
        importlib.import_module(f"{__name__}.{name}")
    if name not in MODELS:
        raise unknown_name("model", name, builtin_models())
    return MODELS[name]


def builtin_models() -> list[str]:
    """Registry names of the built-in baselines (imports every module of this package)."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return sorted(MODELS)


__all__ = ["MODELS", "Baseline", "BaselineConfig", "DatasetInfo", "builtin_models", "get_model_class", "register"]
