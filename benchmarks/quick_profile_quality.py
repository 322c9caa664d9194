"""Is each ``quick`` profile a working miniature of its method? The quick-row quality bar.

Usage::

    python benchmarks/quick_profile_quality.py                     # every preset, training seed 0
    python benchmarks/quick_profile_quality.py --presets dcign lsgan --seeds 0 1 2
    python benchmarks/quick_profile_quality.py --presets dcign --overrides '{"steps": 600, "model": {"lr": 2e-3}}'
    python benchmarks/quick_profile_quality.py --store results/   # score the runs of `disbench run --seeds 0 1 2`

For each preset with a ``quick`` profile and each training seed: trains the quick profile with
:func:`disbench.train.train_run` (on the CPU, ``--threads`` torch threads; in ``--runs-dir`` or
a temporary directory), or, with ``--store``, takes the completed quick runs of a
``disbench run`` results directory (no training). Then, per run, exactly as the board scores it
(:func:`disbench.metrics.evaluate`, ``quick`` metric preset, ``random_state`` = the training
seed):

* ``beta_vae``: the β-VAE metric (Higgins et al. 2017) of the trained model, and of the
  **untrained** one (the same architecture and initialisation, built with
  :func:`disbench.train.build_model` from the run's config: what training started from);
* ``active``: for the VAE family (models with ``posterior``), the number of latent dimensions
  whose KL(q(z_j|x) ‖ N(0, 1)), averaged over 1,000 observations, exceeds 0.01 nats (the
  "active units" count, Burda et al. 2016, Sec. 5.2, with the KL instead of the variance);
* ``fid``: FID (σ²) of the model's samples against real images at the quick metric preset's
  sizes, in the factor classifier's z-scored features (:mod:`disbench.metrics.generated`).

The bar (issue 22): trained β-VAE metric > untrained; ≥ 2 active latents for every VAE;
FID (σ²) < 100 for every generator. Prints one line per run, then a Markdown table of the
means over seeds per preset (with PASS/FAIL per criterion), and a JSON summary. The load
average is printed: timings taken under load are not the quiet-machine figures.
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

from disbench.io import read_json
from disbench.metrics import evaluate
from disbench.metrics.evaluate import evaluate_run
from disbench.presets import list_presets, load_preset
from disbench.train import build_model, load_run, train_run

ACTIVE_KL_NATS = 0.01  # a latent is active when its mean KL exceeds this (issue 22)
MIN_ACTIVE = 2
MAX_FID = 100.0
ACTIVE_SAMPLES = 1000


def quick_presets() -> list[str]:
    """Every preset with a ``quick`` profile (what ``disbench run --models all`` trains)."""
    return [name for name in list_presets() if "quick" in load_preset(name).profiles]


@torch.no_grad()
def active_latents(model, dataset, seed: int) -> int | None:
    """Latents with mean KL(q(z_j|x) || N(0,1)) > 0.01 nats over 1,000 observations; None for
    a model without a Gaussian posterior."""
    if not hasattr(model, "posterior"):
        return None
    rng = np.random.default_rng(seed)
    x = dataset.sample_observations_from_factors(dataset.sample_factors(ACTIVE_SAMPLES, rng), rng)
    mu, logvar = model.posterior(torch.as_tensor(np.asarray(x, dtype=np.float32)).to(model.device))
    kl = 0.5 * (mu.float() ** 2 + logvar.float().exp() - logvar.float() - 1).mean(0)
    return int((kl > ACTIVE_KL_NATS).sum())


def score_run(run: Path) -> dict:
    """The bar's quantities for one completed quick run (see the module docstring)."""
    config = read_json(run / "config.json")
    seed = config["seed"]
    metrics = read_json(run / "metrics.json") or {}
    model, dataset, _ = load_run(run, device="cpu")
    if "beta_vae" not in metrics or ("fid" not in metrics and hasattr(model, "sample")):
        metrics = evaluate_run(run, metrics=["beta_vae", "fid"], preset="quick", device="cpu", random_state=seed)
    untrained = build_model(config, dataset, seed=seed).eval()
    base = evaluate(dataset, untrained, ["beta_vae"], preset="quick", random_state=seed)["beta_vae"]
    log = list(csv.DictReader(open(run / "train_log.csv"))) if (run / "train_log.csv").exists() else []
    fid = metrics.get("fid")
    return {
        "preset": config["preset"], "seed": seed, "steps": config["steps"],
        "train_s": round(float(log[-1]["time"]), 1) if log else None,
        "beta_vae": round(float(metrics["beta_vae"]), 3), "beta_vae_untrained": round(float(base), 3),
        "active": active_latents(model, dataset, seed), "fid": None if fid is None else round(float(fid), 1),
    }


def _mean(rs: list[dict], key: str) -> float | None:
    return None if any(r[key] is None for r in rs) else round(float(np.mean([r[key] for r in rs])), 3)


def summary(rows: list[dict]) -> list[dict]:
    """Means over seeds per preset, and the bar's verdicts."""
    out = []
    for preset in dict.fromkeys(r["preset"] for r in rows):
        rs = [r for r in rows if r["preset"] == preset]
        s = {"preset": preset, "seeds": [r["seed"] for r in rs], "beta_vae": _mean(rs, "beta_vae"),
             "beta_vae_untrained": _mean(rs, "beta_vae_untrained"), "active": _mean(rs, "active"),
             "active_min": None if rs[0]["active"] is None else min(r["active"] for r in rs),
             "fid": _mean(rs, "fid"), "fid_max": None if rs[0]["fid"] is None else max(r["fid"] for r in rs)}
        s["pass_beta_vae"] = s["beta_vae"] > s["beta_vae_untrained"]
        s["pass_active"] = None if s["active_min"] is None else s["active_min"] >= MIN_ACTIVE
        s["pass_fid"] = None if s["fid"] is None else s["fid"] < MAX_FID
        out.append(s)
    return out


def markdown(summ: list[dict]) -> str:
    """The quality table (means over seeds; active latents: mean, min; FID: mean, max)."""
    def mark(ok):
        return "" if ok is None else (" ✓" if ok else " ✗")
    lines = ["| preset | β-VAE trained | β-VAE untrained | active latents (mean, min) | FID σ² (mean, max) |",
             "| --- | --- | --- | --- | --- |"]
    for s in summ:
        active = "—" if s["active"] is None else f"{s['active']:.1f}, {s['active_min']}{mark(s['pass_active'])}"
        fid = "—" if s["fid"] is None else f"{s['fid']:.1f}, {s['fid_max']:.1f}{mark(s['pass_fid'])}"
        lines.append(f"| {s['preset']} | {s['beta_vae']:.3f}{mark(s['pass_beta_vae'])} | "
                     f"{s['beta_vae_untrained']:.3f} | {active} | {fid} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", nargs="*", default=None, help="default: every preset with a quick profile")
    ap.add_argument("--seeds", nargs="*", type=int, default=[0], help="training seeds")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    ap.add_argument("--overrides", type=json.loads, default=None, help="JSON overrides for train_run")
    ap.add_argument("--runs-dir", type=Path, default=None,
                    help="keep the trained runs here (an interrupted run resumes; a completed one is only scored)")
    ap.add_argument("--store", type=Path, default=None,
                    help="score the completed quick runs of this `disbench run` results directory instead of training")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"load average before: {os.getloadavg()}", flush=True)
    presets = args.presets or quick_presets()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.store:
            runs = []
            for run in sorted((args.store / "runs").iterdir()):
                config = read_json(run / "config.json") or {}
                state = (read_json(run / "status.json") or {}).get("state")
                if config.get("profile") == "quick" and config.get("preset") in presets and state == "completed" \
                        and (not args.seeds or config.get("seed") in args.seeds):
                    runs.append(run)
        else:
            runs = [train_run(p, profile="quick", seed=s, out_dir=(args.runs_dir or Path(tmp)) / f"{p}-s{s}",
                              device="cpu", progress=False, overrides=args.overrides)
                    for p in presets for s in args.seeds]
        for run in runs:
            r = score_run(run)
            r["loadavg_after"] = [round(v, 2) for v in os.getloadavg()]
            rows.append(r)
            print(f"{r['preset']:12s} s{r['seed']} steps {r['steps']:5d} train {r['train_s']} s  "
                  f"β-VAE {r['beta_vae']} (untrained {r['beta_vae_untrained']})  active {r['active']}  "
                  f"FID {r['fid']}  load {r['loadavg_after']}", flush=True)
    summ = summary(rows)
    print(markdown(summ))
    print(json.dumps({"runs": rows, "summary": summ}, indent=1))


if __name__ == "__main__":
    main()
