"""The main job: plan runs, execute them through an executor, index them, export the leaderboard.

A *run* is one (preset, dataset, profile, seed) for a trained baseline, or one
(representation, dataset, seed) for a *sanity row* (ground-truth factors, PCA, ICA, raw
pixels: the codes of :mod:`disbench.representations`, scored by the same metrics, no
training). Its id is readable and deterministic: ``<name>-<dataset>-<profile>-s<seed>-<hash>``
where ``hash`` is the first 10 hex digits of the SHA-256 of the resolved config (the
preset's profile table with defaults filled in, the model class, the dataset and seed), so
a change of hyperparameters gives a new run and an unchanged one finds its old run.

:func:`run_benchmark` skips runs whose directory is complete (trained and scored with
the requested metrics at the requested metric preset), resumes interrupted ones (the
training core restarts from ``checkpoints/last.pt``), retries failed ones, and records
any error of one run in its ``status.json`` while the others go on.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path

from disbench import __version__
from disbench.errors import InvalidInputError, UnknownNameError, unknown_name
from disbench.io import read_json, write_json_atomic
from disbench.results import ResultsStore, RunRecord, logged_step, row_name, variant_label

# the metric preset used with a training profile: "quick" with the quick profile, the
# reference defaults ("default") with every other one (the leaderboard caption says which)
QUICK_PROFILE = "quick"
SANITY_ROWS = {
    "ground_truth": ("Ground-truth factors", "the true factor values"),
    "pca": ("PCA", "PCA of the pixels (10-d)"),
    "ica": ("ICA", "FastICA of the pixels (10-d)"),
    "raw_pixels": ("Raw pixels", "the flattened pixels"),
}
SANITY_PROFILE = "-"  # sanity rows are not trained; they sit beside every profile
# trained runs: each disentanglement metric is scored again at this many further metric seeds on
# the same model, the leaderboard's noise floor (disbench.metrics.noise; about +2x metric time)
NOISE_SEEDS = 2
# rough cost of evaluating one trained run, in training-step equivalents (for the ETA only)
EVAL_COST_STEPS = 300
SANITY_COST_STEPS = 100


@dataclass
class JobResult:
    """What :func:`run_benchmark` did: the records of every planned run (in plan order),
    the ids skipped as already complete, and the files it exported."""

    records: list[RunRecord]
    skipped: list[str]
    exports: dict[str, Path] = field(default_factory=dict)

    @property
    def failed(self) -> list[RunRecord]:
        return [r for r in self.records if r.state != "completed"]


# --- planning ------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunSpec:
    """What one run is: made by :func:`plan_runs`, handed on as :meth:`to_dict` (the dict the
    executors pass to the workers and the store writes as ``run.json``).

    Attributes:
        kind: ``"train"`` (a baseline, or an outside encoder: see ``encoder``) or ``"sanity"``
            (a representation of :mod:`disbench.representations`, not trained).
        name: the preset name (train) or the representation name (sanity).
        model: the model registry name (train) or None.
        dataset: the dataset registry name.
        profile: the training profile (train) or :data:`SANITY_PROFILE`.
        seed: the training and metric seed.
        metrics: metric names to score, or None for the default set.
        metric_preset: ``"quick"`` or ``"default"`` (:data:`disbench.metrics.PRESETS`).
        display_name, supervision, representation: the leaderboard's row labels.
        config: the resolved preset profile (train) or ``{"metric_preset": ...}`` (sanity);
            hashed into the run id.
        variant: the ``model`` keys this run sets away from its preset profile (a study's
            grid point, ``--set model.beta=8``, :func:`train_spec`); {} for the profile as it is.
            Part of the config, named in the run id and the leaderboard row, passed to training
            as overrides.
        settings: likewise the profile keys (``steps``, ``batch_size`` ...) it changes
            (``--set steps=2000``); {} for the profile as it is.
        preset: the preset file, when it lies outside ``baselines/`` (a path the workers
            load); None for the built-in presets.
        encoder: for a row scored without training (supervision "external"): the outside
            encoder (``package.module:function`` or a TorchScript file); None otherwise.
        generator: with ``encoder``: the outside generator (``package.module:function``) its
            FID is computed from, or None (no sample metrics for the row).
        disbench_version: the version that planned the run.
    """

    kind: str
    name: str
    model: str | None
    dataset: str
    profile: str
    seed: int
    metrics: list[str] | None
    metric_preset: str
    display_name: str
    supervision: str
    representation: str
    config: dict
    variant: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    preset: str | None = None
    encoder: str | None = None
    generator: str | None = None
    disbench_version: str = __version__

    def to_dict(self) -> dict:
        """The fields as a dict, plus ``"run_id"`` (:func:`run_id`)."""
        spec = {f.name: getattr(self, f.name) for f in fields(self)}
        spec["seed"] = int(spec["seed"])
        spec["run_id"] = run_id(spec)
        return spec


def run_id(spec: dict) -> str:
    """Deterministic id of a run spec: ``<row>-<dataset>-<profile>-s<seed>-<10 hex of sha256(config)>``.

    ``row`` is the preset name, followed by its ``variant`` and ``settings`` when the run
    changes the preset's profile (``beta_vae+beta=1``, ``beta_vae+beta=8,steps=2000``,
    :func:`disbench.results.row_name`); the hash covers the resolved config, so the label only
    makes the id readable.
    """
    identity = {k: spec[k] for k in ("kind", "name", "model", "dataset", "profile", "seed", "config")}
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:10]
    profile = spec["profile"] if spec["kind"] == "train" else "sanity"
    return f"{row_name(spec)}-{spec['dataset']}-{profile}-s{spec['seed']}-{digest}"


def valid_metrics() -> tuple[str, ...]:
    """Metric registry names ``--metrics`` accepts (:data:`disbench.metrics.ALL_METRICS`)."""
    from disbench.metrics.evaluate import ALL_METRICS

    return tuple(ALL_METRICS)


def plan_runs(
    models: Sequence[str] | str = "all",
    datasets: Sequence[str] = ("dsprites",),
    seeds: Sequence[int] = (0,),
    profile: str = "quick",
    metrics: Sequence[str] | None = None,
    *,
    sanity: bool = True,
    encoders: dict[str, str] | None = None,
    generators: dict[str, str] | None = None,
    overrides: dict | None = None,
    sweep: list[tuple[str, tuple]] | None = None,
    data_source: str | None = None,
) -> list[dict]:
    """The run specs of a job, trained runs first (then the outside encoders), then the sanity rows.

    Args:
        models: preset names, paths to preset files (``./my_method.toml``) or presets of
            installed packages (the ``disbench.models`` entry points), or ``"all"`` (every
            preset under ``baselines/`` that defines ``profile`` and does not say ``in_all =
            false``: with ``"paper"`` the six baselines and the VAE row; with ``"quick"`` also
            the study's VAE family, which defines ``quick`` and ``study`` only; never the
            weakly- and semi-supervised rows, which are named to be trained).
        datasets: dataset registry names.
        seeds: training (and metric) seeds.
        profile: a profile every named preset defines: ``"quick"`` (CPU; metrics at
            their ``quick`` preset), ``"paper"`` (the paper's settings; metrics at their
            reference defaults) or another one a preset adds (reference defaults).
        metrics: metric registry names, or None for the default set (all
            disentanglement metrics + ``fid``).
        sanity: add the sanity rows (one per representation, dataset and seed).
        encoders: row name -> outside encoder (``package.module:function`` or a TorchScript
            ``.pt`` file, see :func:`disbench.plugins.load_encoder`): rows scored without
            training (supervision "external"), ranked beside the trained models. Each is
            loaded and probed here, so a broken one fails before any run is written.
        generators: row name (one of ``encoders``) -> outside generator
            (``package.module:function``, see :func:`disbench.plugins.load_generator`) for the
            row's sample metrics (FID); probed here as well.
        overrides: ``--set`` (flat: ``{"model.beta": 8, "steps": 2000}``, :mod:`disbench.overrides`),
            applied to every trained preset (:func:`grid_spec`).
        sweep: ``--sweep`` (:func:`disbench.overrides.parse_sweep`): each trained preset runs at
            every point of its Cartesian product (the ad-hoc study of
            :func:`disbench.study.grid.plan_sweep`).
        data_source: where the trained runs' observations come from when the profile does
            not say (``"auto"``: the published file when present, else procedural with a
            warning; see :func:`train_spec`); None: the profile's or the dataset's default.

    Returns:
        A list of JSON-serialisable spec dicts (:meth:`RunSpec.to_dict`; each run's ``run.json``).

    Raises:
        UnknownNameError: unknown model, dataset, metric or profile (lists the valid ones).
        UnknownConfigKeyError: an ``overrides``/``sweep`` key the profile or a model config lacks.
        InvalidInputError: no models, datasets or seeds, or a negative seed; a bad override value.
        PluginError: outside code (a preset's model class, an encoder) that cannot be used.
    """
    from disbench import data
    from disbench.metrics.evaluate import GROUP_METRICS, SAMPLE_METRICS  # not for sanity rows
    from disbench.overrides import sweep_points
    from disbench.presets import list_presets, load_preset

    everything = models == "all" or list(models) == ["all"]
    names = list_presets() if everything else list(dict.fromkeys(models))
    encoders = dict(encoders or {})
    if not (names or encoders) or not datasets or not seeds:
        raise InvalidInputError("a job needs at least one model, one dataset and one seed")
    for d in datasets:
        if d not in data.DATASETS:
            raise unknown_name("dataset", d, data.DATASETS)
    metrics = None if metrics is None else list(dict.fromkeys(metrics))
    for m in metrics or ():
        if m not in valid_metrics():
            raise unknown_name("metric", m, [*valid_metrics(), "default"])
    if any(int(s) < 0 for s in seeds):
        raise InvalidInputError(f"seeds must be non-negative integers, got {list(seeds)}")

    presets, sources = {}, {}
    for m in names:
        try:
            preset = load_preset(m)
        except UnknownNameError:
            raise unknown_name("model", m, [*list_presets(), "all"]) from None
        if preset.name in presets and sources[preset.name] != m:
            raise InvalidInputError(f"two presets named {preset.name!r} ({sources[preset.name]}, {m}); rename one")
        presets[preset.name], sources[preset.name] = preset, m
    if everything:  # "all" = every preset that defines the profile (the study's VAEs have no paper profile)
        presets = {name: p for name, p in presets.items() if p.in_all}  # not the weakly-/semi-supervised rows
        defined = set().union(*(p.profiles for p in presets.values()))
        presets = {name: p for name, p in presets.items() if profile in p.profiles}
        if not presets:
            raise unknown_name("profile", profile, defined)
    elif presets:
        shared = set.intersection(*(set(p.profiles) for p in presets.values()))
        if profile not in shared:
            lacking = sorted(name for name, p in presets.items() if profile not in p.profiles)
            err = unknown_name("profile", profile, shared)
            raise UnknownNameError(f"{err} (not defined by {', '.join(lacking)})")
    generators = dict(generators or {})
    external = _check_encoders(encoders, generators, datasets, set(presets))
    metric_preset = metric_preset_for(profile)
    code_metrics = None if metrics is None else [m for m in metrics if m not in (*SAMPLE_METRICS, *GROUP_METRICS)] or None
    specs = []
    for d in datasets:
        for seed in seeds:
            for preset in presets.values():
                for point in sweep_points(sweep or []):
                    specs.append(grid_spec(preset, d, profile, seed, metrics, {**(overrides or {}), **point},
                                              data_source=data_source))
            for name, (ref, num_codes) in external.items():
                gen = generators.get(name)
                specs.append(RunSpec(
                    kind="train", name=name, model=None, dataset=d, profile=profile, seed=seed,
                    metrics=([m for m in metrics if m not in GROUP_METRICS] if gen and metrics else
                             None if gen else code_metrics), metric_preset=metric_preset, display_name=name,
                    supervision="external", representation=f"outside encoder {ref} ({num_codes}-d)",
                    config={"encoder": ref, **({"generator": gen} if gen else {})}, encoder=ref, generator=gen,
                ).to_dict())  # fmt: skip
    sanity_metrics = None if metrics is None else [m for m in metrics if m not in (*SAMPLE_METRICS, *GROUP_METRICS)]
    if sanity and sanity_metrics != []:
        for d in datasets:
            for seed in seeds:
                for name, (display, representation) in SANITY_ROWS.items():
                    specs.append(RunSpec(
                        kind="sanity", name=name, model=None, dataset=d, profile=SANITY_PROFILE, seed=seed,
                        metrics=sanity_metrics, metric_preset=metric_preset, display_name=display,
                        supervision="none", representation=representation,
                        config={"metric_preset": metric_preset},
                    ).to_dict())  # fmt: skip
    return specs


def _check_encoders(encoders: dict[str, str], generators: dict[str, str], datasets,
                    taken: set[str]) -> dict[str, tuple[str, int]]:  # fmt: skip
    """Load and probe every outside encoder (and generator) on every dataset: name ->
    (reference, num_codes).

    Raises:
        InvalidInputError: a row name that is not an identifier or clashes with a preset; a
            generator for a row that has no encoder.
        PluginError: an encoder or generator that does not load or returns bad output.
    """
    from disbench import data, plugins

    for name, ref in generators.items():
        if name not in encoders:
            raise InvalidInputError(f"generator {name}={ref} has no encoder row {name!r}; add --encoders {name}=...")
        for d in datasets:
            plugins.load_generator(ref, data.load(d).observation_shape)
    out = {}
    for name, ref in encoders.items():
        if not name.replace("-", "_").isidentifier() or name in taken or name in SANITY_ROWS:
            raise InvalidInputError(f"encoder row name {name!r} must be a new identifier (not a preset or sanity row)")
        for d in datasets:
            encode = plugins.load_encoder(ref, data.load(d).observation_shape)
        out[name] = (ref, encode.num_codes)
    return out


def metric_preset_for(profile: str) -> str:
    """The metric preset used with a training profile: ``"quick"`` with ``quick``, else ``"default"``."""
    return "quick" if profile == QUICK_PROFILE else "default"


def train_spec(preset, dataset: str, profile: str, seed: int, metrics: Sequence[str] | None = None, *,
               model: dict | None = None, settings: dict | None = None,
               data_source: str | None = None) -> dict:  # fmt: skip
    """The spec of one trained run: ``preset``'s ``profile``, with ``model`` replacing keys of
    the profile's ``model`` table (how a study sweeps a hyper-parameter, and ``--set model.K=V``)
    and ``settings`` replacing profile keys (``--set steps=2000``), checked and converted by
    :meth:`disbench.presets.Preset.resolve_profile`.

    The keys whose value differs from the profile's own form the run's ``variant`` (model keys)
    and ``settings`` (profile keys): they change the config (so the run id), name the run
    (``beta_vae+beta=1-...``, display name ``β-VAE (beta=1)``) and are passed to the training
    as ``overrides``. Without them the spec is exactly the one ``disbench run`` plans.

    A profile's ``data_source`` (or, when it names none, the ``data_source`` argument: reproduce
    passes ``"auto"``) is resolved here (:func:`disbench.data.resolve_source`: ``"auto"`` becomes
    the published file when present, else procedural with one warning), so the spec's config,
    its run id and the training all name the data actually used.

    Args:
        preset: a :class:`disbench.presets.Preset`.
        dataset, profile, seed, metrics: as in :func:`plan_runs` (not checked here).
        model: hyper-parameters to set, or None.
        settings: profile keys to set (:data:`disbench.overrides.PROFILE_KEYS`), or None.
        data_source: the source to use when the profile names none (None: the dataset's default).

    Raises:
        UnknownNameError: the preset has no such profile.
        UnknownConfigKeyError, InvalidInputError: a key or value the profile or model config refuses.
    """
    from disbench import presets
    from disbench.data import resolve_source

    config = preset.profile(profile)
    variant, settings = preset.changes(profile, {**(settings or {}), "model": model or {}})
    if data_source is not None and "data_source" not in config:  # the caller's default (reproduce: "auto")
        config["data_source"] = data_source
    if "data_source" in config:  # "auto" -> what this machine has, so the id says which data trained it
        config["data_source"] = resolve_source(dataset, config["data_source"])
    config["model"].update(variant)
    config.update(settings)
    label = variant_label({**variant, **settings})
    display = preset.display_name + (f" ({label})" if label else "")
    return RunSpec(
        kind="train", name=preset.name, model=preset.model, dataset=dataset, profile=profile, seed=seed,
        metrics=metrics, metric_preset=metric_preset_for(profile), display_name=display,
        supervision=preset.supervision, representation=preset.representation, config=config, variant=variant,
        settings=settings,
        preset=None if preset.path is None or preset.path.parent == presets.presets_dir() else str(preset.path.resolve()),
    ).to_dict()  # fmt: skip


def grid_spec(preset, dataset: str, profile: str, seed: int, metrics, flat: dict, *,
              data_source: str | None = None) -> dict:  # fmt: skip
    """The run spec of one grid point: :func:`disbench.runner.train_spec` with the flat settings
    ``flat`` (``{"model.beta": 8, "steps": 2000}``; :mod:`disbench.overrides`); the one path of
    a study's grid, ``--sweep`` and ``--set``. ``data_source``: as :func:`train_spec`'s."""
    from disbench.overrides import nested

    changes = nested(flat)
    return train_spec(preset, dataset, profile, seed, metrics, model=changes.pop("model"), settings=changes,
                      data_source=data_source)


def spec_steps(spec: dict) -> int:
    """Training steps of a spec (0 for sanity rows)."""
    return int(spec["config"].get("steps", 0)) if spec["kind"] == "train" else 0


def is_complete(record: RunRecord, spec: dict) -> bool:
    """True when ``record`` holds a finished run with every metric ``spec`` asks for at its
    metric preset (metrics of a group of runs, UDR, are scored after the runs: not counted)."""
    from disbench.metrics.evaluate import GROUP_METRICS

    if record.state != "completed" or record.metrics is None:
        return False
    if record.metrics.get("metric_preset", "default") != spec["metric_preset"]:
        return False
    return all(m in record.metrics for m in spec["metrics"] or () if m not in GROUP_METRICS)


# --- executing one run (runs in the worker) -------------------------------------------------
def execute_run(spec: dict, root: str | Path, *, device: str = "auto", threads: int | None = None,
                track: Sequence[str] = ()) -> RunRecord:  # fmt: skip
    """Train (or resume) and score one run into ``root/runs/<run_id>``; index it. ``track``:
    experiment trackers (:mod:`disbench.tracking`) that follow a trained run's training and scores.

    Never raises for a failure of the run itself: the error is written to the run's
    ``status.json`` (state "failed") and returned in the record, so other runs go on.
    """
    if threads:  # torch (training, encoding) and numba (DCI's trees) share the worker's cores
        import numba
        import torch

        torch.set_num_threads(threads)
        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    store = ResultsStore(root)
    run_dir = store.write_spec(spec)
    try:
        if spec.get("encoder"):
            _score_external(spec, run_dir, device)
        elif spec["kind"] == "train":
            _train_and_score(spec, run_dir, device, track)
        else:
            _score_sanity(spec, run_dir, device)
    except Exception as e:  # failure isolation: one run's error never stops the job
        mark_failed(run_dir, f"{type(e).__name__}: {e}", traceback.format_exc())
    return store.sync(spec["run_id"])


def _train_and_score(spec: dict, run_dir: Path, device: str, track: Sequence[str] = ()) -> None:
    from disbench import tracking

    trackers = tracking.open_trackers(track, run_dir, spec["run_id"], root=Path(run_dir).parent.parent)
    try:
        scores = _train_and_score_tracked(spec, run_dir, device, trackers)
        for tracker in trackers:
            tracker.log_scores(scores)
    finally:
        for tracker in trackers:
            tracker.close()


def _train_and_score_tracked(spec: dict, run_dir: Path, device: str, trackers: list) -> dict:
    from disbench.metrics import evaluate_run
    from disbench.metrics.evaluate import GROUP_METRICS
    from disbench.train import train_run

    train_run(
        spec.get("preset") or spec["name"], dataset=spec["dataset"], profile=spec["profile"], seed=spec["seed"],
        out_dir=run_dir, device=device, progress=False,
        overrides=_overrides(spec), **({"callbacks": trackers} if trackers else {}),
    )  # fmt: skip
    metrics = spec["metrics"]
    if metrics is not None:
        metrics = [m for m in metrics if m not in GROUP_METRICS]  # scored over the group, after the runs
        if not metrics:
            write_json_atomic(run_dir / "metrics.json", {"metric_preset": spec["metric_preset"]})
            return {}
    return evaluate_run(run_dir, metrics=metrics, preset=spec["metric_preset"], device=device,
                        random_state=spec["seed"], noise_seeds=NOISE_SEEDS) or {}  # fmt: skip


def _overrides(spec: dict) -> dict:
    """What a train spec changes in its preset's profile: its settings, variant and resolved data source."""
    out = {**spec.get("settings", {}), "model": spec["variant"]}
    if "data_source" in spec["config"]:
        out["data_source"] = spec["config"]["data_source"]
    return out


def _score_sanity(spec: dict, run_dir: Path, device: str) -> None:
    from disbench import data, representations
    from disbench.metrics import evaluate

    write_json_atomic(run_dir / "status.json", {"state": "running", "step": 0, "error": None})
    dataset = data.load(spec["dataset"])
    if hasattr(dataset, "prepare"):
        dataset.prepare(progress=False)
    encode = representations.make(spec["name"], dataset, random_state=spec["seed"])
    metrics = spec["metrics"] or representations.default_metrics(spec["name"])
    scores = evaluate(dataset, encode, metrics, preset=spec["metric_preset"], random_state=spec["seed"], device=device)
    write_json_atomic(run_dir / "metrics.json", scores)
    write_json_atomic(run_dir / "status.json", {"state": "completed", "step": 0, "error": None})


def _score_external(spec: dict, run_dir: Path, device: str) -> None:
    from disbench import data, plugins
    from disbench.metrics import evaluate

    write_json_atomic(run_dir / "status.json", {"state": "running", "step": 0, "error": None})
    dataset = data.load(spec["dataset"])
    if hasattr(dataset, "prepare"):
        dataset.prepare(progress=False)
    encode = plugins.load_encoder(spec["encoder"], dataset.observation_shape)
    sample = plugins.load_generator(spec["generator"], dataset.observation_shape) if spec.get("generator") else None
    scores = evaluate(dataset, encode, spec["metrics"], sample=sample, preset=spec["metric_preset"],
                      random_state=spec["seed"], device=device)
    write_json_atomic(run_dir / "metrics.json", scores)
    write_json_atomic(run_dir / "status.json", {"state": "completed", "step": 0, "error": None})


def mark_failed(run_dir: Path, error: str, details: str | None = None) -> None:
    """Set ``run_dir/status.json`` to failed with ``error`` (keeping its other fields)."""
    path = Path(run_dir) / "status.json"
    status = read_json(path, {"step": 0})
    status.update(state="failed", error=error)
    if details:
        status["traceback"] = details
    write_json_atomic(path, status)


def record_lost(spec: dict, message: str, root: str | Path) -> RunRecord:
    """Record a run whose worker died (after the executor's retries) as failed."""
    store = ResultsStore(root)
    run_dir = store.write_spec(spec)
    mark_failed(run_dir, message)
    return store.sync(spec["run_id"])


# --- progress across runs -------------------------------------------------------------------
class _Monitor:
    """A tqdm bar over all runs of a job, fed by polling each running run's ``status.json``.

    The unit is a training step; each run also counts a fixed evaluation cost so the
    ETA includes scoring. Works for every executor because it only reads run directories.
    """

    def __init__(self, specs: list[dict], store: ResultsStore, enabled: bool, interval: float = 1.0):
        from tqdm.auto import tqdm

        self.specs, self.store, self.interval = specs, store, interval
        self.cost = {s["run_id"]: spec_steps(s) + (EVAL_COST_STEPS if s["kind"] == "train" else SANITY_COST_STEPS)
                     for s in specs}  # fmt: skip
        self.done: set[str] = set()
        self.bar = tqdm(total=sum(self.cost.values()), unit="step", disable=not enabled, dynamic_ncols=True,
                        desc=f"0/{len(specs)} runs", mininterval=2.0)  # fmt: skip
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._refresh()
        self.bar.close()

    def finished(self, run_id: str) -> None:
        with self._lock:
            self.done.add(run_id)
        self._refresh()

    def _loop(self):
        while not self._stop.wait(self.interval):
            self._refresh()

    def _refresh(self):
        with self._lock:
            progress, active = 0, []
            for s in self.specs:
                rid = s["run_id"]
                if rid in self.done:
                    progress += self.cost[rid]
                    continue
                run_dir = self.store.run_dir(rid)
                status = read_json(run_dir / "status.json", {})
                if status.get("state") == "running":
                    step = min(max(int(status.get("step") or 0), logged_step(run_dir)), spec_steps(s))
                    progress += step
                    active.append(f"{s['name']} s{s['seed']} {step}/{spec_steps(s)}" if s["kind"] == "train"
                                  else f"{s['name']} s{s['seed']}")  # fmt: skip
            self.bar.set_description(f"{len(self.done)}/{len(self.specs)} runs", refresh=False)
            self.bar.set_postfix_str(", ".join(active[:3]), refresh=False)
            self.bar.update(max(0, progress - self.bar.n))  # redraws at most every mininterval


# --- the job --------------------------------------------------------------------------------
def run_benchmark(
    models: Sequence[str] | str = "all",
    datasets: Sequence[str] = ("dsprites",),
    seeds: Sequence[int] = (0,),
    profile: str = "quick",
    metrics: Sequence[str] | None = None,
    *,
    out: str | Path = "results",
    device: str = "auto",
    executor=None,
    sanity: bool = True,
    progress: bool = True,
    export: bool = True,
    echo: Callable[[str], None] = print,
    task: Callable | None = None,
    encoders: dict[str, str] | None = None,
    generators: dict[str, str] | None = None,
    overrides: dict | None = None,
    sweep: list[tuple[str, tuple]] | None = None,
    track: Sequence[str] = (),
    data_source: str | None = None,
    pack: int = 1,
) -> JobResult:
    """Run a whole job: plan, skip what is complete, execute the rest, export the leaderboard.

    ``disbench run --sweep`` goes through :func:`disbench.study.run_sweep`, which calls this
    with ``sweep`` and treats the trained runs as an ad-hoc study.

    Args:
        models, datasets, seeds, profile, metrics, sanity, encoders, generators, overrides,
            sweep, data_source: see :func:`plan_runs`.
        out: the results directory (see :mod:`disbench.results`).
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` ... (passed to training and metrics).
        executor: a :mod:`disbench.executors` executor; default in-process, one run at a time.
        progress: show the progress bar across runs (run, step, ETA).
        export: write the leaderboard (CSV, tidy CSV, LaTeX, Markdown, HTML) and the HTML
            report into ``out`` when the job ends, and print the leaderboard.
        echo: where messages go.
        task: the per-run function (``execute_run`` bound to ``out`` and ``device`` by
            default); tests substitute a fake.
        track: experiment trackers (``"tensorboard"``, ``"mlflow"``, ``"wandb"``; :mod:`disbench.tracking`).
        pack: train up to this many runs of one method side by side (:func:`train_packs`).

    Returns:
        a :class:`JobResult`.

    Raises:
        UnknownNameError, InvalidInputError, PluginError: see :func:`plan_runs` (raised before
            anything is written to ``out``).
        MissingExtraError: a tracker whose extra is not installed (before anything is written).
        ResultsStoreError: ``out`` holds a damaged index or one from another version.
    """
    specs = plan_runs(models, datasets, seeds, profile, metrics, sanity=sanity, encoders=encoders,
                      generators=generators, overrides=overrides, sweep=sweep,
                      data_source=data_source)
    result = execute(specs, out=out, device=device, executor=executor, progress=progress, echo=echo, task=task,
                     track=track, pack=pack)  # fmt: skip
    if export:
        result.exports = export_all(result.records, Path(out), echo=echo)
    return result


def execute(
    specs: list[dict],
    *,
    out: str | Path = "results",
    device: str = "auto",
    executor=None,
    progress: bool = True,
    echo: Callable[[str], None] = print,
    task: Callable | None = None,
    track: Sequence[str] = (),
    pack: int = 1,
) -> JobResult:
    """Execute planned run specs into the results directory ``out``: skip the complete ones,
    resume the interrupted, retry the failed, isolate failures, index every run.

    The one way work is done: ``disbench run`` (:func:`run_benchmark`) and ``disbench study``
    (:func:`disbench.study.run_study`) both come here. When the specs ask for a metric of a
    group of runs (UDR), it is scored once the runs are done (:func:`score_groups`).

    Args:
        specs: run specs (:func:`plan_runs`, :func:`train_spec`).
        out, device, executor, progress, echo, task, track, pack: see :func:`run_benchmark`.

    Returns:
        a :class:`JobResult` (records in the order of ``specs``).

    Raises:
        ResultsStoreError: ``out`` holds a damaged index or one from another version.
    """
    from disbench import tracking
    from disbench.executors import LocalExecutor

    track = tracking.check(track)
    store = ResultsStore(out)
    executor = executor or LocalExecutor()
    records: dict[str, RunRecord] = {}
    todo = []
    for spec in specs:
        store.write_spec(spec)
        record = store.sync(spec["run_id"])
        if is_complete(record, spec):
            records[spec["run_id"]] = record
        else:
            todo.append(spec)
    skipped = list(records)
    if skipped:
        echo(f"skipping {len(skipped)} completed run(s) in {out}")
    if todo:
        echo(f"running {len(todo)} run(s) with {executor.describe()}; results in {out}")
    if pack > 1 and todo:
        train_packs(todo, out, device=device, size=pack, progress=progress, echo=echo)
    task = task or functools.partial(execute_run, root=str(out), device=device, threads=executor.threads_per_run(),
                                     **({"track": track} if track else {}))  # fmt: skip
    lost = functools.partial(record_lost, root=str(out))
    start = time.time()
    with _Monitor(todo, store, enabled=progress and bool(todo)) as monitor:
        for record in executor.run(task, todo, lost):
            store.upsert(record)  # remote workers may not share our index
            records[record.run_id] = record
            monitor.finished(record.run_id)
            if record.state != "completed":
                echo(f"run {record.run_id} failed: {record.error}")
    ordered = [records[s["run_id"]] for s in specs]
    from disbench.metrics.evaluate import GROUP_METRICS

    if any(m in GROUP_METRICS for s in specs for m in s.get("metrics") or ()):
        ordered = score_groups(ordered, out, device=device, echo=echo)
    result = JobResult(ordered, skipped)
    if todo:
        echo(f"{len(todo) - len(result.failed)} of {len(todo)} run(s) finished in {time.time() - start:.0f} s")
    return result


def train_packs(specs: list[dict], out: str | Path, *, device: str = "auto", size: int = 2, progress: bool = True,
                echo: Callable[[str], None] = print) -> None:  # fmt: skip
    """Train the runs of ``specs`` that can share a pack (:func:`disbench.packing.pack_key`:
    one packable method, equal settings but for seed and the swept hyper-parameter), ``size``
    at a time in this process on ``device`` (:func:`disbench.packing.train_pack`), into their
    run directories. Scoring then goes through the executor as usual, which finds these runs
    trained; runs that cannot pack (said once per preset), runs left alone in a group and the
    runs of a pack that failed are trained there alone (resumed from their checkpoints).
    Experiment trackers (``--track``) see a packed run's scores, not its training curve.
    """
    from disbench.packing import pack_key, train_pack
    from disbench.train import resolve_config

    store = ResultsStore(out)
    groups: dict[str, list[dict]] = {}
    alone: dict[str, str] = {}
    for spec in specs:
        if spec["kind"] != "train" or spec.get("encoder"):
            continue
        config = resolve_config(spec.get("preset") or spec["name"], dataset=spec["dataset"], profile=spec["profile"],
                                seed=spec["seed"], overrides=_overrides(spec))  # fmt: skip
        key = pack_key(config)
        if key is None:
            alone.setdefault(spec["name"], config["model"])
        else:
            groups.setdefault(key, []).append(spec)
    for name, model in alone.items():
        echo(f"--pack: {name} trains alone (model {model!r} does not declare the packing hooks)")
    for group in groups.values():
        for i in range(0, len(group), size):
            chunk = group[i : i + size]
            if len(chunk) < 2:
                continue
            runs = [{"preset": s.get("preset") or s["name"], "dataset": s["dataset"], "profile": s["profile"],
                     "seed": s["seed"], "out_dir": store.run_dir(s["run_id"]), "overrides": _overrides(s)}
                    for s in chunk]  # fmt: skip
            try:
                outcome = train_pack(runs, device=device, progress=progress)
            except Exception as e:  # the runs are marked failed (resumable); the executor retries them alone
                echo(f"--pack: a pack of {len(chunk)} {chunk[0]['name']} runs failed ({type(e).__name__}: {e}); "
                     "its runs train alone")
                continue
            for spec, err in zip(chunk, outcome):
                if err is not None:
                    echo(f"run {spec['run_id']} failed in its pack: {err}")


def score_groups(records: list[RunRecord], out: str | Path, *, device: str = "auto",
                 echo: Callable[[str], None] = print) -> list[RunRecord]:
    """Score UDR over each group of completed training runs of one preset and hyper-parameter
    setting (its seeds, as Duan et al. 2020 compare models that differ only in their seed) on
    one dataset and profile, and write it into every run of the group
    (:func:`disbench.metrics.udr.udr_of_runs`, at the metric preset's UDR settings, seed 0).

    A group already scored over exactly these runs is skipped; a group of one run cannot be
    ranked and is said so. A study's runs group by their ``variant`` (the grid value), so a
    study can call this on its records as ``run_benchmark`` does.

    Returns:
        ``records`` re-read from the store.
    """
    from disbench.errors import DisbenchError
    from disbench.metrics.evaluate import PRESETS
    from disbench.metrics.udr import udr_of_runs

    store = ResultsStore(out)
    groups: dict[tuple, list[RunRecord]] = {}
    for r in records:
        if r.kind == "train" and r.state == "completed":
            variant = row_name({**r.spec, "name": r.name})  # a study's hyper-parameter value, --set
            groups.setdefault((r.name, variant, r.dataset, r.profile, r.metric_preset or "default"), []).append(r)
    for (name, _variant, dataset, profile, preset), group in sorted(groups.items()):
        ids = [r.run_id for r in sorted(group, key=lambda r: r.seed)]
        if len(ids) < 2:
            echo(f"UDR: {name} ({profile}) on {dataset} has one completed run; UDR ranks several (run 2+ seeds)")
            continue
        if all((r.metrics or {}).get("udr.group") == ids for r in group):
            continue
        try:
            scores = udr_of_runs(out, ids, device=device, **PRESETS[preset.split("+")[0]]["udr"])
        except DisbenchError as e:
            echo(f"UDR of {name} ({profile}) on {dataset} failed: {e}")
            continue
        echo(f"UDR of {name} ({profile}) on {dataset} over {len(ids)} runs: "
             + ", ".join(f"{s:.3f}" for s in scores.values()))
    return [store.get(r.run_id) or r for r in records]


def export_all(records: list[RunRecord], out: Path, echo: Callable[[str], None] = print) -> dict[str, Path]:
    """Print the leaderboard of ``records`` and write its exports and the HTML report into ``out``."""
    from disbench.leaderboard import EXPORT_FORMATS, build_leaderboard, export_leaderboard
    from disbench.report import write_report

    board = build_leaderboard(records)
    if board.empty:
        echo("no completed runs to put on a leaderboard")
        return {}
    echo(board.to_text())
    paths = {}
    for fmt, suffix in EXPORT_FORMATS.items():
        paths[fmt] = export_leaderboard(board, out / f"leaderboard{suffix}", fmt)
    paths["report"] = write_report(records, out / "report.html", board=board, run_root=out)
    echo("wrote " + ", ".join(str(p) for p in paths.values()))
    return paths
