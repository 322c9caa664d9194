"""Packed training throughput: one model at a time vs packs of N (``--pack N``), same process.

Usage::

    nice -n 10 python benchmarks/bench_pack.py                       # CPU: packs 1 2 4 8 16 32, 2 timed steps
    python benchmarks/bench_pack.py --device cuda --steps 20 --packs 1 2 4 8 16 32 64
    python benchmarks/bench_pack.py --json results/bench_pack.json

The network is the ``study`` profile's (β-VAE, ``conv_dlib``: disentanglement_lib's conv
encoder/decoder, 10 latents, Adam, batch 64 on dSprites; the study's other VAEs share it). Rows,
all timed in this process after one warm-up step, images/s = models × steps × batch / seconds:

- ``plain loop``: the floor — the same encoder/decoder, the β-VAE loss and Adam written as a
  bare PyTorch loop over one fixed in-memory batch (no data pipeline, no logging);
- ``one at a time``: the training core (:func:`disbench.train.fit`), models trained one after another;
- ``pack N``: :func:`disbench.packing.fit_pack`, N models (seeds and β values) side by side,
  with the device's default evaluation (slot by slot on the CPU, ``torch.vmap`` elsewhere);
  ``--vmap-too`` adds ``pack N vmap`` rows on the CPU (the grouped-convolution evaluation).

``--repeats R`` times every row R times, interleaved, and keeps the fastest (the host's load
varies between rows).

Each row also gives the projected time of the 1,800-model dSprites study (Locatello et al.
2019: 6 methods × 6 values × 50 seeds, 300,000 steps of batch 64) at that rate. The CPU is
shared and loaded: compare rows, which are timed in one process minutes apart; the absolute
figures are beside them.
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

STUDY_MODELS, STUDY_STEPS = 1800, 300_000
BETAS = (1.0, 2.0, 4.0, 6.0, 8.0, 16.0)


def study_hours(images_per_s: float, batch_size: int = 64) -> float:
    """Hours to train the 1,800-model study at ``images_per_s`` (all models, one device)."""
    return STUDY_MODELS * STUDY_STEPS * batch_size / max(images_per_s, 1e-9) / 3600


def study_config(batch_size: int, steps: int) -> dict:
    from disbench.train import resolve_config

    return resolve_config("beta_vae", profile="study", overrides={
        "steps": steps, "batch_size": batch_size, "checkpoint_every": 10**9, "log_every": 1})


def plain_loop(dataset, batch_size: int, steps: int, device: torch.device) -> float:
    """images/s of a bare β-VAE loop (the floor)."""
    from disbench.models.nets import make_decoder, make_encoder

    torch.manual_seed(0)
    enc = make_encoder("conv_dlib", dataset.observation_shape, 20).to(device)
    dec = make_decoder("conv_dlib", dataset.observation_shape, 10).to(device)
    opt = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=1e-4)
    x = torch.from_numpy(dataset.sample(batch_size, np.random.default_rng(0))[1]).to(device)

    def step():
        mu, logvar = enc(x).chunk(2, dim=1)
        z = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
        recon = F.binary_cross_entropy_with_logits(dec(z), x, reduction="sum") / len(x)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(1).mean()
        loss = recon + 4.0 * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()
    _sync(device)
    t = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return steps * batch_size / (time.perf_counter() - t)


def timed_seconds(run_dir: Path, warmup: int) -> float:
    """Training seconds of the steps after ``warmup`` (train_log.csv, one row per step)."""
    with open(run_dir / "train_log.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return float(rows[-1]["time"]) - float(rows[warmup - 1]["time"])


def one_at_a_time(dataset, batch_size: int, steps: int, device, root: Path, models: int = 2) -> float:
    from disbench.train import build_model, fit

    config = study_config(batch_size, steps + 1)
    seconds = 0.0
    for seed in range(models):
        model = build_model(config, dataset, seed=seed)
        out = root / f"alone{seed}"
        fit(model, dataset, steps=steps + 1, batch_size=batch_size, seed=seed, out_dir=out, checkpoint_every=10**9,
            log_every=1, device=device, progress=False)
        seconds += timed_seconds(out, 1)
    return models * steps * batch_size / seconds


def packed(dataset, batch_size: int, steps: int, device, root: Path, size: int, vectorize=None) -> float:
    from disbench.packing import PackMember, fit_pack
    from disbench.train import build_model

    members = []
    for seed in range(size):
        config = study_config(batch_size, steps + 1)
        config["hparams"]["beta"] = BETAS[seed % len(BETAS)]
        members.append(PackMember(build_model(config, dataset, seed=seed), seed,
                                  root / f"pack{size}-{vectorize}-{seed}"))
    fit_pack(members, dataset, steps=steps + 1, batch_size=batch_size, checkpoint_every=10**9, log_every=1,
             device=device, progress=False, vectorize=vectorize)
    return size * steps * batch_size / timed_seconds(members[0].out_dir, 1)


def _sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def run(packs, *, steps: int, batch_size: int, device: str, repeats: int = 1, vmap_too: bool = False,
        dataset: str = "dsprites", echo=print) -> list[dict]:  # fmt: skip
    """The table's rows (dicts; the fastest of ``repeats``), printed as they come."""
    from disbench import data
    from disbench.device import resolve_device

    dev = resolve_device(device)
    ds = data.load(dataset)
    if hasattr(ds, "prepare"):
        ds.prepare(progress=False)
    jobs = [("plain loop", 1, lambda root: plain_loop(ds, batch_size, steps, dev)),
            ("one at a time", 2, lambda root: one_at_a_time(ds, batch_size, steps, dev, root))]
    for n in packs:
        jobs.append((f"pack {n}", n, lambda root, n=n: packed(ds, batch_size, steps, dev, root, n)))
        if vmap_too and dev.type == "cpu":
            jobs.append((f"pack {n} vmap", n, lambda root, n=n: packed(ds, batch_size, steps, dev, root, n, True)))
    best: dict[str, float] = {}
    for r in range(repeats):
        for mode, _, job in jobs:
            with tempfile.TemporaryDirectory() as tmp:
                ips = job(Path(tmp))
            best[mode] = max(best.get(mode, 0.0), ips)
            echo(json.dumps({"repeat": r, "mode": mode, "images_per_s": round(ips, 1)}))
    floor = best["plain loop"]
    return [{"mode": mode, "models": models, "batch_size": batch_size, "images_per_s": round(best[mode], 1),
             "vs_plain_loop": round(best[mode] / floor, 3), "vs_one_at_a_time": round(best[mode] / best["one at a time"], 3),
             "study_hours": round(study_hours(best[mode], batch_size), 1)} for mode, models, _ in jobs]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--packs", type=int, nargs="*", default=None,
                    help="pack sizes (default: 1 2 4 8 16 32, and 64 on CUDA)")
    ap.add_argument("--steps", type=int, default=2, help="timed steps per row (after one warm-up step)")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=1, help="time each row this often (interleaved); keep the fastest")
    ap.add_argument("--vmap-too", action="store_true", help="on the CPU, also time packs evaluated with torch.vmap")
    ap.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    packs = args.packs or [1, 2, 4, 8, 16, 32] + ([64] if args.device.startswith("cuda") else [])
    rows = run(packs, steps=args.steps, batch_size=args.batch_size, device=args.device, repeats=args.repeats,
               vmap_too=args.vmap_too)
    print(f"{'mode':<14} {'models':>6} {'img/s':>10} {'× plain':>8} {'× 1-at-a-time':>14} {'study h':>9}")
    for r in rows:
        print(f"{r['mode']:<14} {r['models']:>6} {r['images_per_s']:>10.1f} {r['vs_plain_loop']:>8.2f} "
              f"{r['vs_one_at_a_time']:>14.2f} {r['study_hours']:>9.0f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"device": args.device, "threads": torch.get_num_threads(), "rows": rows},
                                        indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
