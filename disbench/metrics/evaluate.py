"""Run several metrics on one representation: :func:`evaluate`, :func:`evaluate_run`.

The metric registry :data:`SPECS` maps each name to its :class:`~disbench.metrics.spec.MetricSpec`,
read from the modules in :data:`METRIC_MODULES`; :data:`METRICS` are those scoring latent
codes, :data:`SAMPLE_METRICS` those scoring generated images. The presets :data:`PRESETS`
are built from the metrics' own declarations (:func:`disbench.metrics.spec.metric`):
``"default"`` is disentanglement_lib's ``unsupervised_study_v1`` (comparable with the
literature); ``"quick"`` uses smaller sample sizes for CPU runs (noisier, not comparable at
the decimal — every output made with it says ``"metric_preset": "quick"``).

Adding a metric takes one module ``disbench/metrics/<name>.py`` whose sampling function
carries ``@metric("<name>", quick={...})`` (its keyword defaults are the default preset),
and its module name in :data:`METRIC_MODULES`.
"""

from __future__ import annotations

import functools
import importlib
import time
from pathlib import Path

import numpy as np
import sklearn

from disbench.allocator import tune_allocator
from disbench.data.provenance import provenance
from disbench.errors import InvalidInputError, unknown_name
from disbench.io import write_json_atomic
from disbench.metrics.codes import CodeCache
from disbench.metrics.noise import metric_noise
from disbench.metrics.spec import MetricSpec
from disbench.metrics.utils import logistic_regression

# modules under disbench.metrics declaring metrics with @metric, in the order of the table
METRIC_MODULES = ("beta_vae", "factor_vae", "mig", "dci", "sap", "modularity", "irs", "unsupervised", "dci_es",
                  "infomec", "downstream", "reduced_downstream", "strong_downstream", "fairness", "unified",
                  "udr", "generated")


def _specs() -> dict[str, MetricSpec]:
    out = {}
    for module_name in METRIC_MODULES:
        module = importlib.import_module(f"disbench.metrics.{module_name}")
        for value in vars(module).values():
            spec = getattr(value, "metric_spec", None)
            if isinstance(spec, MetricSpec) and spec.function is value:
                if spec.name in out:
                    raise TypeError(f"metric {spec.name!r} declared twice ({module_name} and an earlier module)")
                out[spec.name] = spec
    return out


# name -> spec, in METRIC_MODULES order (and definition order within a module)
SPECS: dict[str, MetricSpec] = _specs()
# disentanglement metrics: name -> sampling function (dataset, encode, *, random_state, **settings)
METRICS = {name: s.function for name, s in SPECS.items() if s.inputs == "codes"}
# metrics of generated samples (disbench.metrics.generated); "kid" comes with "fid"
SAMPLE_METRICS = tuple(name for name, s in SPECS.items() if s.inputs == "samples")
# metrics of a group of trained runs (UDR): scored by the runner once the group is complete
GROUP_METRICS = tuple(name for name, s in SPECS.items() if s.inputs == "runs")
ALL_METRICS = (*METRICS, *SAMPLE_METRICS, *GROUP_METRICS)
# preset -> metric -> settings
PRESETS: dict[str, dict[str, dict]] = {
    preset: {name: dict(s.presets[preset]) for name, s in SPECS.items()} for preset in ("default", "quick")
}


def default_metrics(sample=None) -> list[str]:
    """The default metric set: the disentanglement metrics declared ``by_default`` (the six of
    disentanglement_lib's study), plus ``"fid"`` when ``sample`` is given."""
    return [name for name in METRICS if SPECS[name].by_default] + (["fid"] if sample is not None else [])


def resolve_settings(metrics, preset: str = "default", settings: dict | None = None) -> dict[str, dict]:
    """Settings per metric: the preset's, updated by ``settings[metric]``.

    Raises:
        UnknownNameError: an unknown metric or preset name.
        InvalidInputError: ``settings`` names a metric not requested or an unknown option.
    """
    if preset not in PRESETS:
        raise unknown_name("metric preset", preset, PRESETS)
    out = {}
    for name in metrics:
        if name not in ALL_METRICS:
            raise unknown_name("metric", name, ALL_METRICS)
        out[name] = dict(PRESETS[preset].get(name, {}))
    for name, extra in (settings or {}).items():
        if name not in out:
            raise InvalidInputError(f"settings given for metric {name!r}, which is not among {list(out)}")
        bad = set(extra) - set(out[name])
        if bad and not SPECS[name].open_settings:
            raise InvalidInputError(f"unknown setting(s) {sorted(bad)} for metric {name!r}; valid: {sorted(out[name])}")
        out[name].update(extra)
    return out


def evaluate(dataset, encode, metrics=None, *, sample=None, preset: str = "default", random_state=0,
             device=None, settings: dict | None = None, batch_size: int | None = None,
             n_jobs: int | None = None, progress: bool = False, classifier: str | None = None,
             noise_seeds: int = 0) -> dict:
    """Score one representation with several metrics; one flat, JSON-serialisable dict.

    Every metric gets the same seed ``random_state`` (as disentanglement_lib evaluates each
    metric with ``random_seed = 0``), and all share one :class:`CodeCache`: on a
    deterministic dataset each distinct observation is encoded at most once per call.

    Args:
        dataset: a :class:`disbench.data.GroundTruthDataset`, or any object with
            disentanglement_lib's ``GroundTruthData`` interface (then without the code cache:
            ``"codes.cache"`` says so).
        encode: observations -> codes: a torch module with ``encode`` (run on its device,
            batched, under ``no_grad``), its bound ``encode``, a numpy callable, or an object
            with ``encode_factors`` (see :mod:`disbench.metrics.codes`).
        metrics: names from :data:`ALL_METRICS`; None = :func:`default_metrics`.
        sample: ``sample(n) -> float32 (n, C, H, W)`` generated images, for FID/KID.
        preset: ``"default"`` or ``"quick"`` (:data:`PRESETS`).
        random_state: int seed (a Generator is reduced to one seed drawn from it).
        device: torch device for a module encoder (default: the module's).
        settings: per-metric overrides ``{metric: {option: value}}``; the preset label
            then gets ``"+custom"``.
        batch_size: observations encoded per batch (None: 64 on the CPU, 1024 on an
            accelerator; see :func:`disbench.metrics.codes.default_batch_size`).
        n_jobs: parallel workers: threads per DCI classifier, processes for the per-factor
            fits of SAP and explicitness.
        progress: print progress (tqdm) while encoding.
        classifier: ``"current"`` or ``"study"``: the logistic regression of every metric
            that has one (β-VAE metric, explicitness; :data:`disbench.metrics.utils.CLASSIFIERS`);
            None keeps the preset's (``"current"``). Each such metric names it in
            ``"<metric>.classifier"``.
        noise_seeds: score each disentanglement metric again at this many further metric
            seeds on the same codes (:func:`disbench.metrics.noise.metric_noise`); 0: don't.

    Returns:
        ``{"<metric>": headline score, "<metric>.<output>": other outputs,
        "<metric>.seconds": wall time, "metric_preset": str, "metric_settings": {...},
        "codes.num_requested": int, "codes.num_encoded": int, "codes.cached": bool,
        "codes.cache": "on" or "off: <why>", "dataset.name", "dataset.source" ("procedural",
        "file" with "dataset.file", "dataset.sha256", "dataset.sha256_matches_manifest", or
        "object"), "env.scikit_learn": version}``, and with ``noise_seeds``
        ``"<metric>.noise_std"``, ``.noise_scores``, ``.noise_seeds``, ``.noise_seconds`` per metric of codes.

    Raises:
        UnknownNameError: unknown metric, preset or classifier.
        InvalidInputError: FID asked for without ``sample``; a metric of a group of runs
            (UDR); bad encoder output (wrong shape, NaN/inf); too few points; a dataset
            lacking what a metric needs.
    """
    tune_allocator()
    metrics = default_metrics(sample) if metrics is None else list(dict.fromkeys(metrics))
    if not metrics:
        raise InvalidInputError("no metrics requested")
    group = [m for m in metrics if m in GROUP_METRICS]
    if group:
        raise InvalidInputError(
            f"{', '.join(group)} ranks several trained runs of one method, not one representation: run "
            "`disbench run --seeds 0 1 2 ... --metrics ... udr` (scored once the runs are done), or call "
            "disbench.metrics.udr.udr_of_runs / disbench.metrics.udr.udr"
        )
    if classifier is not None:
        logistic_regression(classifier, 0)  # validates the name
        settings = {**(settings or {})}
        for name in metrics:
            if "classifier" in SPECS[name].presets["default"]:
                settings[name] = {**settings.get(name, {}), "classifier": classifier}
    resolved = resolve_settings(metrics, preset, settings)
    seed = _as_seed(random_state)
    cache = CodeCache(dataset, encode, device=device, batch_size=batch_size, progress=progress)
    out: dict = {"metric_preset": preset + ("+custom" if settings else ""), "metric_settings": resolved}
    for name in metrics:
        start = time.perf_counter()
        spec = SPECS[name]
        if spec.inputs == "samples":
            if name == "kid" and "fid" in metrics:
                continue  # reported with fid
            if sample is None:
                raise InvalidInputError(f"metric {name!r} scores generated samples: pass sample=callable(n) -> images")
        runtime = {k: v for k, v in (("n_jobs", n_jobs), ("device", device)) if k in spec.runtime}
        data = cache if spec.inputs == "codes" else sample
        result = spec.function(dataset, data, random_state=seed, **resolved[name], **runtime)
        _flatten(name, result, out)
        out[f"{name}.seconds"] = round(time.perf_counter() - start, 3)
        if noise_seeds and name in METRICS:  # the metric's own sampling noise on the same codes
            score_at = functools.partial(_score, spec.function, dataset, cache, {**resolved[name], **runtime})
            out.update(metric_noise(name, score_at, result["score"], seed, noise_seeds))
    out.update({"codes.num_requested": cache.num_requested, "codes.num_encoded": cache.num_encoded,
                "codes.cached": cache.cached, "codes.cache": cache.cache_status, **provenance(dataset),
                "env.scikit_learn": sklearn.__version__})
    return out


def _score(function, dataset, cache, settings, seed) -> float:
    return function(dataset, cache, random_state=seed, **settings)["score"]


def _flatten(name: str, result: dict, out: dict) -> None:
    for key, value in result.items():
        out[name if key == "score" else f"{name}.{key}"] = _jsonable(value)
    if name == "fid" and "kid_mean" in result:
        out["kid"] = _jsonable(result["kid_mean"])


def _jsonable(v):
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v


def _as_seed(random_state) -> int:
    from disbench.rng import as_generator

    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        as_generator(random_state)  # validates (non-negative)
        return int(random_state)
    return int(as_generator(random_state).integers(2**31 - 1))


def evaluate_run(run_dir, metrics=None, preset: str = "default", device="auto", *, random_state=0,
                 progress: bool = False, classifier: str | None = None, noise_seeds: int = 0) -> dict:
    """Evaluate a trained run directory and write ``RUN_DIR/metrics.json`` atomically.

    Loads the model with :func:`disbench.train.load_run` (last checkpoint, eval mode),
    scores ``model.encode`` with :func:`evaluate` and, for FID, ``model.sample`` with a
    seeded ``torch.Generator``.

    Args:
        run_dir: a run directory written by ``disbench train``.
        metrics: metric names (None: :func:`default_metrics` with FID).
        preset: ``"default"`` or ``"quick"``.
        device: passed to ``load_run`` (``"auto"``, ``"cpu"``, ``"cuda"``...).
        random_state: int seed for the metrics and the samples.
        classifier: see :func:`evaluate`.
        noise_seeds: see :func:`evaluate`.

    Returns:
        The :func:`evaluate` dict, plus ``"run_dir"``; the same is in ``metrics.json``.

    Raises:
        MissingFileError: no such run directory (or no checkpoint, from ``load_run``).
    """
    import torch

    from disbench.errors import MissingFileError
    from disbench.train import load_run

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise MissingFileError(f"run directory {run_dir} does not exist; train one with `disbench train`")
    model, dataset, _config = load_run(run_dir, device=device)
    seed = _as_seed(random_state)
    generator = torch.Generator(next(model.parameters()).device).manual_seed(seed)

    def sample(n: int):  # successive calls continue one seeded stream
        return model.sample(n, generator=generator)

    result = evaluate(dataset, model, metrics, sample=sample, preset=preset, random_state=seed,
                      progress=progress, classifier=classifier, noise_seeds=noise_seeds)
    result["run_dir"] = str(run_dir)
    write_json_atomic(run_dir / "metrics.json", result)
    return result
