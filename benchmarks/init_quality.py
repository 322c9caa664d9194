"""Does the initialisation matter? Quick-profile scores with ``init = "torch"`` vs ``"tf_default"``.

Usage::

    nice -n 10 python benchmarks/init_quality.py                        # beta_vae, seeds 0 1 2
    nice -n 10 python benchmarks/init_quality.py --presets beta_vae factor_vae --seeds 0 1 2

For each preset, init and training seed: trains the ``quick`` profile with
``overrides={"model": {"init": init}}`` (:func:`disbench.train.train_run`, CPU, in a temporary
directory, ``--device``; the same seed gives the same data and noise streams under both inits, only the
initial weights differ) and scores the β-VAE metric and MIG at the ``quick`` metric preset's sizes
(metric random_state 0). Prints one line per run and, per preset and init, the mean ± std over
seeds, then a JSON summary. The load average is printed: training seconds under load are not
quiet-machine figures (scores do not depend on load).

Measured 2026-12-04 (β-VAE quick profile: 500 steps, lr 1e-3, β 4; seeds 0 1 2; load average
≈ 20-26 on 2 cores, so the training seconds, 200-620 s, say nothing about speed):

    init        β-VAE metric (quick)           MIG (10,000 points)           last recon (nats)
    torch       0.693 ± 0.030 [0.672 0.728 0.680]  0.048 ± 0.033 [0.030 0.086 0.028]  127.0 131.6 126.1
    tf_default  0.725 ± 0.101 [0.744 0.816 0.616]  0.044 ± 0.032 [0.048 0.074 0.011]  121.3 192.7 278.2

No difference in the scores distinguishable over 3 seeds (Welch's t on the β-VAE metric −0.52,
p 0.65); with Glorot/zero-bias init two of three seeds were still further from convergence at
step 500 (higher last-batch reconstruction loss). Whether anything persists over a 300,000-step
``study`` run is not measured here (no GPU in this session).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import torch

from disbench.metrics import beta_vae_score, mig
from disbench.metrics.evaluate import PRESETS as METRIC_PRESETS
from disbench.train import load_run, train_run

INITS = ("torch", "tf_default")


def run(preset: str, init: str, seed: int, device: str = "cpu") -> dict:
    """Train ``preset``'s quick profile with ``init`` and seed ``seed``; score it."""
    with tempfile.TemporaryDirectory() as tmp:
        out = train_run(preset, profile="quick", seed=seed, out_dir=Path(tmp) / "run", device=device, progress=False,
                        overrides={"model": {"init": init}})
        with open(out / "train_log.csv") as f:
            rows = list(csv.DictReader(f))
        model, dataset, _ = load_run(out, device=device)
        bv = beta_vae_score(dataset, model.encode, random_state=0, **METRIC_PRESETS["quick"]["beta_vae"])["score"]
        mg = mig(dataset, model.encode, random_state=0, **METRIC_PRESETS["quick"].get("mig", {}))["score"]
    return {"preset": preset, "init": init, "seed": seed, "train_s": round(float(rows[-1]["time"]), 1),
            "recon": round(float(rows[-1]["recon"]), 2), "kl": round(float(rows[-1]["kl"]), 2),
            "beta_vae": round(float(bv), 3), "mig": round(float(mg), 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", nargs="*", default=["beta_vae"])
    ap.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (quick profiles: bf16 autocast on CUDA where set)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"load average before: {os.getloadavg()}", flush=True)
    results = []
    for preset in args.presets:
        for init in INITS:
            for seed in args.seeds:
                r = run(preset, init, seed, args.device)
                results.append(r)
                print(json.dumps(r), f"load {[round(v, 1) for v in os.getloadavg()]}", flush=True)
    for preset in args.presets:
        for init in INITS:
            rs = [r for r in results if r["preset"] == preset and r["init"] == init]
            for m in ("beta_vae", "mig"):
                v = np.array([r[m] for r in rs])
                print(f"{preset:12s} {init:10s} {m:8s} {v.mean():.3f} ± {v.std(ddof=1) if len(v) > 1 else 0:.3f}  {v.tolist()}")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
