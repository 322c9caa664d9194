"""Calibration of FID and KID on dSprites' factor-network features: raw vs standardised.

Scores a second real sample and corrupted real images against real dSprites, with the
default (cached) feature network, on the raw features and on the features standardised by
the real sample's statistics (what ``disbench.metrics.fid`` reports since issue 11). Prints a
Markdown table for the README ("FID and KID scale").

    python benchmarks/fid_scale.py --num 2000      # the quick metric preset's sizes
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from disbench import data
from disbench.metrics.feature_net import load_feature_net
from disbench.metrics.fid import fid_from_features, kid_from_features, standardize_features


def cases(ds):
    """name -> sample(n, rng) of real or corrupted dSprites images."""

    def blurred(passes):
        def sample(n, rng):
            x = torch.from_numpy(ds.sample_observations(n, rng))
            for _ in range(passes):
                x = torch.nn.functional.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
            return x.numpy()

        return sample

    def noisy(sigma):
        return lambda n, rng: np.clip(ds.sample_observations(n, rng) + sigma * rng.standard_normal((n, 1, 64, 64)), 0,
                                      1).astype(np.float32)  # fmt: skip

    def one_shape(n, rng):
        factors = ds.sample_factors(n, rng)
        factors[:, 0] = 2  # hearts only
        return ds.sample_observations_from_factors(factors, rng)

    return {
        "real vs real (another sample)": lambda n, rng: ds.sample_observations(n, rng),
        "pixel noise σ = 0.05": noisy(0.05), "pixel noise σ = 0.15": noisy(0.15), "pixel noise σ = 0.4": noisy(0.4),
        "3×3 blur, 1 pass": blurred(1), "3×3 blur, 3 passes": blurred(3), "3×3 blur, 8 passes": blurred(8),
        "hearts only (1 of 3 shapes)": one_shape,
        "blank images": lambda n, rng: np.zeros((n, 1, 64, 64), np.float32),
    }  # fmt: skip


def features(net, x, batch=500):
    with torch.no_grad():
        return torch.cat([net.features(torch.from_numpy(np.asarray(x[i : i + batch]))) for i in range(0, len(x), batch)])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num", type=int, default=2000, help="real and generated images each")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    ds = data.load("dsprites")
    ds.prepare(progress=False)
    net = load_feature_net(ds, seed=0)
    real = features(net, ds.sample_observations(args.num, np.random.default_rng(0)))
    print(f"| {args.num} vs {args.num} images | FID raw | KID raw | FID (standardised) | KID (standardised) |")
    print("| --- | --: | --: | --: | --: |")
    for name, sample in cases(ds).items():
        fake = features(net, sample(args.num, np.random.default_rng(1)))
        r, f, _ = standardize_features(real, fake)
        raw_kid = kid_from_features(real, fake, random_state=0)["kid_mean"]
        std_kid = kid_from_features(r, f, random_state=0)["kid_mean"]
        print(f"| {name} | {fid_from_features(real, fake):.4g} | {raw_kid:.4g} | {fid_from_features(r, f):.3g} "
              f"| {std_kid:.3g} |")  # fmt: skip


if __name__ == "__main__":
    main()
