"""A study's definition (``studies/<name>.toml``), the sweeps presets declare, and the
expansion of its grid into run specs (see :mod:`disbench.study`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from disbench.errors import DataFileError, InvalidInputError, MissingFileError, unknown_name
from disbench.overrides import MODEL_PREFIX, sweep_points
from disbench.resources import read_toml, studies_dir
from disbench.results import variant_label

REQUIRED_KEYS = ("name", "title", "citation", "source", "datasets", "seeds", "metrics", "profiles")
GRID_COLUMNS = ["run_id", "method", "display_name", "supervision", "representation", "key", "value", "dataset", "seed",
                "model_num"]


@dataclass(frozen=True)
class ModelNumbering:
    """A reference implementation's run numbering (a study file's ``[model_num]`` table): the
    product datasets × methods × values × seeds, the first factor outermost, as
    disentanglement_lib's ``config/unsupervised_study_v1/sweep.py`` ``get_config`` orders it::

        model_num = ((dataset_index · M + method_index) · V + value_index) · S + seed_index

    (M methods, V values per method, S seeds; for unsupervised_study_v1
    ``dataset_index × 1800 + method_index × 300 + value_index × 50 + seed``).
    """

    datasets: tuple[str, ...]
    methods: tuple[str, ...]
    values: int
    seeds: int

    @property
    def size(self) -> int:
        """How many numbers there are (10,800 for unsupervised_study_v1)."""
        return len(self.datasets) * len(self.methods) * self.values * self.seeds

    def number(self, dataset: str, method: str, value_index: int, seed: int) -> int | None:
        """The model number of one run, or None when the run is outside the reference grid
        (a dataset or method it lacks, a value index ≥ V, a seed ≥ S)."""
        if dataset not in self.datasets or method not in self.methods or not 0 <= value_index < self.values \
                or not 0 <= seed < self.seeds:
            return None
        d, m = self.datasets.index(dataset), self.methods.index(method)
        return ((d * len(self.methods) + m) * self.values + value_index) * self.seeds + seed

    def decode(self, model_num: int) -> tuple[str, str, int, int]:
        """``(dataset, method, value_index, seed)`` of ``model_num``.

        Raises:
            InvalidInputError: ``model_num`` is outside ``0 .. size - 1``.
        """
        if not 0 <= model_num < self.size:
            raise InvalidInputError(f"model number {model_num} is outside 0-{self.size - 1}")
        rest, seed = divmod(model_num, self.seeds)
        rest, value_index = divmod(rest, self.values)
        d, m = divmod(rest, len(self.methods))
        return self.datasets[d], self.methods[m], value_index, seed


def parse_model_nums(texts: Sequence[str]) -> list[int]:
    """``["0-299", "1200"]`` (also comma- or space-separated) -> sorted distinct ints.

    Raises:
        InvalidInputError: not an integer or ``a-b`` range with a ≤ b.
    """
    out: set[int] = set()
    for text in texts:
        for part in str(text).replace(",", " ").split():
            try:
                lo, _, hi = part.partition("-")
                a, b = int(lo), int(hi or lo)
            except ValueError:
                raise InvalidInputError(f"--model-num takes integers and ranges like 0-299, got {part!r}") from None
            if a < 0 or b < a:
                raise InvalidInputError(f"--model-num range {part!r} must be a-b with 0 <= a <= b")
            out.update(range(a, b + 1))
    return sorted(out)


@dataclass(frozen=True)
class Study:
    """A parsed ``studies/<name>.toml``.

    Attributes:
        name, title, citation, source: as in the file.
        datasets, seeds: the defaults of ``disbench study``.
        metrics: the metric registry names the study scores.
        profiles: study profile (``--profile``) -> preset profile.
        model_num: the reference's run numbering (``[model_num]``), or None.
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
    model_num: ModelNumbering | None = None
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
            representation (the preset's), key (the swept hyper-parameter; several joined by
            commas), value (a number for one numeric key, else the label ``beta=1,steps=10``),
            dataset, seed.
        definition: for a grid changed by ``--set``/``--sweep`` (an ad-hoc study), the
            arguments that plan it again (:func:`replan`); saved beside its runs as
            ``OUT/studies/<name>/plan.json`` (:func:`save_definition`) so the report finds it.
            None for a study as its file defines it.
    """

    study: Study
    profile: str
    specs: list
    grid: pd.DataFrame
    definition: dict | None = None


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
    numbering = None
    if "model_num" in data:
        t = data["model_num"]
        try:
            numbering = ModelNumbering(tuple(t["datasets"]), tuple(t["methods"]), int(t["values"]), int(t["seeds"]))
        except (KeyError, TypeError, ValueError):
            raise DataFileError(f"study {path}: [model_num] needs datasets, methods (lists), values and seeds "
                                "(integers); see studies/README.md") from None
    return Study(
        name=data["name"], title=data["title"], citation=data["citation"], source=data["source"],
        datasets=tuple(data["datasets"]), seeds=tuple(seeds), metrics=tuple(data["metrics"]),
        profiles=dict(profiles), model_num=numbering, path=path, sweeps_from=sweeps_from,
    )  # fmt: skip


def plan_study(
    study: str | Study,
    models: Sequence[str] | None = None,
    datasets: Sequence[str] | None = None,
    seeds: Sequence[int] | None = None,
    profile: str = "quick",
    metrics: Sequence[str] | None = None,
    *,
    model_nums: Sequence[int] | None = None,
    overrides: dict | None = None,
    sweep: list[tuple[str, tuple]] | None = None,
) -> StudyPlan:
    """Expand a study into run specs: seed × dataset × method × hyper-parameter value.

    Each spec carries ``model_num``, the reference's number of the run (the study's
    ``[model_num]`` numbering, e.g. disentanglement_lib's for unsupervised_study_v1; None for a
    run outside its grid), recorded in ``run.json`` and the grid. ``model_nums`` selects runs by
    it: the methods, datasets and seeds the numbers name (unless given) and only those runs.

    Args:
        study: a study name (``studies/<name>.toml``) or a :class:`Study`.
        models: preset names (each must declare the study's sweep); None: every preset that does.
        datasets, seeds, metrics: None takes the study's defaults.
        profile: a study profile (a key of the study's ``[profiles]``).
        model_nums: the reference's model numbers to run (``--model-num``), or None for all.
        overrides: ``--set`` (flat, :func:`disbench.overrides.parse_set`): applied to every grid point.
        sweep: ``--sweep`` (:func:`disbench.overrides.parse_sweep`): multiplies each method's values
            (its value varies slowest). With ``overrides`` or ``sweep`` the plan's study is named
            ``<study>+<hash>`` (:func:`adhoc_name`), as its grid is not the study's own.

    Returns:
        :class:`StudyPlan`; ``len(specs)`` = seeds × datasets × Σ over methods of their values
        (× the points of ``sweep``).

    Raises:
        UnknownNameError: unknown study, profile, model (or one without this study's sweep),
            dataset or metric; a method lacking the preset profile the study profile maps to.
        InvalidInputError: no method declares the study, or a bad seed; ``model_nums`` for a
            study without numbering or outside its range.
        DataFileError: a sweep's key is not in the preset profile's ``model`` table.
        UnknownConfigKeyError, InvalidInputError: an ``overrides``/``sweep`` key or value the
            profile or model config refuses.
    """
    from disbench import data
    from disbench.presets import load_preset
    from disbench.runner import grid_spec, valid_metrics

    study = study if isinstance(study, Study) else load_study(study)
    if profile not in study.profiles:
        raise unknown_name("profile", profile, study.profiles)
    sweeps = study.sweeps()
    if not sweeps:
        raise InvalidInputError(f"no preset declares [studies.{study.sweep_name}]; see baselines/README.md")
    wanted = None
    if model_nums is not None:
        if study.model_num is None:
            raise InvalidInputError(f"study {study.name} defines no [model_num] numbering; drop --model-num")
        wanted = set(model_nums)
        decoded = [study.model_num.decode(int(n)) for n in sorted(wanted)]
        models = models or list(dict.fromkeys(d[1] for d in decoded))
        datasets = datasets or list(dict.fromkeys(d[0] for d in decoded))
        seeds = list(dict.fromkeys(d[3] for d in decoded)) if seeds is None else seeds
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
    extra = sweep_points(sweep or [])
    specs, rows = [], []
    for seed in seeds:
        for d in datasets:
            for name, preset in presets.items():
                key = MODEL_PREFIX + sweeps[name].key
                points = [{key: value, **point} for value in sweeps[name].values for point in extra]
                varying = [key, *(k for k, _ in sweep or [])]
                values = list(sweeps[name].values)
                for point in points:
                    # dlib's number of the grid point; none once --set/--sweep change it
                    num = (study.model_num.number(d, name, values.index(point[key]), int(seed))
                           if study.model_num and not (overrides or sweep) else None)  # fmt: skip
                    if wanted is not None and num not in wanted:
                        continue
                    spec = grid_spec(preset, d, preset_profile, int(seed), metrics, {**(overrides or {}), **point})
                    spec["model_num"] = num
                    specs.append(spec)
                    rows.append(_grid_row(spec, preset, point, varying))
    definition = None
    if overrides or sweep:
        definition = _definition(study.name, names, datasets, seeds, profile, metrics, overrides, sweep)
        study = replace(study, name=adhoc_name(study.name, overrides, sweep))
    return StudyPlan(study, profile, specs, pd.DataFrame(rows, columns=GRID_COLUMNS), definition)


def plan_sweep(
    models: Sequence[str],
    datasets: Sequence[str] = ("dsprites",),
    seeds: Sequence[int] = (0,),
    profile: str = "quick",
    metrics: Sequence[str] | None = None,
    *,
    sweep: list[tuple[str, tuple]],
    overrides: dict | None = None,
) -> StudyPlan:
    """``disbench run --sweep``: an ad-hoc study of the presets ``models`` over the Cartesian
    product of ``sweep`` (with ``overrides`` on every point), planned like :func:`plan_study`'s
    grid (each point a :func:`disbench.runner.grid_spec`) so the analysis, the board and resume treat it as a study.

    The study is named ``sweep+<hash>`` (:func:`adhoc_name`); its one study profile is ``profile``.

    Raises:
        UnknownNameError, InvalidInputError: see :func:`disbench.runner.plan_runs`; a ``sweep``
            or ``overrides`` key or value the profile or model config refuses.
    """
    from disbench.runner import plan_runs

    specs = plan_runs(models, datasets, seeds, profile, metrics, sanity=False, overrides=overrides, sweep=sweep)
    return adhoc_plan(specs, models, datasets, seeds, profile, metrics, overrides, sweep)


def adhoc_plan(specs, models, datasets, seeds, profile, metrics, overrides, sweep) -> StudyPlan:
    """The ad-hoc study of :func:`plan_sweep` over run specs already planned by
    :func:`disbench.runner.plan_runs` with the same arguments (its trained runs)."""
    from disbench.presets import load_preset

    keys = [k for k, _ in sweep]
    points = sweep_points(sweep)
    trained = [s for s in specs if s["kind"] == "train" and not s.get("encoder")]
    presets = {s["name"]: load_preset(s.get("preset") or s["name"]) for s in trained}
    rows = [_grid_row(s, presets[s["name"]], points[i % len(points)], keys) for i, s in enumerate(trained)]
    name = adhoc_name("sweep", overrides, sweep)
    title = "Ad-hoc sweep " + " × ".join(f"{k} ∈ {{{', '.join(map(str, v))}}}" for k, v in sweep)
    if overrides:
        title += " with " + ", ".join(f"{k}={v}" for k, v in overrides.items())
    study = Study(name=name, title=title, citation="disbench run --sweep", source="the command line",
                  datasets=tuple(datasets), seeds=tuple(int(s) for s in seeds),
                  metrics=tuple(metrics or _default_metrics()), profiles={profile: profile})  # fmt: skip
    definition = _definition(None, models, datasets, seeds, profile, metrics, overrides, sweep)
    return StudyPlan(study, profile, trained, pd.DataFrame(rows, columns=GRID_COLUMNS), definition)


def _definition(study, models, datasets, seeds, profile, metrics, overrides, sweep) -> dict:
    return {"study": study, "models": [models] if isinstance(models, str) else list(models or []), "datasets": list(datasets),
            "seeds": [int(s) for s in seeds], "profile": profile, "metrics": None if metrics is None else list(metrics),
            "set": dict(overrides or {}), "sweep": [[k, list(v)] for k, v in sweep or []]}  # fmt: skip


def save_definition(plan: StudyPlan, out: str | Path) -> Path | None:
    """Write ``plan.definition`` to ``out/studies/<name>/plan.json`` (None when it has none)."""
    from disbench.io import write_json_atomic

    if plan.definition is None:
        return None
    path = Path(out) / "studies" / plan.study.name / "plan.json"
    write_json_atomic(path, plan.definition)
    return path


def replan(definition: dict) -> StudyPlan:
    """The plan of a saved ad-hoc study definition (:func:`save_definition`).

    Raises:
        DisbenchError: the presets or study it names no longer plan (see :func:`plan_study`).
    """
    sweep = [(k, tuple(v)) for k, v in definition.get("sweep", [])]
    args = (definition["datasets"], definition["seeds"], definition["profile"], definition.get("metrics"))
    if definition.get("study"):
        return plan_study(definition["study"], definition["models"], *args,
                          overrides=definition.get("set"), sweep=sweep)  # fmt: skip
    return plan_sweep(definition["models"], *args, overrides=definition.get("set"), sweep=sweep)


def saved_plans(root: str | Path) -> list[StudyPlan]:
    """The ad-hoc studies saved under ``root/studies/*/plan.json`` that still plan."""
    from disbench.errors import DisbenchError
    from disbench.io import read_json

    plans = []
    for path in sorted(Path(root).glob("studies/*/plan.json")):
        try:
            plans.append(replan(read_json(path)))
        except (DisbenchError, KeyError, TypeError):
            continue  # a preset or study that no longer plans
    return plans


def _default_metrics() -> list[str]:
    from disbench.metrics.evaluate import default_metrics

    return list(default_metrics())


def _grid_row(spec: dict, preset, point: dict, varying: list[str]) -> list:
    """A grid row: the swept key and value (a number for one numeric key, else their label)."""
    short = {k.removeprefix(MODEL_PREFIX): point[k] for k in varying}
    if len(short) == 1:
        ((key, value),) = short.items()
        value = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else str(value)
    else:
        key, value = ",".join(short), variant_label(short)
    return [spec["run_id"], spec["name"], preset.display_name, preset.supervision, preset.representation,
            key, value, spec["dataset"], int(spec["seed"]), spec.get("model_num")]  # fmt: skip


def adhoc_name(prefix: str, overrides: dict | None, sweep: list | None) -> str:
    """``<prefix>+<8 hex>``: the name of a study changed by ``--set``/``--sweep`` (hash of both)."""
    text = json.dumps([overrides or {}, [[k, list(v)] for k, v in sweep or []]], sort_keys=True)
    return f"{prefix}+{hashlib.sha256(text.encode()).hexdigest()[:8]}"
