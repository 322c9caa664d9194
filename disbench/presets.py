"""Baseline presets: one TOML file per leaderboard row under ``baselines/``.

The schema is documented in ``baselines/README.md``. A preset names the model class
(``model``, a registry name, see :func:`disbench.models.get_model_class`), its supervision
and representation, the citation, one table per *profile* (``quick`` for this CPU,
``paper`` for the paper's own settings), the numbers the paper reports
(``[[reported]]``) and, for each study the baseline takes part in, its hyper-parameter
sweep (``[studies.<study>]``, read by :mod:`disbench.study`). Each profile's ``model`` table
is checked against the model's config dataclass when the preset is loaded, and so is every
value a sweep sets in it, so a typo fails before anything runs.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

from disbench import plugins
from disbench.data.manifest import SOURCES
from disbench.device import PRECISIONS
from disbench.errors import (
    DataFileError,
    InvalidInputError,
    MissingFileError,
    UnknownConfigKeyError,
    UnknownNameError,
    unknown_name,
)
from disbench.models import get_model_class
from disbench.resources import presets_dir, read_toml

REQUIRED_KEYS = ("name", "model", "display_name", "supervision", "representation", "citation", "paper", "profiles")
REQUIRED_PROFILE_KEYS = ("steps", "batch_size")
SUPERVISION_KINDS = ("none", "factor labels", "clamped batches", "paired observations, k changed factors",
                     "paired observations, changed factor named", "100 labels", "1000 labels")
PROFILE_DEFAULTS = {"checkpoint_every": 1000, "log_every": 50, "precision": "float32", "model": {}}


@dataclass(frozen=True)
class Preset:
    """A parsed preset file.

    Attributes:
        name, model, display_name, supervision, representation, citation, paper: as in the file.
        profiles: profile name -> table (``steps``, ``batch_size``, ``checkpoint_every``,
            ``log_every``, ``precision``, optional ``data_source`` (``"procedural"``, ``"file"``
            or ``"auto"``: the published file when present, else procedural with a warning;
            absent: the dataset's default), ``model`` = hyperparameters for the model class).
        reported: the ``[[reported]]`` entries (dicts with paper, dataset, metric, value,
            source, metric_settings).
        studies: study name -> :class:`Sweep` (the ``[studies.<study>]`` tables).
        in_all: whether ``disbench run --models all`` trains it (the file's ``in_all``, default
            true; the weakly- and semi-supervised rows say false).
        path: the file it was read from.
    """

    name: str
    model: str
    display_name: str
    supervision: str
    representation: str
    citation: str
    paper: str
    profiles: dict
    reported: list = field(default_factory=list)
    studies: dict = field(default_factory=dict)
    in_all: bool = True
    path: Path | None = None

    def profile(self, name: str) -> dict:
        """A deep copy of profile ``name`` with defaults filled in (``checkpoint_every``
        1000, ``log_every`` 50, ``precision`` "float32", ``model`` {}).

        Raises:
            UnknownNameError: no such profile (the message lists this preset's profiles).
        """
        if name not in self.profiles:
            err = unknown_name("profile", name, self.profiles)
            raise UnknownNameError(f"{err} (preset {self.name!r})")
        prof = copy.deepcopy(PROFILE_DEFAULTS)
        prof.update(copy.deepcopy(self.profiles[name]))
        return prof

    def resolve_profile(self, name: str, overrides: dict | None = None) -> dict:
        """Profile ``name`` (:meth:`profile`) with ``overrides`` applied and checked, as a preset
        file is: the one path by which ``disbench train/run/study --set`` (and a study's grid)
        change a profile.

        Args:
            overrides: profile keys (:data:`disbench.overrides.PROFILE_KEYS`) -> value, and
                ``"model"`` -> {model config field: value}. Model values are converted by the
                config dataclass (an int for a float field becomes a float), so ``beta=8``
                and ``beta=8.0`` are the same setting.

        Raises:
            UnknownNameError: no such profile.
            UnknownConfigKeyError: a key that is neither a profile key nor ``model``, or a model
                key the model's config lacks (the message names the valid keys).
            InvalidInputError: a value of the wrong type or out of range (``steps`` etc. must be
                positive ints, ``precision`` one of :data:`disbench.device.PRECISIONS`).
        """
        from disbench.overrides import PROFILE_KEYS

        prof = self.profile(name)
        where = f"preset {self.name!r} profile {name!r}"
        model = dict((overrides or {}).get("model") or {})
        for key, value in (overrides or {}).items():
            if key == "model":
                continue
            if key not in PROFILE_KEYS:
                raise UnknownConfigKeyError(
                    f"{where}: unknown key {key!r}; valid keys: {', '.join(PROFILE_KEYS)}, "
                    + ", ".join(f"model.{k}" for k, *_ in self._config_class().describe()))
            if key == "precision" and value not in PRECISIONS:
                raise InvalidInputError(f"{where}: precision must be one of {', '.join(PRECISIONS)}, got {value!r}")
            if key != "precision" and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise InvalidInputError(f"{where}: {key} must be a positive int, got {value!r}")
            prof[key] = value
        resolved = self._config_class().from_table({**prof["model"], **model}, where=where).to_dict()
        prof["model"].update({k: resolved[k] for k in model})
        return prof

    def changes(self, name: str, overrides: dict | None = None) -> tuple[dict, dict]:
        """What ``overrides`` change in profile ``name``: ``(model keys, profile keys)`` -> their
        converted values, leaving out the keys set to the profile's own value (the run's
        ``variant`` and ``settings``, :func:`disbench.runner.train_spec`).

        Raises:
            see :meth:`resolve_profile`.
        """
        base, changed = self.profile(name), self.resolve_profile(name, overrides)
        overrides = overrides or {}
        model = {k: changed["model"][k] for k in overrides.get("model") or {}
                 if k not in base["model"] or base["model"][k] != changed["model"][k]}  # fmt: skip
        settings = {k: changed[k] for k in overrides if k != "model" and base[k] != changed[k]}
        return model, settings

    def _config_class(self):
        return get_model_class(self.model).config_class

    def model_config(self, profile: str):
        """The model's config dataclass built from profile ``profile``'s ``model`` table.

        Raises:
            UnknownNameError: no such profile.
        """
        return get_model_class(self.model).config_class.from_table(
            self.profile(profile)["model"], where=f"preset {self.name!r} profile {profile!r}")


@dataclass(frozen=True)
class Sweep:
    """A preset's part in a study: the ``model`` hyper-parameter it varies and its values.

    Attributes:
        key: a key of the profile's ``[profiles.<p>.model]`` table (``"beta"``).
        values: the values the study trains, in the study's order (floats or ints).
        source: where the values come from (file, function, setting).
    """

    key: str
    values: tuple
    source: str


def list_presets() -> list[str]:
    """Names of the available presets (file stems under ``baselines/``), sorted."""
    return sorted(p.stem for p in presets_dir().glob("*.toml"))


def load_preset(name: str) -> Preset:
    """Load preset ``name``: a file stem under ``baselines/``, a path to a ``.toml`` preset
    file anywhere, or a preset an installed package registers in the ``disbench.models``
    entry-point group (see :mod:`disbench.plugins`).

    Raises:
        UnknownNameError: no preset of that name (the message lists the valid ones).
        PluginError: the preset's ``model`` is outside code that cannot be used (names the fix).
        MissingFileError: a path that does not exist.
        DataFileError: the file is not valid TOML or misses required keys.
        UnknownConfigKeyError: a profile's ``model`` table has a key the model's config lacks
            (the message names the key, the preset, the profile and the valid keys).
        InvalidInputError: a ``model`` value of the wrong type or out of range.
    """
    name = str(name)
    if name.endswith(".toml"):
        path = Path(name)
        if not path.is_file():
            raise MissingFileError(f"preset file {path} not found")
    else:
        path = presets_dir() / f"{name}.toml"
        if not path.is_file():
            path = plugins.entry_point_presets().get(name)
        if path is None or not path.is_file():
            raise unknown_name("preset", name, [*list_presets(), *plugins.entry_point_presets()])
    try:
        data = read_toml(path)
    except Exception as e:  # tomllib.TOMLDecodeError, UnicodeDecodeError
        raise DataFileError(f"preset {path} is not valid TOML: {e}; fix the file") from e
    return _validate(data, path)


def _validate(data: dict, path: Path) -> Preset:
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise DataFileError(f"preset {path} misses required keys {missing}; see baselines/README.md")
    if data["supervision"] not in SUPERVISION_KINDS:
        raise DataFileError(f"preset {path}: supervision must be one of {SUPERVISION_KINDS}, got {data['supervision']!r}")
    profiles = data["profiles"]
    if not isinstance(profiles, dict) or not profiles:
        raise DataFileError(f"preset {path} defines no [profiles.<name>] table")
    for pname, prof in profiles.items():
        lacking = [k for k in REQUIRED_PROFILE_KEYS if k not in prof]
        if lacking:
            raise DataFileError(f"preset {path}: profile {pname!r} misses {lacking}")
        for key in ("steps", "batch_size", "checkpoint_every", "log_every"):
            if key in prof and (not isinstance(prof[key], int) or prof[key] < 1):
                raise DataFileError(f"preset {path}: profile {pname!r} {key} must be a positive integer")
        if prof.get("precision", "float32") not in PRECISIONS:
            raise DataFileError(f"preset {path}: profile {pname!r} precision must be one of {PRECISIONS}")
        if prof.get("data_source", "auto") not in SOURCES:
            raise DataFileError(f"preset {path}: profile {pname!r} data_source must be one of {SOURCES}")
    try:
        config_class = get_model_class(data["model"]).config_class
    except UnknownNameError as e:
        raise UnknownNameError(f"preset {path}: {e}") from None
    for pname, prof in profiles.items():
        if not isinstance(prof.get("model", {}), dict):
            raise DataFileError(f"preset {path}: profile {pname!r} model must be a table ([profiles.{pname}.model])")
        config_class.from_table(prof.get("model"), where=f"preset {path} profile {pname!r}")
    known = {k: data[k] for k in REQUIRED_KEYS}
    studies = {}
    for study, table in data.get("studies", {}).items():
        where = f"preset {path}: [studies.{study}]"
        studies[study] = sweep = _sweep(table, where)
        for pname, prof in profiles.items():  # every value must make a valid config of every profile
            for value in sweep.values:
                config_class.from_table({**prof.get("model", {}), sweep.key: value}, where=f"{where} in {pname!r}")
    in_all = data.get("in_all", True)
    if not isinstance(in_all, bool):
        raise DataFileError(f"preset {path}: in_all must be true or false, got {in_all!r}")
    return Preset(**known, reported=list(data.get("reported", [])), studies=studies, in_all=in_all, path=path)


def _sweep(table, where: str) -> Sweep:
    if not isinstance(table, dict) or set(table) != {"key", "values", "source"}:
        raise DataFileError(f"{where} must have exactly the keys key, values, source; see baselines/README.md")
    values = table["values"]
    numbers = isinstance(values, list) and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    if not numbers or not values or len(set(values)) != len(values):
        raise DataFileError(f"{where}: values must be a non-empty list of distinct numbers, got {values!r}")
    if not isinstance(table["key"], str) or not isinstance(table["source"], str) or not table["source"]:
        raise DataFileError(f"{where}: key and source must be strings")
    return Sweep(table["key"], tuple(values), table["source"])
