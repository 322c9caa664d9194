"""Leaderboards: aggregate the completed runs over seeds, claim only what the seeds support, export.

For every (dataset, profile, metric preset) group and every row (a baseline preset, or a
sanity representation) the headline score of each metric is aggregated over seeds: mean,
sample standard deviation (ddof 1; NaN for one seed), a 95% Student-t confidence interval
of the mean (:func:`disbench.stats.mean_ci`; NaN for one seed) and the metric's own
sampling noise (``<metric>.noise_std`` of each run's ``metrics.json``: the spread of the
score over a few metric seeds on the same model, root-mean-square over the row's runs).

Trained baselines are ranked per metric within their group *and supervision* (rows with
different supervision are never compared), direction-aware (higher is better except FID/KID,
where lower is better), and a value is **bold** only when it is the best mean *and*
significantly better than every other row of its supervision group
(:func:`disbench.stats.compare_rows`, the rule written once as :data:`disbench.stats.RULE`:
Welch's t-test over seeds, Holm over the k − 1 comparisons with the best, α = 0.05;
differences within the metric's noise floor or under :data:`disbench.stats.RESOLUTION` are
never significant); when there is no such winner the rows not significantly worse than the
best are marked as tied (†). A row with a missing (NaN) seed is marked ‡, its mean and CI
are over its finite seeds, and it is never bold. With one seed nothing is bold and the
caption says why. The sanity rows (ground truth, PCA, ICA, raw pixels) are shown beneath as
references and are not ranked. A metric computed in a named variant (``<metric>.variant``
in ``metrics.json``, e.g. DCI-ES's explicitness) carries the variant in every header.

Exports are views of one table: CSV (wide: one row per model with mean/std/CI/rank/noise
columns per metric; and the tidy table, one row per model × metric, as
``<stem>.tidy.csv``), LaTeX (booktabs only, pure ASCII; compact by default: short labels,
± std on a second line, representations in a note, one column of a two-column paper),
Markdown (GitHub tables, cells escaped) and HTML.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from disbench import stats
from disbench.errors import unknown_name
from disbench.escape import latex_escape, markdown_escape
from disbench.io import write_text_atomic
from disbench.results import RunRecord, row_name

# metric registry name -> (label, LaTeX label, compact LaTeX label)
METRIC_LABELS = {
    "beta_vae": ("β-VAE", r"$\beta$-VAE", r"$\beta$-VAE"),
    "factor_vae": ("FactorVAE", "FactorVAE", "FVAE"),
    "mig": ("MIG", "MIG", "MIG"),
    "dci": ("DCI", "DCI", "DCI"),
    "sap": ("SAP", "SAP", "SAP"),
    "modularity": ("Modularity", "Modularity", "Mod."),
    "fid": ("FID", "FID", "FID"),
    "kid": ("KID", "KID", "KID"),
    "fid_inception": ("FID (Inception)", "FID (Inception)", r"FID$_\mathrm{Inc}$"),
    "irs": ("IRS", "IRS", "IRS"),
    "dci_es": ("DCI-ES E", "DCI-ES $E$", "$E$"),
    "infomec": ("InfoM", "InfoM", "InfoM"),
    "udr": ("UDR", "UDR", "UDR"),
    "downstream_lr": ("Downstream LR", "Downstream LR", r"DS$_\mathrm{LR}$"),
    "downstream_gbt": ("Downstream GBT", "Downstream GBT", r"DS$_\mathrm{GBT}$"),
    "reduced_downstream": ("Reduced downstream", "Reduced downstream", "RDS"),
    "strong_downstream": ("Strong downstream", "Strong downstream", "SDS"),
    "fairness": ("Unfairness", "Unfairness", "Unfair."),
    "unified": ("Unified MIG (MI)", "Unified MIG (MI)", "U-MIG"),
    "unsupervised": ("Gaussian TC", "Gaussian TC", "TC"),
}
# FID, KID, the codes' Gaussian total correlation (disentanglement_lib's unsupervised score), the
# unfairness (Locatello et al. 2019b) and the reduced downstream task's accuracy on the reduced factor
LOWER_IS_BETTER = frozenset({"fid", "kid", "fid_inception", "unsupervised", "fairness", "reduced_downstream"})
# units of the generative scores on the standardised factor-network features (disbench.metrics.fid):
# FID in squared real-standard-deviation units, KID on the same z-scored features
UNITS = {"fid": ("σ²", r"$_{\sigma^2}$"), "kid": ("z", r"$_{z}$")}
UNITS_WORDS = ("FID (σ²) and KID (z) are computed on the factor classifier's features z-scored by the real images' "
               "per-feature mean and standard deviation: FID in squared real-standard-deviation units (0 = identical, "
               "features frozen at the real mean ≈ the number of features).")
METRIC_PRESET_WORDS = {
    "quick": "the quick metric preset (smaller documented sample sizes)",
    "default": "each metric's reference defaults",
}
GROUP = ["dataset", "profile", "metric_preset"]
ROW = ["kind", "name"]
EXPORT_FORMATS = {"csv": ".csv", "latex": ".tex", "md": ".md", "html": ".html"}
TIE_MARK = "†"
MISSING_MARK = "‡"  # a row with a missing (NaN) seed
COMPARE = [*GROUP, "supervision", "metric", "variant"]  # rows compared with each other (stats.RULE)
# compact LaTeX: labels of the long sanity-row names (the note under the table spells them out)
COMPACT_LABELS = {"Ground-truth factors": "GT factors", "Raw pixels": "Pixels"}
COMPACT_LABEL_CHARS = 8  # longer compact labels take two lines (the mean's and the ± std's)
# compact LaTeX width check: \columnwidth of the reference layout (article, twocolumn, 10 pt) and
# the advance of one character of the table's text, in pt (Computer Modern at \scriptsize = 7 pt
# and \tiny = 5 pt, digits 0.57 em / 0.68 em wide; letters average about the same), a
# rough estimate (within 7 % of pdflatex's width on the boards of tests/test_exports.py), so a table
# is scaled when the estimate passes FIT_SHARE of the column
COLUMN_WIDTH_PT = 229.5
FIT_SHARE = 0.9
SCRIPTSIZE_CHAR_PT = 4.1
TINY_CHAR_PT = 3.5
TABCOLSEP_PT = 1.5


def lower_is_better(metric: str) -> bool:
    """True for metrics where a lower score is better (:data:`LOWER_IS_BETTER`)."""
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

    Columns: run_id, kind, name (the row, :func:`disbench.results.row_name`: a run that changes
    its preset's settings, ``beta_vae+beta=1``, is a row of its own), display_name, model,
    supervision, representation, dataset, profile, metric_preset, seed, metric, value, noise_std (the run's
    ``<metric>.noise_std``, NaN if not measured), unit, variant (the run's ``<metric>.variant``, "" when the
    metric has one form), data_source (where the observations came
    from, :func:`data_source`), scikit_learn (its version; "" for runs scored before
    either was recorded), model_num (a study run's reference number, ``run.json``; None
    otherwise) and shortfall (``"<display name>: <words>"`` when the run's profile declares
    ``shortfall``, :func:`shortfall`; else ""). Sanity rows carry the profile of the trained runs of their group
    (they are not trained, so they fit every profile).
    """
    columns = ["run_id", "kind", "name", "display_name", "model", "supervision", "representation",
               "dataset", "profile", "metric_preset", "seed", "metric", "value", "noise_std", "unit", "variant",
               "data_source", "scikit_learn", "model_num", "shortfall"]  # fmt: skip
    rows = []
    for r in records:
        if r.state != "completed" or not r.metrics:
            continue
        for metric, value in headline_scores(r.metrics).items():
            noise = r.metrics.get(f"{metric}.noise_std")
            rows.append(
                {
                    "run_id": r.run_id, "kind": r.kind, "name": row_name({**r.spec, "name": r.name}),
                    "display_name": r.spec.get("display_name", r.name), "model": r.model,
                    "supervision": r.spec.get("supervision", ""), "representation": r.spec.get("representation", ""),
                    "dataset": r.dataset, "profile": r.profile,
                    "metric_preset": r.metrics.get("metric_preset", r.metric_preset or "default"),
                    "seed": r.seed, "metric": metric, "value": value,
                    "noise_std": float(noise) if isinstance(noise, int | float) else math.nan,
                    "unit": _unit(metric, r.metrics), "variant": str(r.metrics.get(f"{metric}.variant", "")),
                    "data_source": data_source(r.metrics), "scikit_learn": r.metrics.get("env.scikit_learn", ""),
                    "model_num": r.spec.get("model_num"),
                    "shortfall": shortfall(r.spec),
                }
            )  # fmt: skip
    long = pd.DataFrame(rows, columns=columns)
    if long.empty:
        return long
    # sanity rows join the groups (dataset, metric preset) of the trained profiles
    trained = long[long.kind == "train"][["dataset", "metric_preset", "profile"]].drop_duplicates()
    sanity = long[long.kind == "sanity"].drop(columns="profile").merge(trained, on=["dataset", "metric_preset"])
    return pd.concat([long[long.kind == "train"], sanity], ignore_index=True)


def shortfall(spec: dict) -> str:
    """``"<display name>: <words>"`` when the run's profile (``spec["config"]``) declares
    ``shortfall``: what its preset says the row misses, measured, of the quick-row quality bar
    (``benchmarks/quick_profile_quality.py``) or of its method in the time it has; "" otherwise."""
    words = (spec.get("config") or {}).get("shortfall", "")
    return f"{spec.get('display_name', '')}: {words}" if words else ""


def _unit(metric: str, metrics: dict) -> str:
    """The unit of a score ("" when none applies or the run predates the standardised features)."""
    scaling = metrics.get(f"{metric}.feature_scaling", metrics.get("fid.feature_scaling"))
    return UNITS[metric][0] if metric in UNITS and scaling == "real z-score" else ""


def data_source(metrics: dict) -> str:
    """Words for where a run's observations came from (its ``dataset.*`` provenance keys)."""
    source = metrics.get("dataset.source")
    if source == "procedural":
        return "procedural render"
    if source == "file":
        match = {True: "matches the manifest", False: "differs from the manifest"}.get(
            metrics.get("dataset.sha256_matches_manifest"), "the manifest publishes none")
        return f"published file {metrics.get('dataset.file', '')} (sha256 {str(metrics.get('dataset.sha256', ''))[:12]}, {match})"
    if source == "object":
        return f"dataset object {metrics.get('dataset.class', '')}"
    return ""


def _joined(values) -> str:
    return "; ".join(sorted({v for v in values if v}))


def aggregate(long: pd.DataFrame, *, alpha: float = stats.ALPHA) -> pd.DataFrame:
    """Tidy leaderboard: one row per group × row × metric.

    Columns: dataset, profile, metric_preset, kind, name, display_name, supervision,
    representation, metric, variant, mean (arithmetic mean over the finite seeds), std,
    ci_low, ci_high (95% Student-t, centred on ``mean``), n (finite seeds), missing (seeds
    whose score is NaN or absent while the row's other metrics have it: the row is marked and
    never bold), seeds (every seed of the row, comma-separated), noise_std
    (metric sampling noise, RMS over the row's runs; NaN if not measured), values (the
    per-seed scores, comma-separated in seed order, ``nan`` kept), rank (1 = best mean among
    the trained rows of the same group and supervision; NaN for sanity rows), bold (best and
    significantly better than every other row of its supervision, :func:`disbench.stats.compare_rows`),
    tied (not significantly worse than the best, when there is no winner), p_vs_best
    (Holm-adjusted Welch p-value against the best row), verdict
    (:class:`disbench.stats.ColumnVerdict` reason of the column), lower_is_better,
    data_source, scikit_learn and shortfall (of the whole group: every distinct value, joined
    by "; "), model_nums (the runs' reference numbers in seed order, e.g. disentanglement_lib's
    model_num of a study run; "" for other runs).
    """
    if "variant" not in long.columns:
        long = long.assign(variant="")
    keys = [*GROUP, *ROW, "display_name", "supervision", "representation", "metric", "variant"]
    # the seeds of a row over all its metrics: a seed scored for some metrics but not this one is missing here
    row_seeds = long.groupby([*GROUP, *ROW], sort=False)["seed"].agg(lambda x: sorted(set(x)))
    rows = []
    for key, g in long.groupby(keys, sort=False, dropna=False):
        by_seed = dict(zip(g["seed"], g["value"].astype(float)))
        seeds = row_seeds[tuple(key[: len(GROUP) + len(ROW)])]
        all_values = np.array([by_seed.get(s, math.nan) for s in seeds], dtype=float)
        values = all_values[~np.isnan(all_values)]  # a missing seed: marked, the statistics over the others
        noise = g["noise_std"].to_numpy(dtype=float)
        low, high = stats.mean_ci(values)
        rows.append({
            **dict(zip(keys, key)),
            "mean": float(values.mean()) if values.size else math.nan,
            "std": float(values.std(ddof=1)) if values.size > 1 else math.nan,
            "ci_low": low, "ci_high": high, "n": int(values.size), "missing": int(all_values.size - values.size),
            "seeds": ",".join(str(s) for s in seeds),
            "noise_std": float(np.sqrt(np.mean(noise**2))) if not np.isnan(noise).all() else math.nan,
            "values": ",".join(repr(float(v)) for v in all_values),
            "unit": g["unit"].iloc[0] if g["unit"].nunique() == 1 else "",
            "model_nums": ",".join(str(int(n)) for n in g.sort_values("seed")["model_num"] if n is not None and n == n)
            if "model_num" in g else "",
        })  # fmt: skip
    tidy = pd.DataFrame(rows)
    if {"data_source", "scikit_learn", "shortfall"} <= set(long.columns):
        prov = long.groupby(GROUP, sort=False)[["data_source", "scikit_learn", "shortfall"]].agg(_joined).reset_index()
        tidy = tidy.merge(prov, on=GROUP, how="left")
    tidy["lower_is_better"] = tidy["metric"].map(lower_is_better)
    tidy["rank"] = math.nan
    tidy["bold"] = False
    tidy["tied"] = False
    tidy["p_vs_best"] = math.nan
    tidy["verdict"] = ""
    trained = tidy["kind"] == "train"
    for _, idx in tidy[trained].groupby(COMPARE, dropna=False).groups.items():
        part = tidy.loc[idx]
        lower = bool(part["lower_is_better"].iloc[0])
        tidy.loc[idx, "rank"] = part["mean"].rank(ascending=lower, method="min")
        verdict = stats.compare_rows({n: _values(v) for n, v in zip(part["name"], part["values"])},
                                     higher_is_better=not lower, alpha=alpha,
                                     noise_std=dict(zip(part["name"], part["noise_std"])))  # fmt: skip
        tidy.loc[idx, "bold"] = part["name"].eq(verdict.winner).to_numpy()
        tidy.loc[idx, "tied"] = part["name"].isin(verdict.tied).to_numpy()
        tidy.loc[idx, "p_vs_best"] = [verdict.p_vs_top(n) for n in part["name"]]
        tidy.loc[idx, "verdict"] = verdict.reason
    return tidy


def _values(text: str) -> list[float]:
    return [float(v) for v in text.split(",")] if text else []


def _metric_order(metrics) -> list[str]:
    known = [m for m in METRIC_LABELS if m in set(metrics)]
    return known + sorted(set(metrics) - set(known))


@dataclass(frozen=True)
class Cell:
    """One displayed score: the centre (``mean``), its spread and its mark.

    ``std`` (NaN for one seed) is shown as ``± std``; a table of medians (a study's
    median/IQR table) gives ``interval`` = (first, third quartile) instead, shown as
    ``[q1, q3]``. ``missing``: the row has a seed without a score (shown with ‡).
    """

    mean: float
    std: float
    bold: bool = False
    tied: bool = False
    interval: tuple[float, float] | None = None
    missing: bool = False  # some seed has no score (NaN): marked ‡, never bold


@dataclass(frozen=True)
class Row:
    """One model's line: its names, supervision ("" for sanity rows), representation, and a
    :class:`Cell` (or None: not scored) per metric of its table."""

    name: str
    display: str
    supervision: str
    representation: str
    trained: bool
    cells: list[Cell | None]


@dataclass(frozen=True)
class Table:
    """One group's display table, the object every writer renders: trained rows first (by
    name), then the sanity rows."""

    key: tuple
    metrics: list[str]
    rows: list[Row]
    caption: str
    units: list[str] = field(default_factory=list)  # per metric, "" when none (or the rows disagree)
    variants: list[str] = field(default_factory=list)  # per metric, the named variant ("" when it has one form)

    @property
    def n_trained(self) -> int:
        return sum(r.trained for r in self.rows)


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
        (mean), ``<m>_std``, ``<m>_ci_low``, ``<m>_ci_high``, ``<m>_noise``, ``<m>_rank``,
        ``<m>_bold``, ``<m>_tied``, ``<m>_p_vs_best``, ``<m>_missing`` (seeds without a score) and
        ``<m>_variant`` (the metric's named variant, "" when it has one form)."""
        stat_cols = {"std": "std", "ci_low": "ci_low", "ci_high": "ci_high", "noise": "noise_std", "rank": "rank",
                     "bold": "bold", "tied": "tied", "p_vs_best": "p_vs_best", "missing": "missing",
                     "variant": "variant"}  # fmt: skip
        rows = []
        for _, g in self.groups():
            metrics = _metric_order(g["metric"].unique())
            for _, part in _row_groups(g):
                first = part.iloc[0]
                row = {c: first[c] for c in [*GROUP, *ROW]}
                row.update(model=first["display_name"], supervision=first["supervision"],
                           representation=first["representation"], n_seeds=int(part["n"].max()))  # fmt: skip
                by_metric = part.set_index("metric")
                for m in metrics:
                    r = by_metric.loc[m] if m in by_metric.index else None
                    row[m] = math.nan if r is None else r["mean"]
                    for out, col in stat_cols.items():
                        row[f"{m}_{out}"] = math.nan if r is None or col not in r.index else r[col]
                rows.append(row)
        return pd.DataFrame(rows)

    def tables(self) -> list[Table]:
        """The display table of every group (what the writers render)."""
        out = []
        for key, g in self.groups():
            metrics = _metric_order(g["metric"].unique())
            rows = []
            for (_, name), part in _row_groups(g):
                first = part.iloc[0]
                by_metric = part.set_index("metric")
                cells = [_cell(by_metric.loc[m]) if m in by_metric.index else None for m in metrics]
                trained = first["kind"] == "train"
                rows.append(Row(name, first["display_name"], first["supervision"] if trained else "",
                                first["representation"], trained, cells))  # fmt: skip
            units = [_common_unit(g[g["metric"] == m]["unit"]) for m in metrics]
            variants = ["/".join(sorted(set(g.loc[g["metric"] == m, "variant"]) - {""})) if "variant" in g else ""
                        for m in metrics]  # fmt: skip
            out.append(Table(key, metrics, rows, self.caption(key), units, variants))
        return out

    def rank_scores(self, key, supervision: str | None = None) -> tuple[pd.DataFrame, dict[str, bool]]:
        """Blocks × models table of one group for :func:`disbench.stats.rank_summary`: one row
        per metric (the mean over seeds), one column per trained model (display name), and
        per metric whether higher is better. Metrics some model lacks are left out.
        ``supervision``: only the trained rows of that supervision (rows of different
        supervision are never compared, :data:`disbench.stats.RULE`)."""
        g = self.tidy[(self.tidy[GROUP] == pd.Series(key, index=GROUP)).all(axis=1) & (self.tidy["kind"] == "train")]
        if supervision is not None:
            g = g[g["supervision"] == supervision]
        scores = g.pivot_table(index="metric", columns="display_name", values="mean", aggfunc="first")
        scores = scores.reindex(_metric_order(scores.index)).dropna(axis=0, how="any")
        return scores, {m: not lower_is_better(m) for m in scores.index}

    def caption(self, key) -> str:
        """Plain-text caption of one group: dataset, profile, seeds, metric preset, what bold and
        † mean (or why nothing is bold), which of seed spread and metric noise dominates, directions."""
        dataset, profile, metric_preset = key
        g = self.tidy[(self.tidy[GROUP] == pd.Series(key, index=GROUP)).all(axis=1)]
        trained = g[g["kind"] == "train"]
        seeds = sorted({int(s) for ss in g["seeds"] for s in ss.split(",")})
        settings = METRIC_PRESET_WORDS.get(metric_preset, f"the {metric_preset!r} metric preset")
        parts = [f"Disentanglement leaderboard on {dataset}: {profile} training profile, "
                 f"seeds {', '.join(map(str, seeds))}, metrics at {settings}."]  # fmt: skip
        if trained.empty or trained["n"].min() < 2:
            parts.append("One seed per model: a single seed supports no ranking (seed-to-seed differences can exceed "
                         "the gaps between models), so nothing is bold; run at least 2 seeds (3 or more for a "
                         "significance test with power).")  # fmt: skip
        else:
            parts.append(f"Mean ± standard deviation over seeds (95% Student-t CIs in the CSV export). "
                         f"{stats.RULE}")  # fmt: skip
        if "missing" in g and (g["missing"] > 0).any():
            parts.append(f"{MISSING_MARK}: some seed has no score (NaN); mean, std and CI over the other seeds; "
                         "never bold.")  # fmt: skip
        if "variant" in g:
            for m in _metric_order(g.loc[g["variant"] != "", "metric"].unique()):
                variants = sorted(set(g.loc[(g["metric"] == m) & (g["variant"] != ""), "variant"]))
                parts.append(f"{METRIC_LABELS.get(m, (m,))[0]} variant: {', '.join(variants)}"
                             f"{' — ' + _variant_words(m, variants[0]) if len(variants) == 1 else ''}.")  # fmt: skip
        if (g["unit"] != "").any():
            parts.append(UNITS_WORDS)
        noise = _noise_sentence(trained)
        if noise:
            parts.append(noise)
        provenance = [f"{label}: {g[col].iloc[0]}." for col, label in (("data_source", "Data"),
                                                                      ("scikit_learn", "scikit-learn"))
                      if col in g and isinstance(g[col].iloc[0], str) and g[col].iloc[0]]
        parts += provenance
        if "shortfall" in g and isinstance(g["shortfall"].iloc[0], str) and g["shortfall"].iloc[0]:
            parts.append("Known shortfalls of these rows, as their presets state them (measured against the quick-row "
                         "bar: β-VAE metric above the untrained network's, ≥ 2 active latents per VAE, FID (σ²) < 100; "
                         f"benchmarks/quick_profile_quality.py): {g['shortfall'].iloc[0]}.")
        parts.append("↑ higher is better, ↓ lower is better" + ("; the sanity rows beneath are references and not ranked."
                                                              if (g["kind"] != "train").any() else "."))
        return " ".join(parts)

    # --- writers ---------------------------------------------------------------------------
    def to_text(self) -> str:
        """The leaderboard as plain-text tables (one per group) for the terminal; ``*`` bold, † tied."""
        from tabulate import tabulate

        def cell(c):
            return "—" if c is None else _cell_text(c) + (" *" if c.bold else f" {TIE_MARK}" if c.tied else "") + _missing(c)

        out = []
        for t in self.tables():
            body = [[r.display, r.supervision or "—", r.representation, *map(cell, r.cells)] for r in t.rows]
            out.append(t.caption + "\n" + tabulate(body, _header(t.metrics, t.units, t.variants), tablefmt="simple", disable_numparse=True))
        return "\n\n".join(out)

    def to_markdown(self) -> str:
        """GitHub Markdown tables (:func:`markdown_tables`)."""
        return markdown_tables(self.tables())

    def to_latex(self, *, compact: bool = True, columns: Sequence[str] | None = None) -> str:
        """LaTeX tables (one per group) for pdflatex with ``booktabs`` (and ``graphicx`` when a
        table is scaled); pure ASCII.

        Scores are ``mean`` with ``± std`` on a second line in smaller type. ``compact``
        (default): short model labels with note marks, supervision and representation in a
        note under the table, for one column of a two-column paper; when the metric columns
        may not fit (estimated wider than :data:`FIT_SHARE` of :data:`COLUMN_WIDTH_PT`, ``article``'s two-column
        ``\\columnwidth``), the tabular is set in ``\\resizebox{\\columnwidth}{!}{...}`` (a
        comment says so), so ``\\input`` never overflows the column. Otherwise supervision and
        representation are columns, in a ``table*`` (full page width).

        Args:
            columns: the metrics to show (registry names, in this order); None: all.

        Raises:
            UnknownNameError: a ``columns`` entry that is not a metric of the board.
        """
        tables = select_columns(self.tables(), columns)
        scaled = compact and any(map(_too_wide, tables))
        header = ("% disbench leaderboard: needs \\usepackage{booktabs}"
                  + (" and \\usepackage{graphicx} (\\resizebox)" if scaled else " only")
                  + " (pdflatex, no other packages).\n"
                  "% Bold: best and significantly better than every other row of its supervision group; "
                  "\\dagger: not significantly worse than the best; \\ddagger: a seed without a score.\n")  # fmt: skip
        return header + latex_tables(tables, compact=compact)

    def to_html(self) -> str:
        """HTML tables (:func:`html_table`), the 95% CI, metric noise and p-value as a tooltip."""
        out = []
        for t, (_, g) in zip(self.tables(), self.groups()):
            out.append(html_table(t, {(r["name"], r["metric"]): _tooltip(r) for _, r in g.iterrows()}))
        return "\n".join(out)


def markdown_tables(tables: list[Table]) -> str:
    """GitHub Markdown tables, each under its caption: ``mean ± std`` (or ``median [q1, q3]``),
    the winner ``**bold**``, ties ``†``; every cell escaped with :func:`disbench.escape.markdown_escape`."""

    def cell(c):
        if c is None:
            return "—"
        text = _cell_text(c)
        return (f"**{text}**" if c.bold else f"{text} {TIE_MARK}" if c.tied else text) + _missing(c)

    out = []
    for t in tables:
        head = [markdown_escape(h) for h in _header(t.metrics, t.units, t.variants)]
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * 3 + ["--:"] * len(t.metrics)) + "|"]
        for r in t.rows:
            cells = [markdown_escape(x) for x in (r.display, r.supervision or "—", r.representation)]
            cells += [cell(c) for c in r.cells]
            lines.append("| " + " | ".join(cells) + " |")
        out.append(markdown_escape(t.caption) + "\n\n" + "\n".join(lines))
    return "\n\n".join(out) + "\n"


def html_table(t: Table, tips: dict | None = None) -> str:
    """One HTML table with its caption: the centre with ``± std`` (or ``[q1, q3]``) beneath in
    smaller type, the winner ``<b>``, ties †; ``tips`` maps (row name, metric) to a tooltip."""
    rows = []
    for r in t.rows:
        cells = [f"<td>{html.escape(x or '—')}</td>" for x in (r.display, r.supervision, r.representation)]
        for m, c in zip(t.metrics, r.cells):
            if c is None:
                cells.append("<td>—</td>")
                continue
            d = _decimals(c.mean)
            text = _fmt(c.mean, d)
            text = (f"<b>{text}</b>" if c.bold else f"{text} {TIE_MARK}" if c.tied else text) + _missing(c)
            if c.interval is not None:
                text += f'<br><span class="sd">[{_fmt(c.interval[0], d)}, {_fmt(c.interval[1], d)}]</span>'
            elif not math.isnan(c.std):
                text += f'<br><span class="sd">± {_fmt(c.std, d)}</span>'
            tip = (tips or {}).get((r.name, m))
            cells.append(f'<td title="{html.escape(tip)}">{text}</td>' if tip else f"<td>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    head = "".join(f"<th>{html.escape(h)}</th>" for h in _header(t.metrics, t.units, t.variants))
    return (f'<table class="leaderboard"><caption>{html.escape(t.caption)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")  # fmt: skip


def select_columns(tables: list[Table], columns: Sequence[str] | None) -> list[Table]:
    """``tables`` with only the metrics ``columns`` (in that order; a metric a table lacks is
    left out of it); None keeps them all.

    Raises:
        UnknownNameError: a column that no table has (the message lists the metrics there are).
    """
    if columns is None:
        return tables
    there = list(dict.fromkeys(m for t in tables for m in t.metrics))
    for c in columns:
        if c not in there:
            raise unknown_name("column", c, there)
    out = []
    for t in tables:
        keep = [t.metrics.index(c) for c in columns if c in t.metrics]
        rows = [replace(r, cells=[r.cells[i] for i in keep]) for r in t.rows]
        units = [t.units[i] for i in keep] if t.units else []
        variants = [t.variants[i] for i in keep] if t.variants else []
        out.append(replace(t, metrics=[t.metrics[i] for i in keep], rows=rows, units=units, variants=variants))
    return out


def latex_tables(tables: list[Table], *, compact: bool = True) -> str:
    """LaTeX tables for pdflatex with ``booktabs`` only (see :meth:`Leaderboard.to_latex`)."""
    return "\n\n".join(_latex_table(t, compact) for t in tables) + "\n"


def _common_unit(units: pd.Series) -> str:
    return units.iloc[0] if units.nunique() == 1 else ""


def _cell(r: pd.Series) -> Cell:
    return Cell(float(r["mean"]), float(r["std"]), bool(r["bold"]), bool(r["tied"]),
                missing=bool(r.get("missing", 0) > 0))


def _missing(c: Cell) -> str:
    return f" {MISSING_MARK}" if c.missing else ""


def _variant_words(metric: str, variant: str) -> str:
    """The metric module's words for one of its named variants (its ``VARIANTS`` dict), or ""."""
    import importlib

    try:
        module = importlib.import_module(f"disbench.metrics.{metric}")
    except ImportError:
        return ""
    return getattr(module, "VARIANTS", {}).get(variant, "")


def _row_groups(g: pd.DataFrame):
    """(order, name) -> tidy rows of one model, trained rows first (by name), then sanity rows."""
    order = g.assign(_o=(g["kind"] != "train").astype(int)).sort_values(["_o", "name"])
    return order.groupby(["_o", "name"], sort=False)


def _noise_sentence(trained: pd.DataFrame) -> str:
    """Which dominates per metric: the seed spread (median std over seeds) or the metric's own
    sampling noise (median noise std), over the trained rows; "" when noise was not measured."""
    seed_dom, noise_dom, noise_only = [], [], []
    for m in _metric_order(trained["metric"].unique()):
        part = trained[trained["metric"] == m]
        noise = part["noise_std"].median()
        if math.isnan(noise):
            continue
        label = METRIC_LABELS.get(m, (m,))[0]
        spread = part["std"].median()
        if math.isnan(spread):
            noise_only.append(f"{label} {_fmt(noise, _decimals(part['mean'].abs().median()))}")
        else:
            (seed_dom if spread > noise else noise_dom).append(label)
    if noise_only:
        return ("Metric sampling noise (std of the score over metric seeds on the same model, median over models): "
                + ", ".join(noise_only) + ".")  # fmt: skip
    if not seed_dom and not noise_dom:
        return ""
    said = []
    if seed_dom:
        said.append(f"the spread over training seeds dominates for {', '.join(seed_dom)}")
    if noise_dom:
        said.append(f"the metric's own sampling noise dominates for {', '.join(noise_dom)} "
                    "(differences there are mostly evaluation noise)")  # fmt: skip
    return ("Noise floor (median std over training seeds vs over metric seeds on the same model): "
            + "; ".join(said) + ".")  # fmt: skip


def _tooltip(r: pd.Series) -> str:
    parts = []
    if not math.isnan(r["ci_low"]):
        parts.append(f"95% CI [{r['ci_low']:.3g}, {r['ci_high']:.3g}]")
    if not math.isnan(r["noise_std"]):
        parts.append(f"metric noise ± {r['noise_std']:.2g}")
    if not math.isnan(r["p_vs_best"]):
        parts.append(f"p vs best (Holm) = {r['p_vs_best']:.3g}")
    return "; ".join(parts)


def _header(metrics: list[str], units: list[str] | None = None, variants: list[str] | None = None) -> list[str]:
    units = units or [""] * len(metrics)
    variants = variants or [""] * len(metrics)
    return ["Model", "Supervision", "Representation"] + [
        f"{METRIC_LABELS.get(m, (m,))[0]}{' (' + '; '.join(x for x in (v, u) if x) + ')' if v or u else ''} "
        f"{'↓' if lower_is_better(m) else '↑'}"
        for m, u, v in zip(metrics, units, variants)
    ]


def _decimals(mean: float) -> int:
    """Decimals shown for a score and its std: 3 below 10 (the [0, 1] metrics), 2 below 100, else 1."""
    return 3 if abs(mean) < 10 else 2 if abs(mean) < 100 else 1


def _fmt(x: float, decimals: int) -> str:
    return "nan" if math.isnan(x) else f"{x:.{decimals}f}"


def _cell_text(c: Cell) -> str:
    if c.interval is None:
        return _plain(c.mean, c.std)
    d = _decimals(c.mean)
    return f"{_fmt(c.mean, d)} [{_fmt(c.interval[0], d)}, {_fmt(c.interval[1], d)}]"


def _plain(mean: float, std: float) -> str:
    d = _decimals(mean)
    return _fmt(mean, d) if math.isnan(std) else f"{_fmt(mean, d)} ± {_fmt(std, d)}"


# --- LaTeX -----------------------------------------------------------------------------------
def _compact_number(x: float, decimals: int) -> str:
    """``_fmt`` without the leading zero of |x| < 1 (``0.784`` -> ``.784``), as papers print scores."""
    text = _fmt(x, decimals)
    return text.replace("0.", ".", 1) if text.startswith(("0.", "-0.")) else text


def _latex_mean(c: Cell) -> str:
    text = _compact_number(c.mean, _decimals(c.mean))
    marks = (r"\dagger" if c.tied and not c.bold else "") + (r"\ddagger" if c.missing else "")
    text = rf"\mathbf{{{text}}}" if c.bold else text
    if not marks:
        return f"${text}$"
    return f"${text}^{marks}$" if marks.count("\\") == 1 else f"${text}^{{{marks}}}$"


def _latex_spread(c: Cell | None) -> str:
    """The second line of a LaTeX cell: ``± std`` or ``[q1, q3]`` in small type; "" for none."""
    if c is None:
        return ""
    d = _decimals(c.mean)
    if c.interval is not None:
        return r"{\tiny[" + ", ".join(_compact_number(q, d) for q in c.interval) + "]}"
    return "" if math.isnan(c.std) else r"{\tiny$\pm$" + _compact_number(c.std, d) + "}"


def _split_label(label: str, width: int = COMPACT_LABEL_CHARS) -> tuple[str, str]:
    """A compact label longer than ``width`` characters, split at the space nearest its middle
    into two lines (``"Stacked GAN"`` -> ``"Stacked"``, ``"GAN"``); else ``(label, "")``."""
    spaces = [i for i, c in enumerate(label) if c == " "]
    if len(label) <= width or not spaces:
        return label, ""
    cut = min(spaces, key=lambda i: abs(i - len(label) / 2))
    return label[:cut], label[cut + 1 :]


def _metric_heads(t: Table, compact: bool) -> list[str]:
    # compact heads: only the lower-is-better columns carry an arrow (the note says so)
    return [METRIC_LABELS.get(m, (m, latex_escape(m), latex_escape(m)))[2]
            + (UNITS[m][1] if u and m in UNITS else "")
            + (r"$_\mathrm{" + latex_escape(v) + "}$" if v else "")
            + (r"$\downarrow$" if lower_is_better(m) else "" if compact else r"$\uparrow$")
            for m, u, v in zip(t.metrics, t.units or [""] * len(t.metrics),
                               t.variants or [""] * len(t.metrics))]  # fmt: skip


def _compact_label(r: Row) -> tuple[list[str], list[str]]:
    """A compact row's label cell on the mean's line and on the ± line (a long label continues there)."""
    label, rest = _split_label(COMPACT_LABELS.get(r.display, r.display))
    return [latex_escape(label)], [latex_escape(rest)]


def _tex_text_width(cell: str) -> float:
    """Estimated width in pt of one cell the compact writer sets: ``{\\tiny ...}`` parts at
    :data:`TINY_CHAR_PT` a character, the rest at :data:`SCRIPTSIZE_CHAR_PT`; a control word
    (``\\beta``, ``\\dagger``) counts as one character, ``\\mathbf``/``\\mathrm``/``\\tiny`` as none,
    and ``$ ^ _ { }`` as none."""
    tiny = "".join(re.findall(r"\{\\tiny(.*?)\}$", cell))
    rest = re.sub(r"\{\\tiny.*?\}$", "", cell)

    def chars(text: str) -> int:
        text = re.sub(r"\\(mathbf|mathrm|tiny|scriptsize)\b", "", text)
        text = re.sub(r"\\[a-zA-Z]+", "x", text)
        return len(re.sub(r"[$^_{}]", "", text))

    return chars(rest) * SCRIPTSIZE_CHAR_PT + chars(tiny) * TINY_CHAR_PT


def _latex_width(t: Table) -> float:
    """Estimated natural width in pt of ``t``'s compact tabular (``@{}`` at both ends,
    :data:`TABCOLSEP_PT` either side of every inner column boundary)."""
    columns = [["Model"]] + [[h] for h in _metric_heads(t, True)]
    for r in t.rows:
        first, second = _compact_label(r)
        columns[0] += first + second
        for j, c in enumerate(r.cells):
            columns[j + 1] += [_latex_mean(c), _latex_spread(c)] if c else ["---"]
    return sum(max(map(_tex_text_width, col)) for col in columns) + 2 * TABCOLSEP_PT * (len(columns) - 1)


def _too_wide(t: Table) -> bool:
    return _latex_width(t) > FIT_SHARE * COLUMN_WIDTH_PT


def _latex_table(t: Table, compact: bool) -> str:
    label = r"\label{tab:disbench-" + "-".join(re.sub(r"[^A-Za-z0-9]", "", str(k)) for k in t.key) + "}"
    lines = [r"\begin{table}[t]" if compact else r"\begin{table*}[t]", r"\centering",
             r"\caption{" + latex_escape(t.caption) + "}", label, r"\scriptsize", r"\setlength{\tabcolsep}{1.5pt}"]
    metric_heads = _metric_heads(t, compact)
    scaled = compact and _too_wide(t)
    if scaled:
        lines += [f"% {len(t.metrics)} metric columns may not fit a {COLUMN_WIDTH_PT:g} pt \\columnwidth (estimated "
                  f"{_latex_width(t):.0f} pt): scaled to \\columnwidth; choose fewer with --columns",
                  r"\resizebox{\columnwidth}{!}{%"]  # fmt: skip
    if compact:
        lines.append(r"\begin{tabular}{@{}l" + "r" * len(t.metrics) + "@{}}")
        head = ["Model", *metric_heads]
    else:
        lines.append(r"\begin{tabular}{@{}llp{0.3\textwidth}" + "r" * len(t.metrics) + "@{}}")
        head = ["Model", "Supervision", "Representation", *metric_heads]
    lines += [r"\toprule", " & ".join(head) + r" \\", r"\midrule"]
    notes = []
    for i, r in enumerate(t.rows):
        if i == t.n_trained and i > 0:
            lines.append(r"\midrule")
        means = [_latex_mean(c) if c else "---" for c in r.cells]
        stds = [_latex_spread(c) for c in r.cells]
        if compact:
            short = COMPACT_LABELS.get(r.display, r.display)
            said = short + (f" = {r.display}" if short != r.display else "")
            said += (f" (supervision: {r.supervision})" if r.supervision else "") + f": {r.representation}"
            notes.append(latex_escape(said))
            first, second = _compact_label(r)
        else:
            first = [latex_escape(r.display), latex_escape(r.supervision or "—"), latex_escape(r.representation)]
            second = [""] * len(first)
        lines.append(" & ".join(first + means) + r" \\")
        if any(stds) or any(second):
            lines.append(" & ".join(second + stds) + r" \\[1pt]")
    lines += [r"\bottomrule", r"\end{tabular}" + ("}" if scaled else "")]
    abbrev = [f"{METRIC_LABELS[m][2]}: {latex_escape(METRIC_LABELS[m][0])} metric" for m in t.metrics
              if m in METRIC_LABELS and METRIC_LABELS[m][2] != METRIC_LABELS[m][1]]  # fmt: skip
    if compact:
        abbrev.append(r"higher is better except $\downarrow$")
    if notes or abbrev:
        lines += [r"\par\smallskip", r"\parbox{\linewidth}{\tiny\raggedright " + "; ".join(notes + abbrev) + ".}"]
    lines.append(r"\end{table}" if compact else r"\end{table*}")
    return "\n".join(lines)


def build_leaderboard(records: Iterable[RunRecord], *, alpha: float = stats.ALPHA) -> Leaderboard:
    """Aggregate ``records`` (completed ones; others are ignored) into a :class:`Leaderboard`."""
    long = collect(records)
    return Leaderboard(aggregate(long, alpha=alpha) if not long.empty else pd.DataFrame())


def export_leaderboard(board: Leaderboard, path: str | Path, fmt: str, *, compact: bool = True,
                       columns: Sequence[str] | None = None) -> Path:  # fmt: skip
    """Write ``board`` to ``path`` as ``fmt`` (csv, latex, md, html), atomically.

    ``csv`` writes the wide table to ``path`` and the tidy table to ``<stem>.tidy.csv``;
    ``compact`` and ``columns`` apply to LaTeX (see :meth:`Leaderboard.to_latex`).

    Raises:
        UnknownNameError: unknown format; a ``columns`` entry that is not a metric of the board.
    """
    if fmt not in EXPORT_FORMATS:
        raise unknown_name("format", fmt, EXPORT_FORMATS)
    path = Path(path)
    if fmt == "csv":
        write_text_atomic(path, board.wide().to_csv(index=False))
        write_text_atomic(path.with_name(path.stem + ".tidy.csv"), board.tidy.to_csv(index=False))
    elif fmt == "latex":
        write_text_atomic(path, board.to_latex(compact=compact, columns=columns))
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
    "table.leaderboard td{white-space:nowrap}table.leaderboard td:nth-child(3){white-space:normal;min-width:14em}"
    "table.leaderboard .sd{font-size:11px;color:#555}"
)
