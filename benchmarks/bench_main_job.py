"""Benchmark: the README's main command, ``disbench run --models all``, end to end.

Runs the real command in a fresh results directory (a subprocess, exactly as a user
would), then reports the total wall time against the 15-minute target for a 2-core CPU
machine, and a breakdown per run: training time (the last ``time`` of ``train_log.csv``)
and the metric time (the sum of the ``<metric>.seconds`` entries of ``metrics.json``).
The dataset caches (procedural dSprites, the FID feature network) are whatever
``$DISBENCH_DATA`` holds: run once beforehand to time a warm machine, or point
``DISBENCH_DATA`` at an empty folder to include building them.

Run::

    python benchmarks/bench_main_job.py                      # all presets, quick profile, seed 0
    python benchmarks/bench_main_job.py --workers 2 --json bench_main_job.json
    python benchmarks/bench_main_job.py --models beta_vae    # one row, for a quick check
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 15 * 60


def run_breakdown(out: Path) -> list[dict]:
    """Per run: id, state, training seconds, metric seconds (from the run directories)."""
    rows = []
    for run_dir in sorted((out / "runs").iterdir()):
        status = json.loads((run_dir / "status.json").read_text()) if (run_dir / "status.json").exists() else {}
        metrics = json.loads((run_dir / "metrics.json").read_text()) if (run_dir / "metrics.json").exists() else {}
        train_s = 0.0
        if (run_dir / "train_log.csv").exists():
            with open(run_dir / "train_log.csv", newline="") as f:
                log = list(csv.DictReader(f))
            train_s = float(log[-1]["time"]) if log else 0.0
        metric_s = sum(v for k, v in metrics.items() if k.endswith(".seconds") and isinstance(v, int | float))
        rows.append({"run": run_dir.name, "state": status.get("state", "?"), "train_s": round(train_s, 1),
                     "metrics_s": round(metric_s, 1)})  # fmt: skip
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["all"])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="results directory (default: a fresh temporary one)")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args()

    out = args.out or Path(tempfile.mkdtemp(prefix="disbench-bench-main-"))
    cmd = [sys.executable, "-m", "disbench", "run", "--models", *args.models, "--out", str(out),
           "--workers", str(args.workers), "--no-progress"]  # fmt: skip
    print("$", " ".join(cmd), flush=True)
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=os.environ.copy())
    wall = time.perf_counter() - start
    rows = run_breakdown(out)
    print(f"\n{'run':<55} {'state':<10} {'train s':>8} {'metrics s':>10}")
    for r in rows:
        print(f"{r['run']:<55} {r['state']:<10} {r['train_s']:>8.1f} {r['metrics_s']:>10.1f}")
    verdict = "within" if wall <= TARGET_SECONDS else "OVER"
    print(f"\ntotal wall time {wall:.0f} s ({wall / 60:.1f} min) on {os.cpu_count()} CPU(s): "
          f"{verdict} the {TARGET_SECONDS // 60}-minute target; exit code {proc.returncode}; results in {out}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"command": cmd, "wall_s": wall, "exit_code": proc.returncode,
                                         "cpus": os.cpu_count(), "runs": rows}, indent=2))  # fmt: skip
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
