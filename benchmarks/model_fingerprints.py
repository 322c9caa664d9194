"""Fingerprint every preset's training: parameters and train log after a few quick-profile steps.

A refactoring tool, not a speed benchmark: run it before and after a change to the models or
the training core and compare; "identical" means bit-identical parameters (sha256 of every
state-dict tensor, optimiser states included via the checkpoint) and an identical train log
(every loss column, every row; the timing columns are left out).

    python benchmarks/model_fingerprints.py --out before.json
    ...change the code...
    python benchmarks/model_fingerprints.py --out after.json --compare before.json

Each preset trains its ``quick`` profile at seed 0 on dSprites for ``--steps`` steps
(batch size as in the profile), with the phase lengths scaled down so every phase runs
(Stacked GAN: 3 encoder + 3 independent steps; LSGAN/ACGAN: 3 post-hoc steps) and the GAN
mode-collapse monitor on every 4 steps, fed by a small factor classifier trained here
(seeded; the default one takes minutes). Bit-identity holds on one machine and one torch
build (CPU kernels differ between instruction sets), which is why this is a script and the
test suite checks behaviour instead.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

import torch

PHASES = {
    "sgan": {"encoder_steps": 3, "independent_steps": 3},
    "lsgan": {"posthoc_steps": 3},
    "acgan": {"posthoc_steps": 3},
}
GANS = ("infogan", "lsgan", "acgan", "sgan")


def tensor_hash(obj, h) -> None:
    """Feed every tensor / number / string of a nested checkpoint structure into ``h`` in key order."""
    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous()
        h.update(f"{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    elif isinstance(obj, dict):
        for k in sorted(obj, key=str):
            h.update(str(k).encode())
            tensor_hash(obj[k], h)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            tensor_hash(v, h)
    else:
        h.update(repr(obj).encode())


def fingerprint(preset: str, steps: int, root: Path) -> dict:
    from disbench.train import train_run

    model_over = {**PHASES.get(preset, {})}
    if preset in GANS:
        model_over["monitor_every"] = 4
    out = train_run(preset, dataset="dsprites", profile="quick", seed=0, out_dir=root / preset, device="cpu",
                    progress=False, overrides={"steps": steps, "checkpoint_every": 5, "log_every": 2,
                                               "model": model_over})
    ckpt = torch.load(out / "checkpoints" / "last.pt", map_location="cpu", weights_only=True)
    params, optim = hashlib.sha256(), hashlib.sha256()
    tensor_hash(ckpt["model"], params)
    tensor_hash(ckpt["optimizers"], optim)
    with open(out / "train_log.csv") as f:
        rows = [{k: v for k, v in r.items() if k not in ("time", "images_per_s")} for r in csv.DictReader(f)]
    return {"params_sha256": params.hexdigest(), "optimizers_sha256": optim.hexdigest(), "train_log": rows}


def small_feature_net():
    """A seeded factor classifier for the GAN monitor (its predictions enter the train log)."""
    from disbench import data
    from disbench.metrics import feature_net

    cfg = feature_net.FeatureNetConfig(steps=150, batch_size=32, num_heldout=64)
    net = feature_net.train_feature_net(data.load("dsprites"), seed=0, config=cfg, progress=False)
    feature_net.load_cached_feature_net = lambda dataset, seed=0: net
    return net


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--compare", type=Path, help="an earlier --out file; exit 1 unless identical")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--presets", nargs="*")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    from disbench.presets import list_presets

    small_feature_net()
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        for preset in args.presets or list_presets():
            result[preset] = fingerprint(preset, args.steps, Path(tmp))
            print(preset, result[preset]["params_sha256"][:16], len(result[preset]["train_log"]), "log rows",
                  flush=True)
    args.out.write_text(json.dumps(result, indent=1))
    if args.compare:
        before = json.loads(args.compare.read_text())
        bad = [p for p in result if before.get(p) != result[p]]
        print("identical" if not bad else f"DIFFERENT: {', '.join(bad)}", f"({len(result)} presets)")
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    os.environ.setdefault("DISBENCH_DATA", str(Path("~/.cache/disbench").expanduser()))
    sys.exit(main())
