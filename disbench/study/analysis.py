"""The analysis of a study: the figures and tables of Locatello et al. 2019 from its runs.

It reads records (the results store), like the leaderboard, and works on one long table of
scores (:func:`scores_frame`: one row per completed run of the study × metric, with the
run's method, swept hyper-parameter, value, dataset and seed). Per dataset:

* **distributions** — per metric, the scores over seeds for each method and hyper-parameter
  value: a strip plot of every run (jittered), its median tick, and a violin where a cell has
  three or more distinct scores (Locatello et al. 2019, Fig. 6–7);
* **rank correlation** — Spearman's ρ between every pair of metrics over all runs of the
  dataset (:func:`disbench.stats.spearman_matrix`), as a heat-map with the values (their Fig. 2);
* **median and IQR** — per method, the median and inter-quartile range of each metric over
  all its runs (hyper-parameter values × seeds; :func:`disbench.stats.median_iqr`), rendered
  by the leaderboard's writers (CSV, LaTeX, Markdown, HTML);
* **hyper-parameter vs seed** — per method and metric, the share of the score's variance
  explained by the hyper-parameter value, η² of a one-way ANOVA with the values as groups
  (:func:`disbench.stats.variance_share`), the rest being the spread over seeds within a
  value (their Sec. 5.3: "the random seed matters more than the hyper-parameter"); the row
  "all methods" groups by (method, value). It needs two seeds or more: with one run per
  value the seed cannot be told apart and the share is left empty.

:func:`write_analysis` writes them into a study's analysis folder; :func:`report_sections`
gives the section of ``disbench report`` for every study found in a results store.
"""

from __future__ import annotations

import base64
import html
import io
import math
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from disbench import stats
from disbench.io import write_text_atomic
from disbench.leaderboard import (
    METRIC_LABELS,
    TABLE_CSS,
    Cell,
    Row,
    Table,
    collect,
    html_table,
    latex_tables,
    markdown_tables,
)
from disbench.results import RunRecord


def _joined(values) -> str:
    return "; ".join(sorted({str(v) for v in values if isinstance(v, str) and v})) or "not recorded"

ALL_METHODS = "all methods"
SCORE_COLUMNS = ["run_id", "method", "display_name", "supervision", "representation", "key", "value", "dataset",
                 "seed", "model_num", "metric", "score", "data_source"]  # fmt: skip
PAGE_CSS = (
    "body{font:14px sans-serif;margin:2em;max-width:90em}h2{border-bottom:1px solid #999}"
    "figure{display:inline-block;margin:.3em;vertical-align:top}figure img{max-width:100%}"
    "figcaption{font-size:12px}table.num td{text-align:right;padding:.2em .5em}"
    "table.num{border-collapse:collapse;font:13px sans-serif}table.num th{padding:.2em .5em}"
)


# --- the scores table ----------------------------------------------------------------------
def scores_frame(grid: pd.DataFrame, records: Iterable[RunRecord], metrics: Iterable[str] | None = None) -> pd.DataFrame:
    """Long table of a study's scores: one row per completed run of ``grid`` × headline metric.

    Args:
        grid: :attr:`disbench.study.grid.StudyPlan.grid` (run_id, method, display_name,
            supervision, representation, key, value, dataset, seed, model_num: the reference's
            run number or None).
        records: run records (any; those not in ``grid`` or not completed are ignored).
        metrics: keep only these metrics; None keeps every headline score.

    Returns:
        DataFrame with :data:`SCORE_COLUMNS` (``score`` float).
    """
    long = collect(records)
    if long.empty:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    long = long[["run_id", "metric", "value", "data_source"]].rename(columns={"value": "score"})
    if "model_num" not in grid.columns:
        grid = grid.assign(model_num=None)
    out = grid.merge(long, on="run_id", how="inner")
    if metrics is not None:
        out = out[out["metric"].isin(list(metrics))]
    return out[SCORE_COLUMNS].reset_index(drop=True)


def _metric_order(scores: pd.DataFrame) -> list[str]:
    present = list(dict.fromkeys(scores["metric"]))
    known = [m for m in METRIC_LABELS if m in present]
    return known + [m for m in present if m not in known]


def _label(metric: str) -> str:
    return METRIC_LABELS.get(metric, (metric,))[0]


# --- tables --------------------------------------------------------------------------------
def median_iqr_table(scores: pd.DataFrame) -> pd.DataFrame:
    """Per dataset, method and metric: median, q1, q3 and iqr of the scores over all the
    method's runs, with n_runs, n_values (hyper-parameter values present) and n_seeds (and the
    method's display_name, supervision, representation)."""
    rows = []
    for (dataset, method, metric), g in scores.groupby(["dataset", "method", "metric"], sort=False):
        med, q1, q3 = stats.median_iqr(g["score"].to_numpy(float))
        first = g.iloc[0]
        rows.append({"dataset": dataset, "method": method, "display_name": first["display_name"],
                     "supervision": first["supervision"], "representation": first["representation"],
                     "metric": metric, "median": med, "q1": q1, "q3": q3, "iqr": q3 - q1, "n_runs": len(g),
                     "n_values": g["value"].nunique(), "n_seeds": g["seed"].nunique()})  # fmt: skip
    return pd.DataFrame(rows, columns=["dataset", "method", "display_name", "supervision", "representation", "metric",
                                       "median", "q1", "q3", "iqr", "n_runs", "n_values", "n_seeds"])  # fmt: skip


def median_iqr_tables(scores: pd.DataFrame, caption: str = "") -> list[Table]:
    """The median/IQR table of each dataset as a leaderboard :class:`~disbench.leaderboard.Table`
    (cells: median with ``interval`` = (q1, q3)), for the leaderboard's writers."""
    summary = median_iqr_table(scores)
    out = []
    for dataset, g in summary.groupby("dataset", sort=True):
        metrics = _metric_order(g)
        rows = []
        for method, part in g.groupby("method", sort=True):
            by_metric = part.set_index("metric")
            cells = [Cell(by_metric.loc[m, "median"], math.nan, interval=(by_metric.loc[m, "q1"], by_metric.loc[m, "q3"]))
                     if m in by_metric.index else None for m in metrics]  # fmt: skip
            first = part.iloc[0]
            display = f"{first['display_name']} ({int(part['n_runs'].max())} runs)"
            rows.append(Row(method, display, first["supervision"], first["representation"], True, cells))
        text = (f"{caption} " if caption else "") + (
            f"Median [first quartile, third quartile] on {dataset} of each metric over all runs of a method "
            "(its hyper-parameter values × seeds); no significance is claimed, nothing is bold.")
        out.append(Table((dataset,), metrics, rows, text))
    return out


def variance_table(scores: pd.DataFrame) -> pd.DataFrame:
    """Per dataset, method (and ``"all methods"``) and metric: the share of the score's
    variance explained by the hyper-parameter (η²) and left to the seed (1 − η²), the F test,
    the numbers of values (groups) and runs. Groups are the method's hyper-parameter values;
    for ``"all methods"`` (only with two methods or more) the (method, value) configurations."""
    rows = []
    for (dataset, metric), g in scores.groupby(["dataset", "metric"], sort=False):
        parts = [(m, part, part["value"]) for m, part in g.groupby("method", sort=True)]
        if len(parts) > 1:
            parts.append((ALL_METHODS, g, g["method"] + "|" + g["value"].astype(str)))
        for method, part, groups in parts:
            share = stats.variance_share(part["score"].to_numpy(float), groups.to_numpy())
            rows.append({"dataset": dataset, "method": method, "metric": metric, "hyperparameter": share.between,
                         "seed": share.within, "f": share.f, "p": share.p, "n_values": share.n_groups,
                         "n_runs": share.n})  # fmt: skip
    return pd.DataFrame(rows, columns=["dataset", "method", "metric", "hyperparameter", "seed", "f", "p",
                                       "n_values", "n_runs"])  # fmt: skip


def spearman_table(scores: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Spearman's ρ between the metrics over all runs of ``dataset`` (metrics × metrics)."""
    wide = scores[scores["dataset"] == dataset].pivot_table(index="run_id", columns="metric", values="score",
                                                            aggfunc="first")  # fmt: skip
    return stats.spearman_matrix(wide[[m for m in _metric_order(scores) if m in wide.columns]])


# --- figures -------------------------------------------------------------------------------
def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    _plt().close(fig)
    return buf.getvalue()


def distribution_figure(scores: pd.DataFrame, metric: str, title: str | None = None) -> bytes:
    """PNG: the scores of ``metric`` per method and hyper-parameter value (one dataset):
    every run as a jittered point, the median as a tick, a violin where a cell has three or
    more distinct scores."""
    part = scores[scores["metric"] == metric]
    cells = list(part.groupby(["method", "value"], sort=True))
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(4.0, 0.5 * len(cells) + 1.5), 3.0))
    rng = np.random.default_rng(0)  # jitter only
    positions, labels, groups, pos = [], [], {}, 0.0
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    methods = list(dict.fromkeys(m for (m, _), _ in cells))
    for (method, value), g in cells:
        if positions and method not in groups:
            pos += 0.6  # a gap between methods
        colour = colours[methods.index(method) % len(colours)]
        y = g["score"].to_numpy(float)
        if y.size >= 3 and np.unique(y).size >= 3:
            body = ax.violinplot([y], positions=[pos], widths=0.8, showextrema=False)["bodies"][0]
            body.set_facecolor(colour)
            body.set_alpha(0.25)
        ax.scatter(pos + rng.uniform(-0.15, 0.15, y.size), y, s=14, color=colour, zorder=3)
        ax.hlines(np.median(y), pos - 0.3, pos + 0.3, color="k", lw=1.2, zorder=4)
        groups.setdefault(method, []).append(pos)
        positions.append(pos)
        labels.append(f"{value:g}" if isinstance(value, int | float) else str(value))
        pos += 1.0
    ax.set_xticks(positions, labels, fontsize=7)
    for method, where in groups.items():
        g = part[part["method"] == method]
        ax.text(float(np.mean(where)), -0.16, f"{g['display_name'].iloc[0]} ({g['key'].iloc[0]})", ha="center",
                va="top", fontsize=8, transform=ax.get_xaxis_transform())  # fmt: skip
    ax.set_ylabel(_label(metric))
    ax.set_title(title or _label(metric), fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def spearman_figure(matrix: pd.DataFrame, title: str = "Spearman rank correlation") -> bytes:
    """PNG: the heat-map of a metrics × metrics correlation matrix with its values (— for NaN)."""
    plt = _plt()
    k = len(matrix)
    fig, ax = plt.subplots(figsize=(1.0 + 0.7 * k, 0.8 + 0.6 * k))
    im = ax.imshow(matrix.to_numpy(float), cmap="RdBu_r", vmin=-1, vmax=1)
    names = [_label(m) for m in matrix.columns]
    ax.set_xticks(range(k), names, rotation=35, ha="right", fontsize=8)
    ax.set_yticks(range(k), names, fontsize=8)
    for i in range(k):
        for j in range(k):
            v = matrix.iat[i, j]
            ax.text(j, i, "—" if math.isnan(v) else f"{v:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if not math.isnan(v) and abs(v) > 0.6 else "black")  # fmt: skip
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    ax.set_title(title, fontsize=9)
    return _png(fig)


# --- pages ---------------------------------------------------------------------------------
def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _number_table(frame: pd.DataFrame, percent: tuple[str, ...] = ()) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for _, row in frame.iterrows():
        cells = []
        for c, v in row.items():
            if isinstance(v, float):
                v = "—" if math.isnan(v) else f"{100 * v:.0f} %" if c in percent else f"{v:.3g}"
            cells.append(f"<td>{html.escape(str(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="num"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def render_sections(scores: pd.DataFrame, heading: str, level: int = 2) -> str:
    """The analysis of ``scores`` as HTML (no page around it): per dataset the distributions,
    the median/IQR table, the variance shares and the Spearman heat-map."""
    h, sub = f"h{level}", f"h{level + 1}"
    out = [f"<{h}>{html.escape(heading)}</{h}>"]
    if scores.empty:
        return out[0] + "<p>no completed runs of this study yet</p>"
    tables = {t.key[0]: t for t in median_iqr_tables(scores)}
    shares = variance_table(scores)
    for dataset, part in scores.groupby("dataset", sort=True):
        n_cfg = part.groupby(["method", "value"]).ngroups
        out.append(f"<{sub}>{html.escape(dataset)}: {part['run_id'].nunique()} runs, {n_cfg} configurations, "
                   f"seeds {', '.join(map(str, sorted(part['seed'].unique())))}</{sub}>")  # fmt: skip
        out.append("<p>Score of every run per method and hyper-parameter value (points; tick: median; violin "
                   "where a value has three or more distinct scores).</p>")  # fmt: skip
        out += [f"<figure>{_img(distribution_figure(part, m), _label(m))}</figure>" for m in _metric_order(part)]
        out.append(html_table(tables[dataset]))
        share = shares[shares["dataset"] == dataset].pivot_table(index="method", columns="metric",
                                                                 values="hyperparameter", aggfunc="first",
                                                                 dropna=False)  # fmt: skip
        names = dict(zip(part["method"], part["display_name"])) | {ALL_METHODS: ALL_METHODS}
        share = share.reindex([m for m in [*dict.fromkeys(part["method"]), ALL_METHODS] if m in share.index])
        share = share[[m for m in _metric_order(part) if m in share.columns]]
        share = share.rename(index=names, columns=_label).rename_axis("method")
        out.append("<p>Share of each metric's variance explained by the hyper-parameter value (η² of a one-way "
                   "ANOVA over a method's runs, groups = its values; the rest is the spread over seeds; "
                   "<i>all methods</i>: groups = method × value). — : fewer than two seeds per value.</p>")
        out.append(_number_table(share.reset_index(), percent=tuple(share.columns)))
        matrix = spearman_table(scores, dataset)
        if len(matrix) >= 2:
            heat = spearman_figure(matrix, f"Spearman ρ between metrics over the runs on {dataset}")
            out.append(f"<figure>{_img(heat, 'Spearman rank correlation')}<figcaption>— : fewer than three runs, "
                       "or a constant metric</figcaption></figure>")  # fmt: skip
    return "".join(out)


def write_analysis(plan, records: Iterable[RunRecord], out_dir: str | Path,
                   echo: Callable[[str], None] = print) -> dict[str, Path]:  # fmt: skip
    """Write the analysis of ``plan``'s completed runs into ``out_dir``.

    Files: ``scores.csv`` (:func:`scores_frame`), ``median_iqr.csv`` (:func:`median_iqr_table`),
    ``median_iqr.tex`` and ``median_iqr.md`` (leaderboard writers), ``variance.csv``
    (:func:`variance_table`), ``spearman-<dataset>.csv`` and ``analysis.html`` (every figure
    and table on one self-contained page).

    Returns:
        kind -> path of each file written.
    """
    out_dir = Path(out_dir)
    study = plan.study
    scores = scores_frame(plan.grid, records, study.metrics)
    caption = f"Study {study.name} ({plan.profile} profile)."
    paths = {"scores": out_dir / "scores.csv"}
    write_text_atomic(paths["scores"], scores.to_csv(index=False))
    if not scores.empty:
        tables = median_iqr_tables(scores, caption)
        for kind, name, text in (("median_iqr", "median_iqr.csv", median_iqr_table(scores).to_csv(index=False)),
                                 ("latex", "median_iqr.tex", latex_tables(tables)),
                                 ("md", "median_iqr.md", markdown_tables(tables)),
                                 ("variance", "variance.csv", variance_table(scores).to_csv(index=False))):  # fmt: skip
            paths[kind] = out_dir / name
            write_text_atomic(paths[kind], text)
        for dataset in sorted(scores["dataset"].unique()):
            paths[f"spearman-{dataset}"] = out_dir / f"spearman-{dataset}.csv"
            write_text_atomic(paths[f"spearman-{dataset}"], spearman_table(scores, dataset).to_csv())
    done, planned = scores["run_id"].nunique(), len(plan.specs)
    intro = (f"<h1>{html.escape(study.name)} · {html.escape(plan.profile)} profile</h1><p>{html.escape(study.title)}"
             f" — {html.escape(study.citation)}<br>Grid from {html.escape(study.source)}.<br>"
             f"Data: {html.escape(_joined(scores['data_source']) if not scores.empty else 'no completed runs')}.<br>"
             f"{done} of {planned} "
             f"planned runs completed · {time.strftime('%Y-%m-%d %H:%M')}</p>")  # fmt: skip
    page = (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(study.name)}</title>'
            f"<style>{PAGE_CSS}{TABLE_CSS}</style></head><body>{intro}"
            f"{render_sections(scores, 'Analysis')}</body></html>\n")  # fmt: skip
    paths["html"] = out_dir / "analysis.html"
    write_text_atomic(paths["html"], page)
    echo(f"study analysis of {done}/{planned} runs: {paths['html']}")
    return paths


def find_studies(records: list[RunRecord], root: str | Path | None = None) -> list:
    """The studies whose grid holds completed runs of at least two configurations in
    ``records``: a list of (plan, scores), one per study and study profile. The plan covers
    the seeds and datasets of those runs. With ``root`` (the results directory) also the
    ad-hoc studies of ``--sweep``/``--set`` saved there (:func:`disbench.study.grid.saved_plans`)."""
    from disbench import data
    from disbench.errors import DisbenchError
    from disbench.study.grid import list_studies, load_study, plan_study, saved_plans

    done = [r for r in records if r.kind == "train" and r.state == "completed" and r.metrics]
    found = []
    for name in list_studies():
        study = load_study(name)
        sweeps = study.sweeps()
        for profile, preset_profile in study.profiles.items():
            mine = [r for r in done if r.name in sweeps and r.profile == preset_profile]
            if not mine:
                continue
            datasets = sorted({r.dataset for r in mine if r.dataset in data.DATASETS})
            try:
                plan = plan_study(study, sorted({r.name for r in mine}), datasets, sorted({r.seed for r in mine}),
                                  profile)  # fmt: skip
            except DisbenchError:
                continue  # a preset or study file that no longer plans: its runs are not this study's
            scores = scores_frame(plan.grid, mine, study.metrics)
            if not scores.empty and scores.groupby(["method", "value"]).ngroups >= 2:
                found.append((plan, scores))
    for plan in saved_plans(root) if root is not None else ():
        scores = scores_frame(plan.grid, done, plan.study.metrics)
        if not scores.empty and scores.groupby(["method", "value"]).ngroups >= 2:
            found.append((plan, scores))
    return found


def report_sections(records: Iterable[RunRecord], root: str | Path | None = None) -> list[str]:
    """HTML sections of ``disbench report`` for every study found in ``records`` (and, with
    ``root``, the ad-hoc studies saved there; :func:`find_studies`)."""
    return [render_sections(scores, f"Study {plan.study.name} ({plan.profile} profile)"
                            + (f": {plan.study.title}" if plan.definition else ""))
            for plan, scores in find_studies(list(records), root)]  # fmt: skip
