"""Benchmark: the README's main command, ``disbench run --models all``, end to end.

Runs the real command in a fresh results directory (a subprocess, exactly as a user
would), then reports the total wall time against the 15-minute target for a 2-core CPU
machine, and a breakdown per run: training time (the last ``time`` of ``train_log.csv``)
and the metric time (the sum of the ``<metric>.seconds`` entries of ``metrics.json``).
The dataset caches (procedural dSprites, the FID feature network) are whatever
``$DISBENCH_DATA`` holds: run once beforehand to time a warm machine, or point
``DISBENCH_DATA`` at an empty folder to include building them.

The host may be loaded, so the job is timed beside a baseline of the same session: a plain
PyTorch conv-VAE training loop (the quick VAE's encoder/decoder blocks, batch 64, Adam,
64×64 binary images, no disbench loop), whose images/s is measured before and after the job.
The job's time scaled to the reference machine is ``wall × plain img/s / REFERENCE_IMG_S``
(the quiet 2-core reference machine runs the plain loop at about 1,300 images/s; issue 22).

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
REFERENCE_IMG_S = 1300.0  # the plain loop's images/s on the quiet reference machine (issue 22)


def plain_loop_images_per_second(steps: int = 40, warmup: int = 5, batch_size: int = 64) -> float:
    """Images/s of a plain PyTorch conv-VAE loop (Bernoulli ELBO, Adam lr 5e-4) on random
    binary 64×64 images: the machine-speed baseline of this session."""
    import torch

    from disbench.models.nets import ConvDecoder, ConvEncoder

    torch.manual_seed(0)
    enc, dec = ConvEncoder((1, 64, 64), 20), ConvDecoder((1, 64, 64), 10)
    opt = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=5e-4)
    x = (torch.rand(batch_size, 1, 64, 64) < 0.1).float()
    start = 0.0
    for i in range(warmup + steps):
        if i == warmup:
            start = time.perf_counter()
        mu, logvar = enc(x).chunk(2, dim=1)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        rec = torch.nn.functional.binary_cross_entropy_with_logits(dec(z), x, reduction="sum") / batch_size
        kl = 0.5 * (mu**2 + logvar.exp() - logvar - 1).sum(1).mean()
        opt.zero_grad()
        (rec + kl).backward()
        opt.step()
    return steps * batch_size / (time.perf_counter() - start)


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
    plain_before = plain_loop_images_per_second()
    print(f"plain conv-VAE loop before: {plain_before:.0f} images/s; load average {os.getloadavg()}", flush=True)
    print("$", " ".join(cmd), flush=True)
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=os.environ.copy())
    wall = time.perf_counter() - start
    plain_after = plain_loop_images_per_second()
    plain = (plain_before + plain_after) / 2
    reference_s = wall * plain / REFERENCE_IMG_S
    rows = run_breakdown(out)
    print(f"\n{'run':<55} {'state':<10} {'train s':>8} {'metrics s':>10}")
    for r in rows:
        print(f"{r['run']:<55} {r['state']:<10} {r['train_s']:>8.1f} {r['metrics_s']:>10.1f}")
    verdict = "within" if reference_s <= TARGET_SECONDS else "OVER"
    print(f"\ntotal wall time {wall:.0f} s ({wall / 60:.1f} min) on {os.cpu_count()} CPU(s), plain loop "
          f"{plain_before:.0f} / {plain_after:.0f} images/s before / after (load {os.getloadavg()}); "
          f"≈ {reference_s:.0f} s at the reference {REFERENCE_IMG_S:.0f} images/s: {verdict} the "
          f"{TARGET_SECONDS // 60}-minute target; exit code {proc.returncode}; results in {out}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"command": cmd, "wall_s": wall, "exit_code": proc.returncode,
                                         "cpus": os.cpu_count(), "plain_img_s": [plain_before, plain_after],
                                         "reference_s": reference_s, "runs": rows}, indent=2))  # fmt: skip
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
