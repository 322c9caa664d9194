"""How far the ``quick`` metric preset moves each score from the ``default`` one.

The encoder is *synthetic* (``--encoder synthetic``, the default): on dSprites' factor grid
(procedural, no images rendered), 10 codes — the five factors scaled to [0, 1], the first two
mixed by a 30° rotation, each plus N(0, 0.05) noise fixed per observation, and five pure-noise
codes — so that every score sits away from its bounds; ``--encoder beta_vae`` uses the
posterior mean of the ``beta_vae`` preset trained with the ``quick`` profile, seed 0
(``bench_metrics.trained_encoder``; training it needs a few free minutes). Every metric that scores one
representation is computed at both presets for each metric seed (``--seeds``); the shift is
the mean over seeds of quick − default, beside the seed-to-seed standard deviation of each
(so a shift can be told from the metric's own sampling noise). ``--old-quick`` adds the
quick sizes MIG and modularity had before they moved to their default sizes (2,500 points;
modularity 2,500 / 1,000), to show the small-sample bias of their plug-in mutual information.

Run::

    python benchmarks/quick_vs_default.py --seeds 0 1 2 --old-quick --out quick_vs_default.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_metrics import trained_encoder  # noqa: E402

import disbench.data  # noqa: E402
from disbench.metrics import METRICS, evaluate  # noqa: E402

# secondary outputs worth a line of their own
EXTRA = ("dci.completeness", "dci.informativeness", "modularity.explicitness", "infomec.infoe", "infomec.infoc",
         "dci_es.disentanglement", "unsupervised.mutual_info_score")
class SyntheticCodes:
    """Codes computed from factors (see the module docstring); noise fixed per observation."""

    def __init__(self, dataset, seed: int = 0):
        self.dataset = dataset
        self.sizes = np.asarray(dataset.factors_num_values, dtype=float)
        c, s = np.cos(np.pi / 6), np.sin(np.pi / 6)
        self.mix = np.eye(len(self.sizes))
        self.mix[:2, :2] = [[c, -s], [s, c]]
        self.noise = np.random.default_rng(seed).normal(size=(len(dataset), 10)).astype(np.float32)  # ~30 MB

    def encode_factors(self, factors):
        index = self.dataset.index_of(factors)
        scaled = factors / np.maximum(self.sizes - 1, 1)
        aligned = scaled @ self.mix + 0.05 * self.noise[index, :5]
        return np.concatenate([aligned, self.noise[index, 5:]], axis=1)


OLD_QUICK = {"mig": {"num_train": 2_500}, "modularity": {"num_train": 2_500, "num_test": 1_000}}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--metrics", default=",".join(METRICS))
    p.add_argument("--old-quick", action="store_true", help="also MIG and modularity at their former quick sizes")
    p.add_argument("--encoder", default="synthetic", choices=["synthetic", "beta_vae"])
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    metrics = [m for m in args.metrics.split(",") if m]
    ds = disbench.data.load("dsprites")
    if hasattr(ds, "prepare"):
        ds.prepare(progress=False)
    model = SyntheticCodes(ds) if args.encoder == "synthetic" else trained_encoder()
    runs = {"default": [], "quick": [], "old_quick": []}
    seconds = {k: 0.0 for k in runs}
    for seed in args.seeds:
        for preset in ("default", "quick"):
            start = time.perf_counter()
            runs[preset].append(evaluate(ds, model, metrics, preset=preset, random_state=seed))
            seconds[preset] += time.perf_counter() - start
        if args.old_quick:
            start = time.perf_counter()
            runs["old_quick"].append(evaluate(ds, model, list(OLD_QUICK), preset="quick", random_state=seed,
                                              settings=OLD_QUICK))
            seconds["old_quick"] += time.perf_counter() - start
    keys = [*metrics, *(k for k in EXTRA if k.split(".")[0] in metrics)]
    rows = []
    print(f"{args.encoder} encoder, procedural dSprites, metric seeds {args.seeds}")
    print(f"{'score':<32}{'default':>16}{'quick':>16}{'shift':>9}")
    for k in keys:
        d = np.array([r[k] for r in runs["default"]])
        q = np.array([r[k] for r in runs["quick"]])
        row = {"score": k, "default_mean": d.mean(), "default_sd": d.std(ddof=1) if len(d) > 1 else float("nan"),
               "quick_mean": q.mean(), "quick_sd": q.std(ddof=1) if len(q) > 1 else float("nan"),
               "shift": q.mean() - d.mean()}
        rows.append(row)
        print(f"{k:<32}{d.mean():>9.4f} ±{row['default_sd']:.4f}{q.mean():>9.4f} ±{row['quick_sd']:.4f}"
              f"{row['shift']:>+9.4f}")
    for k in OLD_QUICK if args.old_quick else ():
        o = np.array([r[k] for r in runs["old_quick"]])
        d = np.array([r[k] for r in runs["default"]])
        rows.append({"score": f"{k} (former quick sizes)", "quick_mean": o.mean(), "shift": o.mean() - d.mean(),
                     "default_mean": d.mean()})
        print(f"{k + ' (former quick)':<32}{d.mean():>9.4f}{'':>7}{o.mean():>9.4f}{'':>7}{o.mean() - d.mean():>+9.4f}")
    print("seconds per seed: " + ", ".join(f"{k} {v / len(args.seeds):.0f}" for k, v in seconds.items() if v))
    if args.out:
        Path(args.out).write_text(json.dumps({"encoder": args.encoder, "seeds": args.seeds, "rows": rows,
                                              "seconds_per_seed": {k: v / len(args.seeds) for k, v in seconds.items()}},
                                             indent=2, default=float))


if __name__ == "__main__":
    main()
