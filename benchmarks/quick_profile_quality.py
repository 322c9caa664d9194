"""Does each ``quick`` profile beat the untrained network on the β-VAE metric?

Usage::

    python benchmarks/quick_profile_quality.py                     # beta_vae, vae, dcign, ae, dcgan
    python benchmarks/quick_profile_quality.py --presets dcign --metric-seeds 0 1 2
    python benchmarks/quick_profile_quality.py --presets dcign --overrides '{"steps": 600, "model": {"lr": 2e-3}}'

For each preset: trains the ``quick`` profile with :func:`disbench.train.train_run` (seed
``--seed``, in a temporary directory, on the CPU with ``--threads`` torch threads) and
scores, with :func:`disbench.metrics.beta_vae_score` at the ``quick`` metric preset's sizes
(``disbench.metrics.evaluate.PRESETS["quick"]["beta_vae"]``), both the trained model and
the untrained one (the same architecture and initialisation, built with
:func:`disbench.train.build_model` from the same config: what the trained run started
from). Prints one line per preset (training seconds from train_log.csv, the last KL term,
scores per metric seed) and a JSON summary at the end. The machine's load average is
printed too: timings taken under load are not the quiet-machine figures.
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

from disbench import data
from disbench.metrics import beta_vae_score
from disbench.metrics.evaluate import PRESETS as METRIC_PRESETS
from disbench.train import build_model, load_run, resolve_config, train_run

PRESETS = ("beta_vae", "vae", "dcign", "ae", "dcgan")


def scores(dataset, model, seeds) -> list[float]:
    """β-VAE metric (quick sizes) of ``model.encode`` for each metric seed."""
    settings = METRIC_PRESETS["quick"]["beta_vae"]
    return [round(beta_vae_score(dataset, model.encode, random_state=s, **settings)["score"], 3) for s in seeds]


def check(preset: str, seed: int, metric_seeds, overrides: dict | None, runs_dir: Path | None = None) -> dict:
    """Train ``preset``'s quick profile (in ``runs_dir/<preset>-s<seed>``, resumable, or a
    temporary directory) and score it against its untrained network."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(runs_dir) / f"{preset}-s{seed}" if runs_dir else Path(tmp) / "run"
        run = train_run(preset, profile="quick", seed=seed, out_dir=out, device="cpu", progress=False,
                        overrides=overrides)
        with open(run / "train_log.csv") as f:
            rows = list(csv.DictReader(f))
        model, dataset, config = load_run(run, device="cpu")
        trained = scores(dataset, model, metric_seeds)
    untrained_model = build_model(resolve_config(preset, profile="quick", seed=seed, overrides=overrides),
                                  data.load("dsprites"), seed=seed).eval()
    untrained = scores(dataset, untrained_model, metric_seeds)
    return {
        "preset": preset, "steps": config["steps"], "train_s": round(float(rows[-1]["time"]), 1),
        "last_kl": round(float(rows[-1]["kl"]), 3) if "kl" in rows[-1] else None,
        "trained": trained, "untrained": untrained,
        "trained_mean": round(float(np.mean(trained)), 3), "untrained_mean": round(float(np.mean(untrained)), 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", nargs="*", default=list(PRESETS))
    ap.add_argument("--seed", type=int, default=0, help="training seed")
    ap.add_argument("--metric-seeds", nargs="*", type=int, default=[0], help="β-VAE metric random_state(s)")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    ap.add_argument("--overrides", type=json.loads, default=None, help="JSON overrides for train_run")
    ap.add_argument("--runs-dir", type=Path, default=None,
                    help="keep the runs here (an interrupted run resumes; a completed one is only scored)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"load average before: {os.getloadavg()}", flush=True)
    results = []
    for preset in args.presets:
        r = check(preset, args.seed, args.metric_seeds, args.overrides, args.runs_dir)
        r["loadavg_after"] = [round(v, 2) for v in os.getloadavg()]
        results.append(r)
        print(f"{preset:10s} steps {r['steps']:5d}  train {r['train_s']:6.1f} s  KL {r['last_kl']}  "
              f"trained {r['trained']}  untrained {r['untrained']}  load {r['loadavg_after']}", flush=True)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
