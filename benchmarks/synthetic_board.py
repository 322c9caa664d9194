"""A synthetic 3-seed results store through every writer: leaderboard exports, the report, a CD diagram.

Scores are made up (each preset gets a per-metric level, each seed Gaussian noise, each run a
metric noise floor), so the output shows what the writers do with 3 seeds, not how the
baselines compare. Used for the README's compact-table and CD-diagram examples:

    python benchmarks/synthetic_board.py OUT_DIR
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from disbench import stats
from disbench.images import save_grid, save_traversal_gif
from disbench.io import write_json_atomic, write_text_atomic
from disbench.leaderboard import EXPORT_FORMATS, build_leaderboard, export_leaderboard
from disbench.presets import list_presets, load_preset
from disbench.report import write_report
from disbench.results import ResultsStore
from disbench.runner import SANITY_ROWS

METRICS = ("beta_vae", "factor_vae", "mig", "dci", "sap", "modularity", "fid", "kid")


def synthetic_store(root: Path, seeds=(0, 1, 2), random_state: int = 0, presets=None) -> ResultsStore:
    """Every preset (or the names in ``presets``) and the four sanity rows, ``seeds`` each."""
    rng = np.random.default_rng(random_state)
    store = ResultsStore(root)
    rows = [(name, "train", load_preset(name)) for name in (list_presets() if presets is None else presets)]
    rows += [(name, "sanity", None) for name in SANITY_ROWS]
    for name, kind, preset in rows:
        level = rng.uniform(0.1, 0.8, len(METRICS))
        level[6], level[7] = rng.uniform(2, 60), rng.uniform(0.01, 0.2)  # FID (σ²), KID (z)
        for seed in seeds:
            metrics = {m: float(v + rng.normal(0, 0.04 * (v if m in ("fid", "kid") else 1)))
                       for m, v in zip(METRICS, level)}  # fmt: skip
            if kind == "sanity":
                metrics = {m: v for m, v in metrics.items() if m not in ("fid", "kid")}
            else:
                metrics.update({f"{m}.noise_std": 0.01 for m in METRICS[:6]}, **{"fid.feature_scaling": "real z-score"})
            metrics.update({"metric_preset": "quick", "mig.per_factor": rng.random(5).tolist(),
                            "sap.per_factor": rng.random(5).tolist(),
                            "dci.importance_matrix": rng.random((10, 5)).tolist()})  # fmt: skip
            display, rep = (preset.display_name, preset.representation) if preset else SANITY_ROWS[name]
            spec = {"run_id": f"{name}-s{seed}", "kind": kind, "name": name, "model": name if preset else None,
                    "dataset": "dsprites", "profile": "quick" if preset else "-", "seed": seed,
                    "display_name": display, "supervision": preset.supervision if preset else "none",
                    "representation": rep}  # fmt: skip
            run_dir = store.write_spec(spec)
            write_json_atomic(run_dir / "status.json", {"state": "completed", "step": 1, "error": None})
            write_json_atomic(run_dir / "metrics.json", metrics)
            if preset:
                write_text_atomic(run_dir / "train_log.csv", "step,time,images_per_s,loss\n1,0.1,100,5.0\n2,0.2,100,4.0\n")
                traversal = np.repeat(np.linspace(0, 1, 8, dtype=np.float32)[None, :, None, None, None], 4, 0)
                save_grid(np.broadcast_to(traversal, (4, 8, 1, 16, 16)), run_dir / "traversals.png")
                save_traversal_gif(np.broadcast_to(traversal, (4, 8, 1, 16, 16)), run_dir / "traversals.gif")
            store.sync(spec["run_id"])
    return store


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--presets", nargs="*", default=None, help="These presets only (default: all).")
    args = parser.parse_args()
    store = synthetic_store(args.out, presets=args.presets)
    board = build_leaderboard(store.records())
    for fmt, suffix in EXPORT_FORMATS.items():
        print("wrote", export_leaderboard(board, args.out / f"leaderboard{suffix}", fmt))
    print("wrote", write_report(store.records(), args.out / "report.html", board=board, run_root=store.root))
    key = next(iter(dict(board.groups())))
    scores, higher = board.rank_scores(key)
    fig = stats.cd_diagram(stats.rank_summary(scores, higher), title="Average rank over 8 metrics (synthetic scores)")
    fig.savefig(args.out / "cd_diagram.png", dpi=90, bbox_inches="tight")
    print("wrote", args.out / "cd_diagram.png")


if __name__ == "__main__":
    main()
