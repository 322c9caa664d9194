"""The HTML report: one self-contained page (every image embedded as base64 PNG).

Sections: the leaderboard (:mod:`disbench.leaderboard`); per-factor bars of the MIG gaps
(Chen et al. 2018, Eq. 6 per factor) and SAP gaps, mean over seeds; the DCI importance
matrices (Eastwood & Williams 2018, codes × factors) as heat-maps; and per run its
training curves (``train_log.csv``) and the sample, latent-traversal and reconstruction
grids the training core saved; and the sections the caller adds (``disbench report`` adds the
analysis of every study in the store, :mod:`disbench.study.analysis`). Figures are made with matplotlib's Agg backend.
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

from disbench import __version__
from disbench.io import read_json, write_text_atomic
from disbench.leaderboard import TABLE_CSS, Leaderboard, build_leaderboard
from disbench.results import RUNS_DIR, RunRecord

RUN_IMAGES = (("samples.png", "samples"), ("traversals.png", "latent traversals"),
              ("reconstructions.png", "reconstructions"))  # fmt: skip
PER_FACTOR_KEYS = (("mig.per_factor", "MIG gap per factor"), ("sap.per_factor", "SAP gap per factor"))
IMPORTANCE_KEY = "dci.importance_matrix"
MAX_HEATMAP_CODES = 64
PAGE_CSS = (
    "body{font:14px sans-serif;margin:2em;max-width:80em}h2{border-bottom:1px solid #999}"
    ".run{margin:1em 0 2em}.run img{margin:.3em;vertical-align:top;border:1px solid #ddd}"
    ".error{color:#a00}figure{display:inline-block;margin:.3em}figcaption{font-size:12px}"
)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _embed_png(data: bytes, alt: str, width: int | None = None) -> str:
    w = f' width="{width}"' if width else ""
    return f'<img alt="{html.escape(alt)}"{w} src="data:image/png;base64,{base64.b64encode(data).decode()}">'


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


def per_factor_figure(records: list[RunRecord], key: str, title: str) -> bytes | None:
    """Grouped bars: one group per factor, one bar per row (mean over seeds) of ``metrics[key]``."""
    by_row: dict[str, list[np.ndarray]] = {}
    for r in records:
        values = (r.metrics or {}).get(key)
        if isinstance(values, list) and values:
            by_row.setdefault(r.spec.get("display_name", r.name), []).append(np.asarray(values, dtype=float))
    if not by_row:
        return None
    k = max(len(v[0]) for v in by_row.values())
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * k), 3))
    width = 0.8 / len(by_row)
    for i, (name, vals) in enumerate(by_row.items()):
        mean = np.mean([v for v in vals if len(v) == k], axis=0)
        ax.bar(np.arange(k) + i * width - 0.4 + width / 2, mean, width, label=name)
    ax.set_xticks(np.arange(k), _factor_names(records, k), rotation=20)
    ax.set_title(title)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _figure_png(fig)


def importance_figure(records: list[RunRecord]) -> bytes | None:
    """DCI importance heat-maps (codes × factors), one panel per row (the first seed's run);
    representations with more than :data:`MAX_HEATMAP_CODES` codes (raw pixels) are left out."""
    first: dict[str, np.ndarray] = {}
    for r in sorted(records, key=lambda r: r.seed):
        matrix = (r.metrics or {}).get(IMPORTANCE_KEY)
        name = r.spec.get("display_name", r.name)
        if matrix and len(matrix) <= MAX_HEATMAP_CODES and name not in first:
            first[name] = np.asarray(matrix, dtype=float)
    if not first:
        return None
    plt = _plt()
    fig, axes = plt.subplots(1, len(first), figsize=(2.2 * len(first), 3), squeeze=False)
    for ax, (name, m) in zip(axes[0], first.items()):
        ax.imshow(m, cmap="viridis", aspect="auto")
        ax.set_title(name, fontsize=8)
        ax.set_xlabel("factor", fontsize=7)
        ax.set_ylabel("code", fontsize=7)
        ax.tick_params(labelsize=6)
    fig.suptitle("DCI importance (codes × factors)", y=1.04)
    return _figure_png(fig)


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


def _run_section(r: RunRecord, run_root: Path) -> str:
    run_dir = run_root / RUNS_DIR / r.run_id
    parts = [f'<div class="run"><h3>{html.escape(r.spec.get("display_name", r.name))} · seed {r.seed} · '
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
        parts.append(f"<figure>{_embed_png(curves, 'training curves')}<figcaption>training curves</figcaption></figure>")
    for fname, label in RUN_IMAGES:
        if (run_dir / fname).is_file():
            img = _embed_png((run_dir / fname).read_bytes(), label, width=320)
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
    body = [f"<h1>disbench report</h1><p>disbench {__version__} · {time.strftime('%Y-%m-%d %H:%M')} · "
            f"{len(records)} run(s), {len(done)} completed</p>", "<h2>Leaderboard</h2>",
            board.to_html() if not board.empty else "<p>no completed runs</p>"]  # fmt: skip
    figures = [per_factor_figure(done, key, title) for key, title in PER_FACTOR_KEYS]
    figures.append(importance_figure(done))
    if any(figures):
        body.append("<h2>Per-factor scores</h2>")
        body += [f"<figure>{_embed_png(f, 'per-factor scores')}</figure>" for f in figures if f]
    body += list(sections)
    trained = [r for r in records if r.kind == "train"]
    if trained and run_root is not None:
        body.append("<h2>Runs</h2>")
        body += [_run_section(r, Path(run_root)) for r in sorted(trained, key=lambda r: (r.name, r.seed))]
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>disbench report</title>'
        f"<style>{PAGE_CSS}{TABLE_CSS}</style></head><body>{''.join(body)}</body></html>\n"
    )


def write_report(records: Iterable[RunRecord], path: str | Path, *, board: Leaderboard | None = None,
                 run_root: str | Path | None = None, sections: Iterable[str] = ()) -> Path:  # fmt: skip
    """Write the report of ``records`` to ``path`` atomically; ``run_root`` is the results
    directory holding their run directories (for curves and image grids); ``sections`` as in
    :func:`render_report`."""
    path = Path(path)
    root = Path(run_root) if run_root else None
    write_text_atomic(path, render_report(records, board=board, run_root=root, sections=sections))
    return path
