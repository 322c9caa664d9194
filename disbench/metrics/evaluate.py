"""Run several metrics on one representation: :func:`evaluate`, :func:`evaluate_run`.

The metric registry :data:`METRICS` maps each name to its sampling function; the presets
:data:`PRESETS` give each metric's settings. ``"default"`` is disentanglement_lib's
``unsupervised_study_v1`` (comparable with the literature); ``"quick"`` uses smaller
sample sizes for CPU runs (noisier, not comparable at the decimal — every output made
with it says ``"metric_preset": "quick"``).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from disbench.allocator import tune_allocator
from disbench.errors import InvalidInputError, unknown_name
from disbench.io import write_json_atomic
from disbench.metrics.beta_vae import beta_vae_score
from disbench.metrics.codes import CodeCache
from disbench.metrics.dci import dci
from disbench.metrics.factor_vae import factor_vae_score
from disbench.metrics.mig import mig
from disbench.metrics.modularity import modularity_explicitness
from disbench.metrics.noise import metric_noise
from disbench.metrics.sap import sap_score

# disentanglement metrics: name -> sampling function (dataset, encode, *, random_state, **settings)
METRICS: dict[str, Callable[..., dict]] = {
    "beta_vae": beta_vae_score,
    "factor_vae": factor_vae_score,
    "mig": mig,
    "dci": dci,
    "sap": sap_score,
    "modularity": modularity_explicitness,
}
# metrics of generated samples (H4's disbench.metrics.fid); "kid" comes with "fid"
SAMPLE_METRICS = ("fid", "kid", "fid_inception")
ALL_METRICS = (*METRICS, *SAMPLE_METRICS)

PRESETS: dict[str, dict[str, dict]] = {
    # disentanglement_lib unsupervised_study_v1 metric configs
    "default": {
        "beta_vae": {"batch_size": 64, "num_train": 10_000, "num_eval": 5_000},
        "factor_vae": {"batch_size": 64, "num_train": 10_000, "num_eval": 5_000, "num_variance_estimate": 10_000,
                       "prune_threshold": 0.05},
        "mig": {"num_train": 10_000, "num_bins": 20},
        "dci": {"num_train": 10_000, "num_test": 5_000},
        "sap": {"num_train": 10_000, "num_test": 5_000},
        "modularity": {"num_train": 10_000, "num_test": 5_000, "num_bins": 20},
        "fid": {"num_real": 10_000, "num_fake": 10_000},
        "fid_inception": {"num_real": 10_000, "num_fake": 10_000},
    },
    # CPU preset (<= 30 s per model on 2 cores): the same estimators and batch sizes on
    # fewer points — 1/40 of the β-VAE/FactorVAE points (their ~2 million encodings dominate),
    # 1/4-1/5 for MIG, DCI, SAP and modularity
    "quick": {
        "beta_vae": {"batch_size": 64, "num_train": 250, "num_eval": 125},
        "factor_vae": {"batch_size": 64, "num_train": 250, "num_eval": 125, "num_variance_estimate": 1_000,
                       "prune_threshold": 0.05},
        "mig": {"num_train": 2_500, "num_bins": 20},
        "dci": {"num_train": 2_500, "num_test": 1_000},
        "sap": {"num_train": 2_500, "num_test": 1_000},
        "modularity": {"num_train": 2_500, "num_test": 1_000, "num_bins": 20},
        "fid": {"num_real": 2_000, "num_fake": 2_000},
        "fid_inception": {"num_real": 2_000, "num_fake": 2_000},
    },
}


def default_metrics(sample=None) -> list[str]:
    """The default metric set: all disentanglement metrics, plus ``"fid"`` when ``sample`` is given."""
    return [*METRICS, *(["fid"] if sample is not None else [])]


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
        if bad and name in METRICS:
            raise InvalidInputError(f"unknown setting(s) {sorted(bad)} for metric {name!r}; valid: {sorted(out[name])}")
        out[name].update(extra)
    return out


def evaluate(dataset, encode, metrics=None, *, sample=None, preset: str = "default", random_state=0,
             device=None, settings: dict | None = None, batch_size: int | None = None,
             n_jobs: int | None = None, progress: bool = False, noise_seeds: int = 0) -> dict:
    """Score one representation with several metrics; one flat, JSON-serialisable dict.

    Every metric gets the same seed ``random_state`` (as disentanglement_lib evaluates each
    metric with ``random_seed = 0``), and all share one :class:`CodeCache`: on a
    deterministic dataset each distinct observation is encoded at most once per call.

    Args:
        dataset: a :class:`disbench.data.GroundTruthDataset`.
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
        noise_seeds: score each disentanglement metric again at this many further metric
            seeds on the same codes (:func:`disbench.metrics.noise.metric_noise`); 0: don't.

    Returns:
        ``{"<metric>": headline score, "<metric>.<output>": other outputs,
        "<metric>.seconds": wall time, "metric_preset": str, "metric_settings": {...},
        "codes.num_requested": int, "codes.num_encoded": int, "codes.cached": bool}``, and
        with ``noise_seeds`` ``"<metric>.noise_std"``, ``.noise_scores``, ``.noise_seeds``,
        ``.noise_seconds`` per disentanglement metric.

    Raises:
        UnknownNameError: unknown metric or preset.
        InvalidInputError: FID asked for without ``sample``; bad encoder output (wrong
            shape, NaN/inf); too few points; a dataset lacking what a metric needs.
    """
    tune_allocator()
    metrics = default_metrics(sample) if metrics is None else list(dict.fromkeys(metrics))
    if not metrics:
        raise InvalidInputError("no metrics requested")
    resolved = resolve_settings(metrics, preset, settings)
    seed = _as_seed(random_state)
    cache = CodeCache(dataset, encode, device=device, batch_size=batch_size, progress=progress)
    out: dict = {"metric_preset": preset + ("+custom" if settings else ""), "metric_settings": resolved}
    for name in metrics:
        start = time.perf_counter()
        extra = {"n_jobs": n_jobs} if name in ("dci", "sap", "modularity") else {}
        if name in METRICS:
            result = METRICS[name](dataset, cache, random_state=seed, **resolved[name], **extra)
        else:
            if name == "kid" and "fid" in metrics:
                continue  # reported with fid
            result = _sample_metric(name, dataset, sample, seed, device, resolved[name], out)
        _flatten(name, result, out)
        out[f"{name}.seconds"] = round(time.perf_counter() - start, 3)
        if noise_seeds and name in METRICS:  # the metric's own sampling noise on the same codes
            score_at = functools.partial(_score, METRICS[name], dataset, cache, {**resolved[name], **extra})
            out.update(metric_noise(name, score_at, result["score"], seed, noise_seeds))
    out.update({"codes.num_requested": cache.num_requested, "codes.num_encoded": cache.num_encoded,
                "codes.cached": cache.cached})
    return out


def _score(function, dataset, cache, settings, seed) -> float:
    return function(dataset, cache, random_state=seed, **settings)["score"]


def _sample_metric(name, dataset, sample, seed, device, settings, out) -> dict:
    if sample is None:
        raise InvalidInputError(f"metric {name!r} scores generated samples: pass sample=callable(n) -> images")
    from disbench.metrics.fid import fid

    feature = "inception" if name == "fid_inception" else "factor_net"
    result = fid(dataset, sample, feature=feature, random_state=seed, device=device, **settings)
    if name == "kid":
        return {"score": result["kid_mean"], **{k: v for k, v in result.items() if k != "score"}}
    return result


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
                 progress: bool = False, noise_seeds: int = 0) -> dict:
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
                      progress=progress, noise_seeds=noise_seeds)
    result["run_dir"] = str(run_dir)
    write_json_atomic(run_dir / "metrics.json", result)
    return result
