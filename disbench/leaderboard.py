"""Leaderboards: aggregate the completed runs over seeds, rank them, export them.

For every (dataset, profile, metric preset) group and every row (a baseline preset, or a
sanity representation) the headline score of each metric is aggregated over seeds: mean,
sample standard deviation (ddof 1; NaN for one seed), and a 95% percentile bootstrap
confidence interval of the mean (numpy, 10 000 resamples, seeded so that exports are
reproducible; NaN for one seed). Trained baselines are ranked per metric within their
group, direction-aware (higher is better except FID/KID, where lower is better); the
sanity rows (ground truth, PCA, ICA, raw pixels) are shown beneath as references and are
not ranked.

Exports: CSV (wide: one row per model with mean/std/CI/rank columns per metric; and the
tidy table, one row per model × metric, beside it as ``<stem>.tidy.csv``), LaTeX
(booktabs; best per column bold; ± std in smaller type; a caption naming dataset,
profile, seeds and metric preset), Markdown (tabulate) and HTML.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from disbench.errors import unknown_name
from disbench.io import write_text_atomic
from disbench.results import RunRecord

# metric registry name -> (short label, LaTeX label)
METRIC_LABELS = {
    "beta_vae": ("β-VAE", r"$\beta$-VAE"),
    "factor_vae": ("FactorVAE", "FactorVAE"),
    "mig": ("MIG", "MIG"),
    "dci": ("DCI", "DCI"),
    "sap": ("SAP", "SAP"),
    "modularity": ("Modularity", "Modularity"),
    "fid": ("FID", "FID"),
    "kid": ("KID", "KID"),
    "fid_inception": ("FID (Inception)", "FID (Inception)"),
}
LOWER_IS_BETTER = frozenset({"fid", "kid", "fid_inception"})
METRIC_PRESET_WORDS = {
    "quick": "the quick metric preset (smaller documented sample sizes)",
    "default": "each metric's reference defaults",
}
GROUP = ["dataset", "profile", "metric_preset"]
ROW = ["kind", "name"]
EXPORT_FORMATS = {"csv": ".csv", "latex": ".tex", "md": ".md", "html": ".html"}
BOOTSTRAP_RESAMPLES = 10_000


def lower_is_better(metric: str) -> bool:
    """True for metrics where a lower score is better (FID, KID)."""
    return metric in LOWER_IS_BETTER


def headline_scores(metrics: dict) -> dict[str, float]:
    """The headline (``"<metric>"``, no dot) numeric scores of a flat metrics dict."""
    return {
        k: float(v)
        for k, v in metrics.items()
        if "." not in k and isinstance(v, int | float) and not isinstance(v, bool) and k != "metric_preset"
    }


def collect(records: Iterable[RunRecord]) -> pd.DataFrame:
    """Long table of the completed runs: one row per run × headline metric.

    Columns: run_id, kind, name, display_name, model, supervision, representation,
    dataset, profile, metric_preset, seed, metric, value. Sanity rows carry the profile
    of the trained runs of their group (they are not trained, so they fit every profile).
    """
    rows = []
    for r in records:
        if r.state != "completed" or not r.metrics:
            continue
        for metric, value in headline_scores(r.metrics).items():
            rows.append(
                {
                    "run_id": r.run_id, "kind": r.kind, "name": r.name,
                    "display_name": r.spec.get("display_name", r.name), "model": r.model,
                    "supervision": r.spec.get("supervision", ""), "representation": r.spec.get("representation", ""),
                    "dataset": r.dataset, "profile": r.profile,
                    "metric_preset": r.metrics.get("metric_preset", r.metric_preset or "default"),
                    "seed": r.seed, "metric": metric, "value": value,
                }
            )  # fmt: skip
    long = pd.DataFrame(rows, columns=[
        "run_id", "kind", "name", "display_name", "model", "supervision", "representation",
        "dataset", "profile", "metric_preset", "seed", "metric", "value",
    ])  # fmt: skip
    if long.empty:
        return long
    # sanity rows join the groups (dataset, metric preset) of the trained profiles
    trained = long[long.kind == "train"][["dataset", "metric_preset", "profile"]].drop_duplicates()
    sanity = long[long.kind == "sanity"].drop(columns="profile").merge(trained, on=["dataset", "metric_preset"])
    return pd.concat([long[long.kind == "train"], sanity], ignore_index=True)


def bootstrap_ci(values: np.ndarray, *, n_resamples: int = BOOTSTRAP_RESAMPLES, random_state: int = 0):
    """95% percentile bootstrap CI of the mean of ``values`` (1-d); (nan, nan) below 2 values."""
    values = np.asarray(values, dtype=np.float64)
    if values.size < 2:
        return math.nan, math.nan
    rng = np.random.default_rng(random_state)
    means = values[rng.integers(0, values.size, size=(n_resamples, values.size))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def aggregate(long: pd.DataFrame, *, random_state: int = 0) -> pd.DataFrame:
    """Tidy leaderboard: one row per group × row × metric.

    Columns: dataset, profile, metric_preset, kind, name, display_name, supervision,
    representation, metric, mean, std, ci_low, ci_high, n, seeds (comma-separated),
    rank (1 = best within the group's trained rows; NaN for sanity rows),
    lower_is_better.
    """
    keys = [*GROUP, *ROW, "display_name", "supervision", "representation", "metric"]
    rows = []
    for key, g in long.groupby(keys, sort=False, dropna=False):
        values = g.sort_values("seed")["value"].to_numpy()
        low, high = bootstrap_ci(values, random_state=random_state)
        rows.append({
            **dict(zip(keys, key)),
            "mean": float(values.mean()),
            "std": float(values.std(ddof=1)) if values.size > 1 else math.nan,
            "ci_low": low, "ci_high": high, "n": int(values.size),
            "seeds": ",".join(str(s) for s in sorted(g["seed"])),
        })  # fmt: skip
    tidy = pd.DataFrame(rows)
    tidy["lower_is_better"] = tidy["metric"].map(lower_is_better)
    tidy["rank"] = math.nan
    trained = tidy["kind"] == "train"
    for _, idx in tidy[trained].groupby([*GROUP, "metric"]).groups.items():
        part = tidy.loc[idx]
        ascending = bool(part["lower_is_better"].iloc[0])
        tidy.loc[idx, "rank"] = part["mean"].rank(ascending=ascending, method="min")
    return tidy


def _metric_order(metrics) -> list[str]:
    known = [m for m in METRIC_LABELS if m in set(metrics)]
    return known + sorted(set(metrics) - set(known))


@dataclass
class Leaderboard:
    """An aggregated leaderboard (see :func:`aggregate` for ``tidy``'s columns)."""

    tidy: pd.DataFrame

    @property
    def empty(self) -> bool:
        return self.tidy.empty

    @property
    def metrics(self) -> list[str]:
        return _metric_order(self.tidy["metric"].unique())

    def groups(self):
        """Yield ((dataset, profile, metric_preset), the tidy rows of that group), sorted."""
        yield from self.tidy.groupby(GROUP, sort=True)

    def wide(self) -> pd.DataFrame:
        """One row per group × model: dataset, profile, metric_preset, kind, name, model
        (display name), supervision, representation, n_seeds, then per metric ``<m>``
        (mean), ``<m>_std``, ``<m>_ci_low``, ``<m>_ci_high``, ``<m>_rank``."""
        rows = []
        for _, g in self.groups():
            metrics = _metric_order(g["metric"].unique())
            order = g.assign(_o=(g["kind"] != "train").astype(int)).sort_values(["_o", "name"])
            for _, part in order.groupby(["_o", "name"], sort=False):
                first = part.iloc[0]
                row = {c: first[c] for c in [*GROUP, *ROW]}
                row.update(model=first["display_name"], supervision=first["supervision"],
                           representation=first["representation"], n_seeds=int(part["n"].max()))  # fmt: skip
                by_metric = part.set_index("metric")
                for m in metrics:
                    r = by_metric.loc[m] if m in by_metric.index else None
                    row[m] = math.nan if r is None else r["mean"]
                    for stat in ("std", "ci_low", "ci_high", "rank"):
                        row[f"{m}_{stat}"] = math.nan if r is None else r[stat]
                rows.append(row)
        return pd.DataFrame(rows)

    def caption(self, key) -> str:
        """Plain-text caption of one group: dataset, profile, seeds, metric preset, directions."""
        dataset, profile, metric_preset = key
        g = self.tidy[(self.tidy[GROUP] == pd.Series(key, index=GROUP)).all(axis=1)]
        seeds = sorted({int(s) for ss in g["seeds"] for s in ss.split(",")})
        settings = METRIC_PRESET_WORDS.get(metric_preset, f"the {metric_preset!r} metric preset")
        return (
            f"Disentanglement leaderboard on {dataset}: {profile} training profile, "
            f"seeds {', '.join(map(str, seeds))}, metrics at {settings}. "
            + ("Mean ± standard deviation over seeds (95% bootstrap CIs in the CSV export); " if g["n"].max() > 1
               else "One seed per model (no spread); ")
            + "best trained model per column in bold "
            "(↑ higher is better, ↓ lower is better); the sanity rows beneath are references and not ranked."
        )

    # --- rendering -------------------------------------------------------------------------
    def _cells(self, g: pd.DataFrame, fmt_cell):
        """One group's display table: (metrics, row names, body rows, number of trained rows).

        Rows are the trained models (by name), then the sanity rows; each body row is
        [model, supervision, representation, one ``fmt_cell(mean, std, best)`` per metric
        ("—" where the row has no score)].
        """
        metrics = _metric_order(g["metric"].unique())
        order = g.assign(_o=(g["kind"] != "train").astype(int)).sort_values(["_o", "name"])
        names, body, n_trained = [], [], 0
        for (_, name), rows in order.groupby(["_o", "name"], sort=False):
            first = rows.iloc[0]
            by_metric = rows.set_index("metric")
            trained = first["kind"] == "train"
            line = [first["display_name"], first["supervision"] if trained else "—", first["representation"]]
            for m in metrics:
                if m not in by_metric.index:
                    line.append("—")
                    continue
                r = by_metric.loc[m]
                line.append(fmt_cell(r["mean"], r["std"], r["rank"] == 1))
            names.append(name)
            body.append(line)
            n_trained += int(trained)
        return metrics, names, body, n_trained

    def to_text(self) -> str:
        """The leaderboard as plain-text tables (one per group) for the terminal; ``*`` marks the best."""
        from tabulate import tabulate

        out = []
        for key, g in self.groups():
            metrics, _, body, _ = self._cells(g, lambda m, s, best: _plain(m, s) + (" *" if best else ""))
            out.append(self.caption(key) + "\n" + tabulate(body, _header(metrics), tablefmt="simple"))
        return "\n\n".join(out)

    def to_markdown(self) -> str:
        """Markdown tables (tabulate, GitHub style): ``mean ± std``, best per column ``**bold**``."""
        from tabulate import tabulate

        out = []
        for key, g in self.groups():
            metrics, _, body, _ = self._cells(g, lambda m, s, best: f"**{_plain(m, s)}**" if best else _plain(m, s))
            out.append(f"{self.caption(key)}\n\n" + tabulate(body, _header(metrics), tablefmt="github"))
        return "\n\n".join(out) + "\n"

    def to_latex(self) -> str:
        """LaTeX (booktabs) tables, one per group: ``mean {\\scriptsize ± std}``, best bold, a caption."""
        out = []
        for key, g in self.groups():
            metrics, _, body, n_trained = self._cells(g, _latex_cell)
            head = [_latex_escape(h) for h in _header([])] + [
                METRIC_LABELS.get(m, (m, _latex_escape(m)))[1] + (r" $\downarrow$" if lower_is_better(m) else r" $\uparrow$")
                for m in metrics
            ]
            lines = [
                r"\begin{table}[t]",
                r"\centering",
                r"\caption{" + _latex_escape(self.caption(key)) + "}",
                r"\label{tab:disbench-" + "-".join(str(k) for k in key) + "}",
                r"\begin{tabular}{lll" + "r" * len(metrics) + "}",
                r"\toprule",
                " & ".join(head) + r" \\",
                r"\midrule",
            ]
            for i, row in enumerate(body):
                if i == n_trained and i > 0:
                    lines.append(r"\midrule")
                cells = [_latex_escape(c) for c in row[:3]] + [c if c != "—" else "---" for c in row[3:]]
                lines.append(" & ".join(cells) + r" \\")
            lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
            out.append("\n".join(lines))
        return "\n\n".join(out) + "\n"

    def to_html(self) -> str:
        """HTML tables (one per group, with a caption): ``mean ± std``, best ``<b>``, the CI as a tooltip."""
        out = []
        for key, g in self.groups():
            ci = {(r["name"], r["metric"]): (r["ci_low"], r["ci_high"]) for _, r in g.iterrows()}
            metrics, names, body, _ = self._cells(g, lambda m, s, best: (m, s, best))
            rows = []
            for name, line in zip(names, body):
                cells = [f"<td>{html.escape(str(c))}</td>" for c in line[:3]]
                for m, c in zip(metrics, line[3:]):
                    if isinstance(c, str):
                        cells.append(f"<td>{c}</td>")
                        continue
                    mean, std, best = c
                    low, high = ci[(name, m)]
                    title = f' title="95% CI [{low:.3g}, {high:.3g}]"' if not math.isnan(low) else ""
                    text = html.escape(_plain(mean, std))
                    cells.append(f"<td{title}>{'<b>' + text + '</b>' if best else text}</td>")
                rows.append("<tr>" + "".join(cells) + "</tr>")
            head = "".join(f"<th>{html.escape(h)}</th>" for h in _header(metrics))
            out.append(
                f'<table class="leaderboard"><caption>{html.escape(self.caption(key))}</caption>'
                f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            )
        return "\n".join(out)


def _header(metrics: list[str]) -> list[str]:
    return ["Model", "Supervision", "Representation"] + [
        f"{METRIC_LABELS.get(m, (m,))[0]} {'↓' if lower_is_better(m) else '↑'}" for m in metrics
    ]


def _decimals(mean: float) -> int:
    """Decimals shown for a score and its std: 3 below 10 (the [0, 1] metrics), 2 below 100, else 1."""
    return 3 if abs(mean) < 10 else 2 if abs(mean) < 100 else 1


def _fmt(x: float, decimals: int) -> str:
    return "nan" if math.isnan(x) else f"{x:.{decimals}f}"


def _plain(mean: float, std: float) -> str:
    d = _decimals(mean)
    return _fmt(mean, d) if math.isnan(std) else f"{_fmt(mean, d)} ± {_fmt(std, d)}"


def _latex_cell(mean: float, std: float, best: bool) -> str:
    d = _decimals(mean)
    m = rf"\mathbf{{{_fmt(mean, d)}}}" if best else _fmt(mean, d)
    return f"${m}$" if math.isnan(std) else rf"${m}$ {{\scriptsize $\pm$ {_fmt(std, d)}}}"


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "β": r"$\beta$", "μ": r"$\mu$", "σ": r"$\sigma$", "±": r"$\pm$", "—": "---",
    "↑": r"$\uparrow$", "↓": r"$\downarrow$",
}  # fmt: skip


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(c, c) for c in str(text))


def build_leaderboard(records: Iterable[RunRecord], *, random_state: int = 0) -> Leaderboard:
    """Aggregate ``records`` (completed ones; others are ignored) into a :class:`Leaderboard`."""
    long = collect(records)
    return Leaderboard(aggregate(long, random_state=random_state) if not long.empty else pd.DataFrame())


def export_leaderboard(board: Leaderboard, path: str | Path, fmt: str) -> Path:
    """Write ``board`` to ``path`` as ``fmt`` (csv, latex, md, html), atomically.

    ``csv`` writes the wide table to ``path`` and the tidy table to ``<stem>.tidy.csv``.

    Raises:
        UnknownNameError: unknown format.
    """
    if fmt not in EXPORT_FORMATS:
        raise unknown_name("format", fmt, EXPORT_FORMATS)
    path = Path(path)
    if fmt == "csv":
        write_text_atomic(path, board.wide().to_csv(index=False))
        write_text_atomic(path.with_name(path.stem + ".tidy.csv"), board.tidy.to_csv(index=False))
    elif fmt == "latex":
        write_text_atomic(path, board.to_latex())
    elif fmt == "md":
        write_text_atomic(path, board.to_markdown())
    else:
        page = (
            '<!DOCTYPE html><html><head><meta charset="utf-8"><title>disbench leaderboard</title>'
            f"<style>{TABLE_CSS}</style></head><body>{board.to_html()}</body></html>\n"
        )
        write_text_atomic(path, page)
    return path


TABLE_CSS = (
    "table.leaderboard{border-collapse:collapse;margin:1em 0;font:14px sans-serif}"
    "table.leaderboard caption{caption-side:top;text-align:left;padding:.4em 0;max-width:60em}"
    "table.leaderboard th,table.leaderboard td{border-bottom:1px solid #ccc;padding:.25em .6em;text-align:right}"
    "table.leaderboard td:nth-child(-n+3),table.leaderboard th:nth-child(-n+3){text-align:left}"
)
