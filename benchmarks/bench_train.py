"""Training throughput (images/s) per baseline, and each quick profile's wall time.

Usage::

    python benchmarks/bench_train.py                   # throughput, 20 timed steps each
    python benchmarks/bench_train.py --presets infogan sgan
    python benchmarks/bench_train.py --quick           # also train each quick profile in full
    python benchmarks/bench_train.py --device cuda --profile paper --steps 200

Throughput is measured through the training core (batches drawn from the dataset
interface in the background thread, checkpointing off) after a few warm-up steps; the
batch size and model hyperparameters are the profile's. For the GANs the timed steps are
adversarial steps: the post-hoc encoder phase (LSGAN, ACGAN) and the Stacked GAN's
encoder/independent phases are shrunk to one step (for SGAN the joint phase, its most
expensive one), InfoGAN-CR's steps are regularised ones (its regulariser from step 0), and
the mode-collapse monitor is off. The quick wall time is the full
``disbench train NAME --profile quick`` (all phases, grids included). Prints one line per
preset and a JSON summary at the end. Timings depend on machine load: say so when reporting.
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from pathlib import Path

import torch

from disbench.train import train_run

PRESETS = ("beta_vae", "vae", "dcign", "infogan", "infogan_cr", "lsgan", "acgan", "sgan")
WARMUP = 3
# GANs: shrink the non-adversarial phases so that the timed steps are GAN steps
PHASE_OVERRIDES = {
    "infogan": {"monitor_every": 0},
    "infogan_cr": {"cr_start_step": 0, "monitor_every": 0},  # timed steps: regularised ones
    "lsgan": {"posthoc_steps": 1, "monitor_every": 0},
    "acgan": {"posthoc_steps": 1, "monitor_every": 0},
    "sgan": {"encoder_steps": 1, "independent_steps": 1, "monitor_every": 0},
}


def throughput(preset: str, profile: str, steps: int, device: str) -> dict:
    """images/s of ``steps`` training steps after :data:`WARMUP` warm-up steps."""
    with tempfile.TemporaryDirectory() as tmp:
        over = {"steps": WARMUP + steps, "checkpoint_every": 10**9, "log_every": WARMUP,
                "model": PHASE_OVERRIDES.get(preset, {})}
        out = train_run(preset, profile=profile, out_dir=Path(tmp) / "run", device=device, progress=False,
                        overrides=over)
        with open(out / "train_log.csv") as f:
            rows = list(csv.DictReader(f))
        batch = json.loads((out / "config.json").read_text())["batch_size"]
        # rows every WARMUP steps; time = elapsed training seconds at that step
        seconds = float(rows[-1]["time"]) - float(rows[0]["time"])
    return {"preset": preset, "profile": profile, "device": device, "batch_size": batch,
            "images_per_s": round(steps * batch / seconds, 1), "s_per_step": round(seconds / steps, 4)}


def quick_wall_time(preset: str, device: str) -> dict:
    """Wall time of ``disbench train PRESET --profile quick`` (training + grids)."""
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        out = train_run(preset, profile="quick", out_dir=Path(tmp) / "run", device=device, progress=False)
        wall = time.perf_counter() - t
        with open(out / "train_log.csv") as f:
            train_s = float(list(csv.DictReader(f))[-1]["time"])
    return {"preset": preset, "quick_wall_s": round(wall, 1), "quick_train_s": round(train_s, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", nargs="*", default=list(PRESETS))
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    ap.add_argument("--quick", action="store_true", help="also time each full quick profile")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    results = []
    for p in args.presets:
        r = throughput(p, args.profile, args.steps, args.device)
        if args.quick:
            r.update(quick_wall_time(p, args.device))
        r["threads"] = torch.get_num_threads()
        print(json.dumps(r), flush=True)
        results.append(r)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
