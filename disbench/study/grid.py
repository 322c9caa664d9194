"""A study's definition (``studies/<name>.toml``), the sweeps presets declare, and the
expansion of its grid into run specs (see :mod:`disbench.study`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from disbench.errors import DataFileError, InvalidInputError, MissingFileError, unknown_name
from disbench.resources import read_toml, studies_dir

REQUIRED_KEYS = ("name", "title", "citation", "source", "datasets", "seeds", "metrics", "profiles")
GRID_COLUMNS = ["run_id", "method", "display_name", "supervision", "representation", "key", "value", "dataset", "seed"]


@dataclass(frozen=True)
class Study:
    """A parsed ``studies/<name>.toml``.

    Attributes:
        name, title, citation, source: as in the file.
        datasets, seeds: the defaults of ``disbench study``.
        metrics: the metric registry names the study scores.
        profiles: study profile (``--profile``) -> preset profile.
        path: the file it was read from.
        sweeps_from: the study whose sweeps the presets declare for this one too (a study
            with another study's grid, e.g. ``fairness_study_v1``); "" for its own.
    """

    name: str
    title: str
    citation: str
    source: str
    datasets: tuple[str, ...]
    seeds: tuple[int, ...]
    metrics: tuple[str, ...]
    profiles: dict
    path: Path | None = None
    sweeps_from: str = ""

    @property
    def sweep_name(self) -> str:
        """The ``[studies.<name>]`` table presets declare to join this study."""
        return self.sweeps_from or self.name

    def sweeps(self) -> dict:
        """Preset name -> :class:`disbench.presets.Sweep`, for every preset declaring this study."""
        from disbench.presets import list_presets, load_preset

        presets = (load_preset(name) for name in list_presets())
        return {p.name: p.studies[self.sweep_name] for p in presets if self.sweep_name in p.studies}


@dataclass(frozen=True)
class StudyPlan:
    """A study expanded into runs.

    Attributes:
        study: the :class:`Study`.
        profile: the study profile (``quick``, ``study``).
        specs: the run specs (dicts, :func:`disbench.runner.train_spec`) in run order.
        grid: one row per spec: run_id, method (preset name), display_name, supervision and
            representation (the preset's), key (the swept hyper-parameter), value, dataset, seed.
    """

    study: Study
    profile: str
    specs: list
    grid: pd.DataFrame


def list_studies() -> list[str]:
    """Names of the defined studies (file stems under ``studies/``), sorted."""
    return sorted(p.stem for p in studies_dir().glob("*.toml"))


def load_study(name: str) -> Study:
    """Load study ``name`` (or a path to a ``.toml`` study file).

    Raises:
        UnknownNameError: no study of that name (the message lists the valid ones).
        MissingFileError: a path that does not exist.
        DataFileError: the file is not valid TOML, misses keys or has values of the wrong type.
    """
    name = str(name)
    path = Path(name) if name.endswith(".toml") else studies_dir() / f"{name}.toml"
    if not path.is_file():
        if name.endswith(".toml"):
            raise MissingFileError(f"study file {path} not found")
        raise unknown_name("study", name, list_studies())
    try:
        data = read_toml(path)
    except Exception as e:  # tomllib.TOMLDecodeError, UnicodeDecodeError
        raise DataFileError(f"study {path} is not valid TOML: {e}; fix the file") from e
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise DataFileError(f"study {path} misses required keys {missing}; see studies/README.md")
    profiles = data["profiles"]
    if not isinstance(profiles, dict) or not profiles or not all(isinstance(v, str) for v in profiles.values()):
        raise DataFileError(f"study {path}: [profiles] must map each study profile to a preset profile name")
    sweeps_from = data.get("sweeps_from", "")
    if not isinstance(sweeps_from, str):
        raise DataFileError(f"study {path}: sweeps_from must be the name of another study")
    seeds = data["seeds"]
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and s >= 0 for s in seeds):
        raise DataFileError(f"study {path}: seeds must be a non-empty list of non-negative integers")
    return Study(
        name=data["name"], title=data["title"], citation=data["citation"], source=data["source"],
        datasets=tuple(data["datasets"]), seeds=tuple(seeds), metrics=tuple(data["metrics"]),
        profiles=dict(profiles), path=path, sweeps_from=sweeps_from,
    )  # fmt: skip


def plan_study(
    study: str | Study,
    models: Sequence[str] | None = None,
    datasets: Sequence[str] | None = None,
    seeds: Sequence[int] | None = None,
    profile: str = "quick",
    metrics: Sequence[str] | None = None,
) -> StudyPlan:
    """Expand a study into run specs: seed × dataset × method × hyper-parameter value.

    Args:
        study: a study name (``studies/<name>.toml``) or a :class:`Study`.
        models: preset names (each must declare the study's sweep); None: every preset that does.
        datasets, seeds, metrics: None takes the study's defaults.
        profile: a study profile (a key of the study's ``[profiles]``).

    Returns:
        :class:`StudyPlan`; ``len(specs)`` = seeds × datasets × Σ over methods of their values.

    Raises:
        UnknownNameError: unknown study, profile, model (or one without this study's sweep),
            dataset or metric; a method lacking the preset profile the study profile maps to.
        InvalidInputError: no method declares the study, or a bad seed.
        DataFileError: a sweep's key is not in the preset profile's ``model`` table.
    """
    from disbench import data
    from disbench.presets import load_preset
    from disbench.runner import train_spec, valid_metrics

    study = study if isinstance(study, Study) else load_study(study)
    if profile not in study.profiles:
        raise unknown_name("profile", profile, study.profiles)
    sweeps = study.sweeps()
    if not sweeps:
        raise InvalidInputError(f"no preset declares [studies.{study.sweep_name}]; see baselines/README.md")
    names = list(sweeps) if models is None or list(models) in ([], ["all"]) else list(dict.fromkeys(models))
    for m in names:
        if m not in sweeps:
            raise unknown_name(f"model in study {study.name}", m, sweeps)
    datasets = list(dict.fromkeys(datasets or study.datasets))
    for d in datasets:
        if d not in data.DATASETS:
            raise unknown_name("dataset", d, data.DATASETS)
    seeds = list(dict.fromkeys(study.seeds if seeds is None else seeds))
    if not seeds or any(int(s) < 0 for s in seeds):
        raise InvalidInputError(f"seeds must be non-negative integers, got {list(seeds)}")
    metrics = list(dict.fromkeys(metrics or study.metrics))
    for m in metrics:
        if m not in valid_metrics():
            raise unknown_name("metric", m, valid_metrics())

    preset_profile = study.profiles[profile]
    presets = {name: load_preset(name) for name in names}
    for name, preset in presets.items():
        table = preset.profile(preset_profile)["model"]  # raises for a missing profile
        if sweeps[name].key not in table:
            raise DataFileError(
                f"preset {preset.path}: [studies.{study.sweep_name}] sweeps {sweeps[name].key!r}, which is not in "
                f"[profiles.{preset_profile}.model]; name a key of that table"
            )
    specs, rows = [], []
    for seed in seeds:
        for d in datasets:
            for name, preset in presets.items():
                sweep = sweeps[name]
                for value in sweep.values:
                    spec = train_spec(preset, d, preset_profile, int(seed), metrics, model={sweep.key: value})
                    specs.append(spec)
                    rows.append([spec["run_id"], name, preset.display_name, preset.supervision, preset.representation,
                                 sweep.key, float(value), d, int(seed)])  # fmt: skip
    return StudyPlan(study, profile, specs, pd.DataFrame(rows, columns=GRID_COLUMNS))
