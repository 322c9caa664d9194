"""Baselines: one module per method, sharing blocks from :mod:`disbench.models.nets`.

The built-in baseline ``X`` lives in ``disbench/models/X.py``, which defines its config
dataclass (``XConfig``, see :mod:`disbench.models.config`) and the class, decorated with
:func:`register` and named ``X``; a preset ``baselines/<row>.toml`` with ``model = "X"``
puts it on the board. Nothing else is edited to add one: :func:`get_model_class` imports
the module of that name on first use.

Outside models (see :mod:`disbench.plugins`): a preset's ``model`` may also be
``"package.module:ClassName"``, or the name of a ``disbench.models`` entry point that an
installed package declares for its :class:`Baseline` subclass.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
from pathlib import Path

from disbench import plugins
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
    """The model class ``name`` names: a built-in registry name (imports
    ``disbench.models.<name>`` on first use), ``"package.module:ClassName"``, or a
    ``disbench.models`` entry point.

    Raises:
        UnknownNameError: unknown name (the message lists the valid ones).
        PluginError: outside code that does not import or is not a :class:`Baseline`
            subclass with a :class:`BaselineConfig` ``config_class`` (the message names
            the file and the fix).
    """
    if plugins.is_reference(name):
        return check_model_class(plugins.load_object(name, "model class"), name)
    if name not in MODELS and name.isidentifier() and importlib.util.find_spec(f"{__name__}.{name}"):
        importlib.import_module(f"{__name__}.{name}")
    if name in MODELS:
        return MODELS[name]
    obj = plugins.load_entry_point(name)
    if obj is not None and not isinstance(obj, (str, Path)):
        return check_model_class(obj, f"entry point {name!r}")
    raise unknown_name("model", name, builtin_models())


def check_model_class(obj, ref: str) -> type[Baseline]:
    """``obj`` if it is a :class:`Baseline` subclass with a config dataclass, else PluginError."""
    where = plugins.file_of(obj)
    if not (inspect.isclass(obj) and issubclass(obj, Baseline)):
        raise plugins.PluginError(f"model class {ref!r} ({where}) is a {type(obj).__name__}, not a subclass of "
                                  "disbench.models.Baseline; subclass it (see disbench/models/base.py)")
    config_class = getattr(obj, "config_class", None)
    if not (inspect.isclass(config_class) and issubclass(config_class, BaselineConfig)):
        raise plugins.PluginError(f"model class {ref!r} ({where}): config_class must be a subclass of "
                                  "disbench.models.BaselineConfig (a frozen dataclass)")
    return obj


def builtin_models() -> list[str]:
    """Registry names of the built-in baselines (imports every module of this package)."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return sorted(name for name, cls in MODELS.items() if cls.__module__.startswith(f"{__name__}."))


__all__ = ["MODELS", "Baseline", "BaselineConfig", "DatasetInfo", "builtin_models", "check_model_class",
           "get_model_class", "register"]
