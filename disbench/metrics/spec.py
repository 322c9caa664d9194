"""How a metric declares its presets: the :func:`metric` decorator on its sampling function.

    @metric("mig", quick={"num_train": 2_500})
    def mig(dataset, encode, *, random_state=0, num_train: int = 10_000, num_bins: int = 20) -> dict:

The ``"default"`` preset is the function's own keyword-only defaults, written once, in the
signature (by the project's convention disentanglement_lib's ``unsupervised_study_v1``
values, comparable with the literature). ``quick`` overrides some of them for CPU runs
(the same estimators on fewer points: noisier, not comparable at the decimal, and every
output made with it says ``"metric_preset": "quick"``; disbench's own quick sizes keep one
model's metrics under ~30 s on 2 cores: 1/40 of the β-VAE/FactorVAE points, whose ~2
million encodings dominate, and 1/4-1/5 for MIG, DCI, SAP and modularity). The keywords
the evaluator supplies itself, :data:`RUNTIME`, are not settings; a function declares the
ones it uses in its signature and gets only those.

This module imports nothing from the metrics, so any metric module can import it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# keywords passed by disbench.metrics.evaluate, never preset settings
RUNTIME = ("random_state", "n_jobs", "device")
# what the sampling function takes after the dataset: one encoder, a sampler of generated
# images, or the encoders of several trained runs (a metric of a group of runs, e.g. UDR)
INPUTS = ("codes", "samples", "runs")


@dataclass(frozen=True)
class MetricSpec:
    """One metric as the evaluator sees it.

    Attributes:
        name: registry name (``"mig"``), the key of its outputs.
        function: the sampling function, ``function(dataset, encode_or_sample, *,
            random_state, **runtime, **settings) -> dict`` with ``"score"``.
        inputs: ``"codes"`` (called with an encoder / :class:`CodeCache`), ``"samples"``
            (called with ``sample(n) -> images``) or ``"runs"`` (called with the encoders of
            several trained runs; scored per group of runs, not by ``evaluate``).
        presets: ``{"default": settings, "quick": settings}``, each a dict of keyword values.
        runtime: the :data:`RUNTIME` keywords the function accepts.
        open_settings: the function takes ``**options``, so settings outside the presets'
            keys are passed on rather than rejected.
        by_default: part of the default metric set (``evaluate`` with ``metrics=None``,
            ``--metrics default``); the others run when named.
    """

    name: str
    function: Callable[..., dict]
    inputs: str
    presets: Mapping[str, Mapping[str, Any]]
    runtime: frozenset[str]
    open_settings: bool
    by_default: bool = True


def metric(name: str, *, quick: Mapping[str, Any], inputs: str = "codes", by_default: bool = True):
    """Decorator declaring a sampling function as metric ``name``; sets ``function.metric_spec``.

    Args:
        name: registry name.
        quick: the ``"quick"`` preset's departures from the signature's defaults.
        inputs: ``"codes"``, ``"samples"`` or ``"runs"`` (see :class:`MetricSpec`).
        by_default: in the default metric set (see :class:`MetricSpec`).

    Raises:
        TypeError: ``quick`` names a keyword that is not a setting of the function, or
            ``inputs`` is unknown (programming errors, raised at import).
    """
    if inputs not in INPUTS:
        raise TypeError(f"metric {name!r}: inputs must be one of {INPUTS}, got {inputs!r}")

    def deco(function):
        params = inspect.signature(function).parameters.values()
        default = {p.name: p.default for p in params
                   if p.kind is p.KEYWORD_ONLY and p.name not in RUNTIME and p.default is not p.empty}
        unknown = set(quick) - set(default)
        if unknown:
            raise TypeError(f"metric {name!r}: quick sets {sorted(unknown)}, not settings of {function.__name__}")
        function.metric_spec = MetricSpec(
            name=name,
            function=function,
            inputs=inputs,
            presets={"default": default, "quick": {**default, **quick}},
            runtime=frozenset(p.name for p in params if p.name in RUNTIME),
            open_settings=any(p.kind is p.VAR_KEYWORD for p in params),
            by_default=by_default,
        )
        return function

    return deco
