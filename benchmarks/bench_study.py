"""Benchmark: a study on this CPU, ``disbench study unsupervised_study_v1 --models beta_vae
--profile quick --seeds 0 --analyse`` (6 runs), against the 10-minute target.

Runs the real commands as subprocesses in a fresh results directory: first, as the baseline
of the same session (the machine is shared), one plain ``disbench train beta_vae --profile
quick``; then the study with its analysis. Prints the wall times, their ratio, the load
average before and after, per-run training and metric seconds, and the estimate for the
full quick grid (every method that declares the study, × the seeds asked) from the measured
mean seconds per run.

Run::

    python benchmarks/bench_study.py                    # β-VAE × 6 values, seed 0
    python benchmarks/bench_study.py --json bench_study.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 10 * 60


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "disbench", *argv], check=True)
    return time.perf_counter() - start


def per_run(out: Path) -> list[dict]:
    rows = []
    for run_dir in sorted((out / "runs").iterdir()):
        metrics = json.loads((run_dir / "metrics.json").read_text()) if (run_dir / "metrics.json").exists() else {}
        log = (run_dir / "train_log.csv").read_text().splitlines() if (run_dir / "train_log.csv").exists() else []
        header = log[0].split(",") if log else []
        train_s = float(log[-1].split(",")[header.index("time")]) if len(log) > 1 and "time" in header else 0.0
        metric_s = sum(v for k, v in metrics.items() if k.endswith(".seconds") and isinstance(v, int | float))
        rows.append({"run": run_dir.name, "train_s": round(train_s, 1), "metrics_s": round(metric_s, 1)})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = ap.parse_args()
    from disbench.study import plan_study

    with tempfile.TemporaryDirectory(prefix="disbench-bench-study-") as tmp:
        load_before = os.getloadavg()
        baseline = timed(["train", "beta_vae", "--profile", "quick", "--out", f"{tmp}/train"])
        out = Path(tmp) / "results"
        study = timed(["study", "unsupervised_study_v1", "--models", "beta_vae", "--profile", "quick", "--seeds", "0",
                       "--out", str(out), "--analyse", "--no-progress"])  # fmt: skip
        load_after = os.getloadavg()
        runs = per_run(out)
    full = plan_study("unsupervised_study_v1", profile="quick")
    per = study / max(1, len(runs))
    figures = {
        "baseline_train_s": round(baseline, 1), "study_s": round(study, 1), "ratio": round(study / baseline, 2),
        "runs": runs, "target_s": TARGET_SECONDS, "within_target": study <= TARGET_SECONDS,
        "loadavg_before": load_before, "loadavg_after": load_after,
        "full_quick_grid_runs": len(full.specs), "full_quick_grid_estimate_h": round(per * len(full.specs) / 3600, 2),
    }  # fmt: skip
    print(json.dumps(figures, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
