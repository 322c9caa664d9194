"""Benchmark: FID with the default feature network, 10,000 real vs 10,000 generated images.

Target (issue 3): ≤ 30 s on the 2-core CPU with the feature network already trained.
Also times training the feature network (target ≤ ~60 s, it runs once per dataset inside
the first ``disbench run``) and prints its held-out per-factor accuracy. The "generator"
is a second draw of dSprites images, so the FID printed is the real-vs-real floor.

Training uses a fresh cache folder (a temporary ``$DISBENCH_DATA``) unless ``--cached`` is
given, in which case the network in the usual cache is reused (or trained once there).

Run::

    python benchmarks/bench_fid.py                 # train in a temp cache, then time FID
    python benchmarks/bench_fid.py --cached        # reuse datasets/feature_nets/
    python benchmarks/bench_fid.py --json bench_fid.json
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import numpy as np
import torch

TARGET_FID_SECONDS = 30.0
TARGET_TRAIN_SECONDS = 60.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="dsprites")
    parser.add_argument("--num", type=int, default=10_000, help="images per side (default 10,000)")
    parser.add_argument("--cached", action="store_true", help="use the usual cache instead of a fresh one")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        if not args.cached:
            os.environ["DISBENCH_DATA"] = tmp
        from disbench import data
        from disbench.metrics.feature_net import feature_net_path, load_feature_net
        from disbench.metrics.fid import fid

        dataset = data.load(args.dataset)
        if hasattr(dataset, "prepare"):
            dataset.prepare(progress=False)
        trained_here = not feature_net_path(dataset, 0).is_file()
        start = time.perf_counter()
        net = load_feature_net(dataset, progress=True)
        train_s = time.perf_counter() - start

        rng = np.random.default_rng(123)
        start = time.perf_counter()
        result = fid(dataset, lambda n: dataset.sample_observations(n, rng), num_real=args.num, num_fake=args.num)
        fid_s = time.perf_counter() - start

    figures = {
        "dataset": args.dataset,
        "torch_threads": torch.get_num_threads(),
        "feature_net_seconds": round(train_s, 2),
        "feature_net_trained_here": trained_here,
        "heldout_accuracy": {k: round(v, 4) for k, v in net.info["heldout_accuracy"].items()},
        "fid_seconds": round(fid_s, 2),
        "fid_target_seconds": TARGET_FID_SECONDS,
        "num_real": result["num_real"],
        "num_fake": result["num_fake"],
        "fid_real_vs_real": round(result["score"], 4),
        "kid_real_vs_real": result["kid_mean"],
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)
    ok = fid_s <= TARGET_FID_SECONDS
    print(f"FID {args.num} vs {args.num}: {fid_s:.1f} s (target ≤ {TARGET_FID_SECONDS:.0f} s) -> {'OK' if ok else 'SLOW'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
