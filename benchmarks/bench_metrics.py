"""Benchmark: the disentanglement metric suite (everything but FID) for a small conv encoder.

The encoder (``--encoder beta_vae``, the default) is the posterior mean of the ``beta_vae``
preset trained with the ``quick`` profile (seed 0; trained once, ~20 s, and kept under
``$DISBENCH_DATA/bench/``): a 32-32-64-64 conv net (4x4 kernels, stride 2) with a 256-unit
hidden layer and 10 codes, run on procedural dSprites. ``--encoder untrained`` is the same
shape untrained, its codes standardised to unit variance (raw, they have std ~0.001, so
FactorVAE would prune every code and do no work). ``disbench.metrics.evaluate`` is timed per metric; with
``--reference`` the same encoder and the same sample sizes are fed to disentanglement_lib's
own metric functions (the published v1.5 package, imported on CPU without TensorFlow by
aliasing ``gin.tf`` to ``gin``) and values and times are compared.

Install the reference once (pure Python, no dependencies pulled; gin-config 0.4 still
accepts the ``blacklist`` argument the library uses)::

    pip install --no-deps --target /tmp/dlib_site disentanglement-lib==1.5 gin-config==0.4.0 absl-py

Run::

    PYTHONPATH=/tmp/dlib_site python benchmarks/bench_metrics.py --preset quick --reference
    python benchmarks/bench_metrics.py --preset default --out bench.json

Both run in one process, after ``disbench.allocator.tune_allocator`` (called by
``evaluate``), so the reference's encoder calls get the same allocator settings.
Values agree within sampling error only: both draw their own samples (the reference draws
point by point from a ``RandomState``, disbench vectorised from a ``Generator``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch
from torch import nn

import disbench.data
from disbench.metrics import METRICS, PRESETS, evaluate


class ConvEncoder(nn.Module):
    """Untrained 32-32-64-64 conv encoder -> 256 -> 10 codes (float32 (N, 1, 64, 64) input),
    codes standardised on 2,000 dSprites images so none is collapsed."""

    def __init__(self, dataset, num_codes: int = 10, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        chans = [1, 32, 32, 64, 64]
        layers = []
        for cin, cout in zip(chans[:-1], chans[1:]):
            layers += [nn.Conv2d(cin, cout, 4, 2, 1), nn.ReLU()]
        self.net = nn.Sequential(*layers, nn.Flatten(), nn.Linear(64 * 4 * 4, 256), nn.ReLU(),
                                 nn.Linear(256, num_codes))
        self.eval()
        rng = np.random.RandomState(seed)
        x = dataset.sample_observations_from_factors(dataset.sample_factors(2000, rng), rng)
        with torch.no_grad():
            z = self.net(torch.from_numpy(np.asarray(x, dtype=np.float32)))
            last = self.net[-1]
            last.weight /= z.std(0, keepdim=True).T
            last.bias.copy_((last.bias - z.mean(0)) / z.std(0))

    @torch.no_grad()
    def encode(self, x):
        return self.net(torch.as_tensor(x, dtype=torch.float32))


def trained_encoder():
    """The quick-profile ``beta_vae`` run, seed 0 (trained on first use)."""
    from disbench.resources import data_dir
    from disbench.train import load_run, train_run

    run = train_run("beta_vae", profile="quick", seed=0, out_dir=data_dir() / "bench" / "beta_vae_quick_seed0",
                    device="cpu")
    model, _, _ = load_run(run, device="cpu")
    return model


def run_disbench(ds, model, metrics, preset, n_jobs):
    start = time.perf_counter()
    r = evaluate(ds, model, metrics, preset=preset, n_jobs=n_jobs, progress=True)
    total = time.perf_counter() - start
    return r, total


def _reference_modules():
    import gin

    sys.modules.setdefault("gin.tf", gin)
    gin.tf = gin
    import logging

    logging.getLogger().setLevel(logging.ERROR)
    from disentanglement_lib.evaluation.metrics import (
        beta_vae,
        dci,
        factor_vae,
        mig,
        modularity_explicitness,
        sap_score,
        utils,
    )

    gin.clear_config()
    gin.bind_parameter("discretizer.discretizer_fn", utils._histogram_discretize)
    gin.bind_parameter("discretizer.num_bins", 20)
    gin.bind_parameter("prune_dims.threshold", 0.05)
    return {
        "beta_vae": (beta_vae.compute_beta_vae_sklearn, "eval_accuracy"),
        "factor_vae": (factor_vae.compute_factor_vae, "eval_accuracy"),
        "mig": (mig.compute_mig, "discrete_mig"),
        "dci": (dci.compute_dci, "disentanglement"),
        "sap": (sap_score.compute_sap, "SAP_score"),
        "modularity": (modularity_explicitness.compute_modularity_explicitness, "modularity_score"),
    }


def run_reference(ds, model, metrics, preset):
    fns = _reference_modules()

    def representation(x):
        return model.encode(torch.from_numpy(np.asarray(x, dtype=np.float32))).numpy()

    out = {}
    for name in metrics:
        fn, key = fns[name]
        settings = {k: v for k, v in PRESETS[preset][name].items() if k not in ("num_bins", "prune_threshold")}
        if name == "sap":
            settings["continuous_factors"] = False
        start = time.perf_counter()
        r = fn(ds, representation, np.random.RandomState(0), **settings)
        out[name] = (float(r[key]), time.perf_counter() - start)
        print(f"reference {name}: {out[name][0]:.4f} in {out[name][1]:.1f} s", file=sys.stderr, flush=True)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--preset", default="default", choices=sorted(PRESETS))
    p.add_argument("--metrics", default=",".join(METRICS), help="comma-separated metric names")
    p.add_argument("--encoder", default="beta_vae", choices=["beta_vae", "untrained"])
    p.add_argument("--reference", action="store_true", help="also run disentanglement_lib's metrics")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    p.add_argument("--n-jobs", type=int, default=None, help="disbench per-factor workers")
    p.add_argument("--out", default=None, help="write the figures as JSON here")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
    ds = disbench.data.load("dsprites")
    if hasattr(ds, "prepare"):
        ds.prepare(progress=True)
    model = trained_encoder() if args.encoder == "beta_vae" else ConvEncoder(ds)
    ours, ours_total = run_disbench(ds, model, metrics, args.preset, args.n_jobs)
    ref = run_reference(ds, model, metrics, args.preset) if args.reference else {}
    rows = []
    print(f"\nencoder {args.encoder}; preset {args.preset}; encoded {ours['codes.num_encoded']} of {ours['codes.num_requested']} "
          f"requested observations; load average {open('/proc/loadavg').read().split()[:3]}")
    print(f"{'metric':<12}{'disbench':>10}{'s':>9}{'reference':>11}{'s':>9}{'speed-up':>10}")
    for m in metrics:
        r_val, r_s = ref.get(m, (float("nan"), float("nan")))
        s = ours[f"{m}.seconds"]
        rows.append({"metric": m, "disbench": ours[m], "disbench_s": s, "reference": r_val, "reference_s": r_s})
        print(f"{m:<12}{ours[m]:>10.4f}{s:>9.1f}{r_val:>11.4f}{r_s:>9.1f}{r_s / s:>10.1f}")
    ref_total = sum(v[1] for v in ref.values())
    print(f"{'total':<12}{'':>10}{ours_total:>9.1f}{'':>11}{ref_total:>9.1f}"
          f"{(ref_total / ours_total) if ref else float('nan'):>10.1f}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"encoder": args.encoder, "preset": args.preset, "rows": rows, "disbench_total_s": ours_total,
                       "reference_total_s": ref_total, "codes.num_encoded": ours["codes.num_encoded"],
                       "codes.num_requested": ours["codes.num_requested"]}, f, indent=2)


if __name__ == "__main__":
    main()
