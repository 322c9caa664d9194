"""Paper reproduction: run what a paper's table needs and put disbench's numbers beside the paper's.

The paper values live in the presets (``[[reported]]`` entries: paper key, dataset,
metric, value, optional std, source in the paper, the metric settings the paper used).
An entry's ``metric`` is a metric registry name (its headline score) or
``"<metric>.<output>"`` for another output of that metric (``"modularity.explicitness"``).
:func:`reproduce` runs every preset that has an entry for the paper, on the entries'
datasets, with the ``paper`` profile (``quick`` for a dry run on a CPU), scores the
metrics the entries name, and returns the side-by-side table: paper value, disbench
mean ± std over seeds, the delta (disbench − paper), the *protocol* beside it and a *verdict*.

Like with like (DESIGN.md, "A variant has a name"). Every entry says, in ``protocol``, what
disbench computes for it and how that differs from what the paper computed (metric variant,
sample sizes, train/test split), and names the disbench output that matches the paper's
protocol (Lin et al. 2020 fit and score explicitness, the β-VAE and the FactorVAE metric on
the same data, so their entries read ``modularity.explicitness_train``,
``beta_vae.train_accuracy``, ``factor_vae.train_accuracy``). An entry disbench cannot match
says why in ``not_comparable``. The verdict of a row (:func:`verdict`) is one of:

* ``inside the paper's spread`` / ``outside the paper's spread``: |Δ| ≤ 2 σ_paper or not,
  σ_paper being the reported std (at least ``resolution``, the last printed digit's half:
  Lin et al.'s "± 0.00" is below 0.005); ±2σ holds a faithful reproduction 95% of the time
  when the paper's runs are normal, ±1σ would flag one in three;
* ``no spread reported``;
* ``not comparable: <why>``: the entry's ``not_comparable``, a training profile other than
  ``paper`` (a quick run vs the paper's step count), a metric preset other than ``default``
  (smaller samples), or no completed run.

Runs are matched to an entry by preset, dataset and profile: runs of another dataset are
never pooled into a paper row.

The runs use the published dataset file when it is in the data cache (``data_source="auto"``;
else the procedural render, with one warning), and every table states the source its numbers
were computed on (``data_source``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from disbench.errors import unknown_name
from disbench.io import write_text_atomic
from disbench.leaderboard import data_source as source_words
from disbench.leaderboard import headline_scores
from disbench.results import RunRecord

COLUMNS = ["paper", "preset", "model", "dataset", "metric", "source", "paper_value", "paper_std",
           "disbench_mean", "disbench_std", "n_seeds", "delta", "protocol", "verdict", "profile", "metric_preset",
           "metric_settings", "note", "data_source"]  # fmt: skip
SPREAD_SIGMAS = 2.0  # a row is inside the paper's spread when |delta| <= 2 sigma_paper


def reported_entries(paper: str | None = None) -> list[dict]:
    """Every ``[[reported]]`` entry of every preset (with ``preset``, ``display_name`` and
    ``profile_steps``, the preset's steps per profile, added), or only those of ``paper``.

    Raises:
        UnknownNameError: ``paper`` is given and no preset reports numbers for it.
    """
    from disbench.presets import list_presets, load_preset

    entries = []
    for name in list_presets():
        preset = load_preset(name)
        for e in preset.reported:
            steps = {p: t.get("steps") for p, t in preset.profiles.items()}
            entries.append({**e, "preset": name, "display_name": preset.display_name, "profile_steps": steps})
    if paper is not None:
        if paper not in {e["paper"] for e in entries}:
            raise unknown_name("paper", paper, {e["paper"] for e in entries})
        entries = [e for e in entries if e["paper"] == paper]
    return entries


def papers() -> list[str]:
    """Paper keys ``disbench reproduce`` accepts."""
    return sorted({e["paper"] for e in reported_entries()})


def comparison_table(entries: list[dict], records: Sequence[RunRecord], *, profile: str | None = None) -> pd.DataFrame:
    """Side-by-side table of ``entries`` and the completed ``records`` (columns :data:`COLUMNS`).

    An entry is compared only with the runs of its own preset and dataset (and ``profile``,
    when given): a preset reporting numbers on two datasets gets one row per dataset, each
    from that dataset's runs. A metric a run lacks (or a run that failed) gives NaN for the
    disbench columns. ``verdict`` is :func:`verdict`'s.
    """
    rows = []
    for e in entries:
        runs = [r for r in records if r.name == e["preset"] and r.dataset == e["dataset"]
                and (profile is None or r.profile == profile)
                and r.state == "completed" and _score(r.metrics, e["metric"]) is not None]  # fmt: skip
        values = [_score(r.metrics, e["metric"]) for r in runs]
        mean = float(pd.Series(values).mean()) if values else math.nan
        std = float(pd.Series(values).std(ddof=1)) if len(values) > 1 else math.nan
        run_profile = runs[0].profile if runs else ""
        metric_preset = runs[0].metrics.get("metric_preset", "") if runs else ""
        rows.append({
            "paper": e["paper"], "preset": e["preset"], "model": e["display_name"], "dataset": e["dataset"],
            "metric": e["metric"], "source": e.get("source", ""), "paper_value": float(e["value"]),
            "paper_std": float(e["std"]) if "std" in e else math.nan,
            "disbench_mean": mean, "disbench_std": std, "n_seeds": len(values), "delta": mean - float(e["value"]),
            "protocol": e.get("protocol", ""), "verdict": verdict(e, mean, run_profile, metric_preset),
            "profile": run_profile, "metric_preset": metric_preset,
            "metric_settings": e.get("metric_settings", ""), "note": e.get("note", ""),
            "data_source": "; ".join(sorted({source_words(r.metrics) for r in runs} - {""})),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)


def verdict(entry: dict, disbench_mean: float, profile: str, metric_preset: str) -> str:
    """Whether a reproduction row agrees with the paper (see the module docstring).

    Args:
        entry: a ``[[reported]]`` entry (``value``, optional ``std``, ``resolution``,
            ``not_comparable``, ``profile_steps``).
        disbench_mean: disbench's mean over seeds (NaN: no run).
        profile, metric_preset: of the runs ("" when none).

    Returns:
        ``"inside the paper's spread (...)"``, ``"outside the paper's spread (...)"``,
        ``"no spread reported"`` or ``"not comparable: <why>"``.
    """
    if entry.get("not_comparable"):
        return f"not comparable: {entry['not_comparable']}"
    if math.isnan(disbench_mean):
        return "not comparable: no completed run scored this metric"
    if profile != "paper":
        steps = entry.get("profile_steps", {})
        return (f"not comparable: {profile} profile ({steps.get(profile, '?')} steps) vs the paper's "
                f"({steps.get('paper', '?')} steps)")  # fmt: skip
    if metric_preset not in ("", "default"):
        return f"not comparable: the {metric_preset} metric preset (smaller samples than the paper's)"
    if "std" not in entry:
        return "no spread reported"
    spread = SPREAD_SIGMAS * max(float(entry["std"]), float(entry.get("resolution", 0.0)))
    delta = abs(disbench_mean - float(entry["value"]))
    where = "inside" if delta <= spread else "outside"
    return f"{where} the paper's spread (|Δ| {delta:.3g} vs 2σ = {spread:.3g})"


def _score(metrics: dict | None, key: str) -> float | None:
    """Entry ``key`` of a run's flat metrics dict as a float (None when absent or not a number)."""
    if "." not in key:
        return headline_scores(metrics or {}).get(key)
    value = (metrics or {}).get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def to_markdown(table: pd.DataFrame) -> str:
    """The comparison as a Markdown table: paper value (± std), disbench mean ± std, delta, the
    protocol beside it and the verdict; a source whose entry notes "not re-checked" says so."""
    from tabulate import tabulate

    def pm(m, s):
        if math.isnan(m):
            return "—"
        return f"{m:.4g}" if math.isnan(s) else f"{m:.4g} ± {s:.2g}"

    body = [[r.model, r.dataset, r.data_source or "—", r.metric,
             r.source + (" (not re-checked)" if r.note.startswith("not re-checked") else ""),
             pm(r.paper_value, r.paper_std),
             pm(r.disbench_mean, r.disbench_std), "—" if math.isnan(r.delta) else f"{r.delta:+.4g}",
             r.protocol or "—", r.verdict]
            for r in table.itertuples()]  # fmt: skip
    head = ["Model", "Dataset", "disbench data", "Metric", "Source", "Paper", "disbench (mean ± std)", "Δ",
            "Protocol", "Verdict"]
    return tabulate(body, head, tablefmt="github", disable_numparse=True) + "\n"


def reproduce(
    paper: str,
    *,
    profile: str = "paper",
    seeds: Sequence[int] = (0,),
    out: str | Path = "results",
    device: str = "auto",
    executor=None,
    progress: bool = True,
    echo: Callable[[str], None] = print,
    task: Callable | None = None,
    data_source: str = "auto",
) -> tuple[pd.DataFrame, dict[str, Path]]:
    """Run the models ``paper``'s reported numbers need and compare.

    Args:
        paper: a paper key (see :func:`papers`).
        profile: training profile (``"paper"``; ``"quick"`` for a dry run).
        seeds, out, device, executor, progress, echo, task: as for
            :func:`disbench.runner.run_benchmark` (no sanity rows are run).
        data_source: for profiles that name none: ``"auto"`` (default: the published file
            when present, else procedural with one warning), ``"file"`` or ``"procedural"``.

    Returns:
        (the comparison table, the exported files ``reproduce-<paper>-<profile>.csv`` and
        ``.md`` in ``out``).

    Raises:
        UnknownNameError: unknown paper, or a profile a needed preset lacks.
    """
    from disbench.runner import run_benchmark, valid_metrics

    entries = reported_entries(paper)
    records: list[RunRecord] = []
    for dataset in sorted({e["dataset"] for e in entries}):
        here = [e for e in entries if e["dataset"] == dataset]
        models = sorted({e["preset"] for e in here})
        metrics = sorted({e["metric"].split(".")[0] for e in here} & set(valid_metrics()))
        job = run_benchmark(models, [dataset], seeds, profile, metrics, out=out, device=device, executor=executor,
                            sanity=False, progress=progress, export=False, echo=echo, task=task,
                            data_source=data_source)  # fmt: skip
        records += job.records
    table = comparison_table(entries, records, profile=profile)
    out = Path(out)
    stem = f"reproduce-{paper}-{profile}"
    write_text_atomic(out / f"{stem}.csv", table.to_csv(index=False))
    caption = f"{paper}: paper values vs disbench ({profile} profile, seeds {', '.join(map(str, seeds))})\n\n"
    write_text_atomic(out / f"{stem}.md", caption + to_markdown(table))
    echo(caption + to_markdown(table))
    return table, {"csv": out / f"{stem}.csv", "md": out / f"{stem}.md"}
