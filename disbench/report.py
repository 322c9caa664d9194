"""The HTML report: one self-contained page (every image embedded as base64 PNG or GIF).

Sections: the leaderboard (:mod:`disbench.leaderboard`); per metric the per-seed scores of
each trained model (strip plot) beside the mean and its 95% Student-t CI; the average rank
of the trained models over the metrics with a critical-difference diagram (Demšar 2006:
Friedman test, Nemenyi CD; :mod:`disbench.stats`); per-factor heat-maps (models × factors,
values in the cells) of the MIG gaps (Chen et al. 2018, Eq. 6 per factor) and SAP gaps, mean
over seeds; the DCI importance matrices
(Eastwood & Williams 2018, codes × factors) as heat-maps, wrapped in rows of
:data:`HEATMAPS_PER_ROW`; and per run its training curves (``train_log.csv``) and the
sample, latent-traversal (still and animated) and reconstruction images the training core
saved; and the sections the caller adds (``disbench report`` adds the analysis of every study
in the store, :mod:`disbench.study.analysis`). Figures are made with matplotlib's Agg backend
and scale to the page width. Every row (model or sanity row) keeps one colour on the whole
page (:func:`model_colours`: points, labels, panel titles, run headings).
"""

from __future__ import annotations

import base64
import csv
import html
import io
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from disbench import __version__, stats
from disbench.io import read_json, write_text_atomic
from disbench.leaderboard import (
    GROUP,
    METRIC_LABELS,
    TABLE_CSS,
    Leaderboard,
    build_leaderboard,
    lower_is_better,
)
from disbench.results import RUNS_DIR, RunRecord

RUN_IMAGES = (("samples.png", "samples"), ("traversals.png", "latent traversals"),
              ("traversals.gif", "animated latent traversals"), ("reconstructions.png", "reconstructions"))  # fmt: skip
PER_FACTOR_KEYS = (("mig.per_factor", "MIG gap per factor"), ("sap.per_factor", "SAP gap per factor"))
IMPORTANCE_KEY = "dci.importance_matrix"
MAX_HEATMAP_CODES = 64
HEATMAPS_PER_ROW = 6
# the tab20b shades palette() adds to tab10: the darkest of each hue, then a lighter one of each
PALETTE_TAB20B = (0, 4, 8, 12, 16, 2, 6, 10, 14, 18)
STRIPS_PER_ROW = 4
PAGE_CSS = (
    "body{font:14px sans-serif;margin:2em;max-width:80em}h2{border-bottom:1px solid #999}"
    ".run{margin:1em 0 2em}.run img{margin:.3em;vertical-align:top;border:1px solid #ddd}"
    ".error{color:#a00}figure{display:inline-block;margin:.3em;max-width:100%}figcaption{font-size:12px;max-width:60em}"
    "img{max-width:100%;height:auto}"
)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _embed(data: bytes, alt: str, width: int | None = None, mime: str = "image/png") -> str:
    w = f' width="{width}"' if width else ""
    return f'<img alt="{html.escape(alt)}"{w} src="data:{mime};base64,{base64.b64encode(data).decode()}">'


def _figure_png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    _plt().close(fig)
    return buf.getvalue()


def _factor_names(records: list[RunRecord], k: int) -> list[str]:
    """Factor names from the dataset's manifest (``datasets/<name>.toml``), else ``factor 0..k-1``."""
    from disbench.resources import manifests_dir, read_toml

    path = manifests_dir() / f"{records[0].dataset}.toml"
    names = read_toml(path).get("factor_names", []) if path.is_file() else []
    return list(names) if len(names) == k else [f"factor {i}" for i in range(k)]


def model_colours(records: Iterable[RunRecord]) -> dict[str, str]:
    """One colour per row of the page (display name -> hex), used by every figure of the report.

    Trained rows first, then the sanity rows, each in sorted order, take the colours of
    :data:`PALETTE` in turn (:func:`palette`: 20 colours; beyond 20 rows they repeat, and the
    rows keep their direct text labels)."""
    records = list(records)
    trained = sorted({r.spec.get("display_name", r.name) for r in records if r.kind == "train"})
    others = sorted({r.spec.get("display_name", r.name) for r in records if r.kind != "train"} - set(trained))
    colours = palette()
    return {name: colours[i % len(colours)] for i, name in enumerate(trained + others)}


def palette() -> list[str]:
    """:data:`PALETTE`: matplotlib's ``tab10`` (10 colours), then ``tab20b``'s darkest shade of
    each of its five hues and five further shades of them, as hex: 20 categorical colours that
    all read as text on white."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    tab10, tab20b = colormaps["tab10"].colors, colormaps["tab20b"].colors
    return [to_hex(c) for c in tab10] + [to_hex(tab20b[i]) for i in PALETTE_TAB20B]


def per_factor_figure(records: list[RunRecord], key: str, title: str,
                      colours: dict[str, str] | None = None) -> bytes | None:  # fmt: skip
    """Heat-map of ``metrics[key]`` (a per-factor list, e.g. MIG's gaps): one row per model
    (mean over its seeds), one column per factor, the value printed in each cell; each row
    label in the model's colour (``colours``, :func:`model_colours`) beside a swatch of it."""
    by_row: dict[str, list[np.ndarray]] = {}
    for r in records:
        values = (r.metrics or {}).get(key)
        if isinstance(values, list) and values:
            by_row.setdefault(r.spec.get("display_name", r.name), []).append(np.asarray(values, dtype=float))
    if not by_row:
        return None
    k = max(len(v[0]) for v in by_row.values())
    colours = colours or model_colours(records)
    names = [n for n in colours if n in by_row] + [n for n in by_row if n not in colours]  # trained, then sanity
    matrix = np.array([np.mean([v for v in by_row[n] if len(v) == k], axis=0) if any(len(v) == k for v in by_row[n])
                       else np.full(k, np.nan) for n in names])  # fmt: skip
    plt = _plt()
    fig, ax = plt.subplots(figsize=(1.9 + 0.85 * k, 0.9 + 0.3 * len(names)))
    top = float(np.nanmax(matrix)) if np.isfinite(matrix).any() else 1.0
    im = ax.imshow(matrix, cmap="viridis", vmin=0.0, vmax=max(top, 1e-12), aspect="auto")
    for i in range(len(names)):
        for j in range(k):
            v = matrix[i, j]
            ax.text(j, i, "—" if np.isnan(v) else f"{v:.2f}", ha="center", va="center", fontsize=7,
                    color="black" if not np.isnan(v) and v > 0.6 * top else "white")  # fmt: skip
    ax.set_xticks(np.arange(k), _factor_names(records, k), rotation=20, fontsize=8)
    ax.set_yticks(np.arange(len(names)), [f"{n} \u25a0" for n in names], fontsize=8)
    for label, name in zip(ax.get_yticklabels(), names):
        label.set_color(colours.get(name, "black"))
    ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02)
    return _figure_png(fig)


def importance_figure(records: list[RunRecord], colours: dict[str, str] | None = None) -> bytes | None:
    """DCI importance heat-maps (codes × factors), one panel per row (the first seed's run),
    titled in the row's colour (:func:`model_colours`); representations with more than
    :data:`MAX_HEATMAP_CODES` codes (raw pixels) are left out."""
    first: dict[str, np.ndarray] = {}
    for r in sorted(records, key=lambda r: r.seed):
        matrix = (r.metrics or {}).get(IMPORTANCE_KEY)
        name = r.spec.get("display_name", r.name)
        if matrix and len(matrix) <= MAX_HEATMAP_CODES and name not in first:
            first[name] = np.asarray(matrix, dtype=float)
    if not first:
        return None
    colours = colours or model_colours(records)
    plt = _plt()
    cols = min(len(first), HEATMAPS_PER_ROW)
    rows = -(-len(first) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 3 * rows), squeeze=False)
    for ax in axes.flat[len(first):]:
        ax.axis("off")
    for ax, (name, m) in zip(axes.flat, first.items()):
        ax.imshow(m, cmap="viridis", aspect="auto")
        ax.set_title(name, fontsize=8, color=colours.get(name, "black"))
        ax.set_xlabel("factor", fontsize=7)
        ax.set_ylabel("code", fontsize=7)
        ax.tick_params(labelsize=6)
    fig.suptitle("DCI importance (codes × factors)")
    fig.tight_layout()
    return _figure_png(fig)


def strip_figure(board: Leaderboard, key, colours: dict[str, str] | None = None) -> bytes | None:
    """Per metric one panel (:data:`STRIPS_PER_ROW` per row): each trained model's per-seed
    scores as points in its colour (``colours``, :func:`model_colours`; its name on the axis in
    the same colour) beside its mean with the 95% Student-t CI as an error bar; bold winners'
    means in black, others grey."""
    g = board.tidy[(board.tidy[GROUP] == pd.Series(key, index=GROUP)).all(axis=1) & (board.tidy["kind"] == "train")]
    metrics = [m for m in board.metrics if m in set(g["metric"])]
    if not metrics:
        return None
    plt = _plt()
    cols = min(len(metrics), STRIPS_PER_ROW)
    rows = -(-len(metrics) // cols)
    names = sorted(g["display_name"].unique())
    fig, axes = plt.subplots(rows, cols, figsize=(3.3 * cols, 0.28 * len(names) * rows + 1.2 * rows), squeeze=False)
    for ax in axes.flat[len(metrics):]:
        ax.axis("off")
    jitter = np.random.default_rng(0)
    for ax, m in zip(axes.flat, metrics):
        part = g[g["metric"] == m].set_index("display_name")
        for y, name in enumerate(names):
            if name not in part.index:
                continue
            r = part.loc[name]
            values = [float(v) for v in str(r["values"]).split(",")]
            ax.scatter(values, y + jitter.uniform(-0.15, 0.15, len(values)), s=12,
                       color=(colours or {}).get(name, "tab:blue"), alpha=0.8, zorder=3)  # fmt: skip
            low, high = r["ci_low"], r["ci_high"]
            err = None if np.isnan(low) else [[r["mean"] - low], [high - r["mean"]]]
            ax.errorbar([r["mean"]], [y + 0.3], xerr=err, fmt="D", ms=4, capsize=3, lw=1,
                        color="black" if r["bold"] else "0.5", zorder=2)  # fmt: skip
        ax.set_yticks(range(len(names)), names if ax in axes[:, 0] else [""] * len(names), fontsize=7)
        for label, name in zip(ax.get_yticklabels(), names):
            label.set_color((colours or {}).get(name, "black"))
        ax.set_ylim(-0.6, len(names) - 0.3)
        ax.invert_yaxis()
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="x", alpha=0.3)
        ax.set_title(f"{METRIC_LABELS.get(m, (m,))[0]} {'↓' if lower_is_better(m) else '↑'}", fontsize=9)
    fig.tight_layout()
    return _figure_png(fig)


def cd_figure(board: Leaderboard, key, supervision: str | None = None,
              colours: dict[str, str] | None = None) -> tuple[bytes, str] | None:  # fmt: skip
    """The critical-difference diagram of one group's trained models (of one ``supervision``,
    when given: rows of different supervision are never compared) over its metrics (each
    model's label in its colour, :func:`model_colours`), and its caption; None with fewer than
    3 models or 2 metrics scored by all of them."""
    scores, higher = board.rank_scores(key, supervision)
    if scores.shape[1] < 3 or scores.shape[0] < 2:
        return None
    summary = stats.rank_summary(scores, higher)
    fig = stats.cd_diagram(summary, title=f"Average rank over {summary.n_blocks} metrics")
    fig.set_dpi(90)
    for text in (t for ax in fig.axes for t in ax.texts):  # the labels read "<name> (<rank>)"
        name = text.get_text().rsplit(" (", 1)[0]
        if name in (colours or {}):
            text.set_color(colours[name])
    caption = (
        f"Average rank of the trained models{f' (supervision: {supervision})' if supervision else ''} over "
        f"{summary.n_blocks} metrics "
        f"({', '.join(METRIC_LABELS.get(m, (m,))[0] for m in scores.index)}; mean over seeds; rank 1 = best). "
        f"Friedman test p = {summary.friedman_p:.3g}; Nemenyi critical difference CD = {summary.cd:.2f} at "
        f"α = {summary.alpha} (Demšar 2006). Models joined by a bar are not significantly different. "
        "The metrics are correlated measurements of the same models, not independent data sets: read the "
        "ranks as a summary, not as a test across problems."
    )
    return _figure_png(fig), caption


def training_curves_figure(run_dir: Path) -> bytes | None:
    """Loss terms of ``run_dir/train_log.csv`` against the step (one line per term)."""
    path = run_dir / "train_log.csv"
    if not path.is_file():
        return None
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return None
    terms = [c for c in rows[0] if c not in ("step", "time", "images_per_s")]
    steps = [float(r["step"]) for r in rows]
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.5, 2.6))
    for t in terms:
        ax.plot(steps, [float(r[t]) if r[t] not in ("", None) else np.nan for r in rows], label=t)
    ax.set_xlabel("step")
    ax.set_title("training losses", fontsize=9)
    ax.legend(fontsize=6)
    return _figure_png(fig)


def _run_section(r: RunRecord, run_root: Path, colours: dict[str, str] | None = None) -> str:
    run_dir = run_root / RUNS_DIR / r.run_id
    name = r.spec.get("display_name", r.name)
    swatch = f'<span style="color:{colours[name]}">■</span> ' if name in (colours or {}) else ""
    parts = [f'<div class="run"><h3>{swatch}{html.escape(name)} · seed {r.seed} · '
             f"<code>{html.escape(r.run_id)}</code></h3>"]  # fmt: skip
    env = read_json(run_dir / "env.json", {})
    precision = env.get("precision") or r.spec.get("config", {}).get("precision")
    if precision:
        parts.append(f"<p>{html.escape(r.profile)} profile · trained on {html.escape(str(env.get('device')))} "
                     f"in {html.escape(precision)}</p>")
    if r.state != "completed":
        parts.append(f'<p class="error">{html.escape(r.state)}: {html.escape(str(r.error))}</p>')
    curves = training_curves_figure(run_dir)
    if curves:
        parts.append(f"<figure>{_embed(curves, 'training curves')}<figcaption>training curves</figcaption></figure>")
    for fname, label in RUN_IMAGES:
        if (run_dir / fname).is_file():
            mime = "image/gif" if fname.endswith(".gif") else "image/png"
            img = _embed((run_dir / fname).read_bytes(), label, width=320, mime=mime)
            parts.append(f"<figure>{img}<figcaption>{label}</figcaption></figure>")
    return "".join(parts) + "</div>"


def render_report(records: Iterable[RunRecord], *, board: Leaderboard | None = None,
                  run_root: Path | None = None, sections: Iterable[str] = ()) -> str:  # fmt: skip
    """The report page as an HTML string (see the module docstring for its sections);
    ``sections`` are HTML sections placed before the runs (``disbench report`` passes the
    analysis of the studies in the store, :func:`disbench.study.analysis.report_sections`)."""
    records = list(records)
    board = board if board is not None else build_leaderboard(records)
    done = [r for r in records if r.state == "completed" and r.metrics]
    colours = model_colours(records)
    body = [f"<h1>disbench report</h1><p>disbench {__version__} · {time.strftime('%Y-%m-%d %H:%M')} · "
            f"{len(records)} run(s), {len(done)} completed</p>", "<h2>Leaderboard</h2>",
            board.to_html() if not board.empty else "<p>no completed runs</p>"]  # fmt: skip
    if not board.empty:
        body.append(_statistics_section(board, colours))
    figures = [per_factor_figure(done, key, title, colours) for key, title in PER_FACTOR_KEYS]
    figures.append(importance_figure(done, colours))
    if any(figures):
        body.append("<h2>Per-factor scores</h2>")
        body += [f"<figure>{_embed(f, 'per-factor scores')}</figure>" for f in figures if f]
    body += list(sections)
    trained = [r for r in records if r.kind == "train"]
    if trained and run_root is not None:
        body.append("<h2>Runs</h2>")
        body += [_run_section(r, Path(run_root), colours) for r in sorted(trained, key=lambda r: (r.name, r.seed))]
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>disbench report</title>'
        f"<style>{PAGE_CSS}{TABLE_CSS}</style></head><body>{''.join(body)}</body></html>\n"
    )


def _statistics_section(board: Leaderboard, colours: dict[str, str] | None = None) -> str:
    parts = []
    for key, _ in board.groups():
        name = " · ".join(str(k) for k in key)
        strips = strip_figure(board, key, colours)
        if strips:
            parts.append(f"<figure>{_embed(strips, 'per-seed scores')}<figcaption>{html.escape(name)}: per-seed "
                         "scores (points) and mean with its 95% Student-t CI (diamond; black where the leaderboard "
                         "bolds it)</figcaption></figure>")  # fmt: skip
        trained = board.tidy[(board.tidy[GROUP] == pd.Series(key, index=GROUP)).all(axis=1)
                             & (board.tidy["kind"] == "train")]  # fmt: skip
        for supervision in sorted(set(trained["supervision"])):
            cd = cd_figure(board, key, supervision, colours)
            if cd:
                parts.append(f"<figure>{_embed(cd[0], 'critical-difference diagram')}<figcaption>{html.escape(name)}: "
                             f"{html.escape(cd[1])}</figcaption></figure>")  # fmt: skip
    return "<h2>Seeds and ranks</h2>" + "".join(parts) if parts else ""


def write_report(records: Iterable[RunRecord], path: str | Path, *, board: Leaderboard | None = None,
                 run_root: str | Path | None = None, sections: Iterable[str] = ()) -> Path:  # fmt: skip
    """Write the report of ``records`` to ``path`` atomically; ``run_root`` is the results
    directory holding their run directories (for curves and image grids); ``sections`` as in
    :func:`render_report`."""
    path = Path(path)
    root = Path(run_root) if run_root else None
    write_text_atomic(path, render_report(records, board=board, run_root=root, sections=sections))
    return path
