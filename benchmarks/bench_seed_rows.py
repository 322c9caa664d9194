"""Main-job time of the ``ae`` and ``dcgan`` rows: training through disbench beside a plain PyTorch loop.

Usage::

    python benchmarks/bench_seed_rows.py                  # ae, dcgan: 20 timed steps each, 2 rounds
    python benchmarks/bench_seed_rows.py --steps 50 --rounds 3 --threads 2

For each preset's ``quick`` profile, in one process and alternating (so machine load hits both
alike): (1) ``disbench.train.train_run`` for ``WARMUP + steps`` steps (the training core: batch
stream, logging, checkpoint at the end), timed from ``train_log.csv`` between the warm-up row and
the last row; (2) a plain PyTorch loop over the same networks (built by
:func:`disbench.train.build_model` from the same config), the same batch size and optimiser
settings, on batches drawn beforehand, with the loss written out by hand (AE: Bernoulli NLL;
DCGAN: one D and one non-saturating G step). Prints seconds per step of each, their ratio, and
the quick profile's training time both predict (steps × s/step). The host's load average is
printed: on a shared machine the absolute figures move, the ratio much less.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from disbench import data
from disbench.train import build_model, resolve_config, train_run

WARMUP = 3


def core_seconds_per_step(preset: str, steps: int) -> float:
    """s/step of ``steps`` steps through the training core (after :data:`WARMUP` steps)."""
    with tempfile.TemporaryDirectory() as tmp:
        over = {"steps": WARMUP + steps, "checkpoint_every": 10**9, "log_every": WARMUP}
        if preset == "dcgan":
            over["model"] = {"posthoc_steps": 1, "monitor_every": 0}
        out = train_run(preset, profile="quick", out_dir=Path(tmp) / "run", device="cpu", progress=False,
                        overrides=over)
        with open(out / "train_log.csv") as f:
            rows = list(csv.DictReader(f))
    return (float(rows[-1]["time"]) - float(rows[0]["time"])) / (int(rows[-1]["step"]) - int(rows[0]["step"]))


def plain_seconds_per_step(preset: str, steps: int, dataset) -> float:
    """s/step of a hand-written PyTorch loop over the preset's networks and optimiser settings."""
    config = resolve_config(preset, profile="quick", seed=0)
    model = build_model(config, dataset, seed=0).train()
    c, b = model.config, config["batch_size"]
    rng = np.random.default_rng(0)
    xs = [torch.from_numpy(dataset.sample(b, rng)[1]) for _ in range(WARMUP + steps)]
    if preset == "ae":
        opt = torch.optim.Adam(model.parameters(), lr=c.lr, betas=c.betas, eps=c.eps)

        def step(x):
            loss = F.binary_cross_entropy_with_logits(model.decoder(model.encoder(x)), x, reduction="sum") / len(x)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    else:
        g, d = model.net_g, model.net_d
        opt_g = torch.optim.Adam(g.parameters(), lr=c.lr_g, betas=(c.beta1, 0.999))
        opt_d = torch.optim.Adam(d.parameters(), lr=c.lr_d, betas=(c.beta1, 0.999))

        def step(x):
            fake = g(torch.rand(len(x), c.z_dim) * 2 - 1)
            real_logits, fake_logits = d(x), d(fake.detach())
            d_loss = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits)) \
                + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            for p in d.parameters():
                p.requires_grad_(False)
            out = d(fake)
            g_loss = F.binary_cross_entropy_with_logits(out, torch.ones_like(out))
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
            for p in d.parameters():
                p.requires_grad_(True)
    for x in xs[:WARMUP]:
        step(x)
    t = time.perf_counter()
    for x in xs[WARMUP:]:
        step(x)
    return (time.perf_counter() - t) / steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", nargs="*", default=["ae", "dcgan"])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=2, help="alternations of plain loop and core")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dataset = data.load("dsprites")
    print(f"load average before: {os.getloadavg()}", flush=True)
    results = []
    for preset in args.presets:
        plain, core = [], []
        for _ in range(args.rounds):
            plain.append(plain_seconds_per_step(preset, args.steps, dataset))
            core.append(core_seconds_per_step(preset, args.steps))
        quick_steps = resolve_config(preset, profile="quick")["steps"]
        p, k = float(np.median(plain)), float(np.median(core))
        r = {"preset": preset, "plain_s_per_step": round(p, 4), "core_s_per_step": round(k, 4),
             "core_over_plain": round(k / p, 3), "quick_steps": quick_steps,
             "quick_train_s_plain": round(quick_steps * p, 1), "quick_train_s_core": round(quick_steps * k, 1),
             "rounds_plain": [round(v, 4) for v in plain], "rounds_core": [round(v, 4) for v in core],
             "threads": args.threads}
        print(json.dumps(r), flush=True)
        results.append(r)
    print(f"load average after: {os.getloadavg()}")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
