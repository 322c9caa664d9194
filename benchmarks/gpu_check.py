"""GPU check of every preset's ``paper`` profile: speed, memory, precision agreement, one evaluation.

Usage::

    python benchmarks/gpu_check.py                       # every preset, on cuda
    python benchmarks/gpu_check.py --presets infogan dcign --steps 200 --agree-steps 50
    python benchmarks/gpu_check.py --metrics mig dci     # a shorter evaluation

For each preset, on CUDA (``--device``, default ``cuda``):

1. ``--steps`` (200) steps of the ``paper`` profile through the training core (precision as
   the profile says; the phase lengths of phased models — :data:`PHASE_KEYS` — scaled by
   ``steps / profile steps``, rounded down, at least 1, so every phase runs): images/s over
   the steps after the first log interval (which holds ``torch.compile``'s warm-up), peak GPU
   memory (``torch.cuda.max_memory_allocated``, MiB);
2. the first ``--agree-steps`` (50) steps twice more, from the same seed, in float32 and
   under bf16 autocast, logging every step: the largest and the median relative
   difference of each loss term (``|bf16 − fp32| / max(|fp32|, 1e-3)``, per step). GAN
   losses are chaotic, so read it as "same trajectory early on", not bitwise agreement;
3. one ``evaluate`` of the 200-step run at the ``default`` metric sizes (all default
   metrics with FID unless ``--metrics``), its wall time and scores.

Prints one JSON line per preset. Without a CUDA device it prints one JSON line
``{"skipped": ...}`` and exits 0, so it can sit in scripts that also run on CPU machines;
``--device cpu`` runs the same checks on the CPU instead (a dry run of this script: no peak
memory, and both precisions are float32 there).
Target: under 8 minutes on one H100-class GPU for all presets (not yet measured: no GPU
was available when it was written; see README "Performance").
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

#: columns of train_log.csv that are not loss terms (the GAN mode-collapse count included)
NOT_LOSSES = ("step", "time", "images_per_s", "distinct_shapes")
#: model keys that are phase lengths or phase starts in steps (scaled with the run's length)
PHASE_KEYS = ("posthoc_steps", "encoder_steps", "independent_steps", "cr_start_step")


def scaled_phases(model_table: dict, profile_steps: int, steps: int) -> dict:
    """The :data:`PHASE_KEYS` of a profile's model table scaled from ``profile_steps`` to
    ``steps`` (rounded down, at least 1; 0 stays 0), as model overrides: rounding down keeps
    every phase within the shorter run, as the profile's phases are within its own."""
    return {k: (max(1, v * steps // profile_steps) if v else 0)
            for k, v in model_table.items() if k in PHASE_KEYS}


def read_log(run_dir: Path) -> list[dict]:
    """Rows of ``run_dir/train_log.csv`` as dicts of floats."""
    with open(Path(run_dir) / "train_log.csv", newline="") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def loss_agreement(reference: list[dict], other: list[dict], floor: float = 1e-3) -> dict:
    """Per loss term, the max and median over steps of ``|other − reference| / max(|reference|, floor)``.

    Args:
        reference, other: train-log rows (dicts of floats) of the same steps, same order;
            columns in :data:`NOT_LOSSES` are ignored, as are terms missing from either.
        floor: the smallest denominator (terms that are 0 in a phase, e.g. a post-hoc loss).

    Returns:
        ``{term: {"max_rel_diff": float, "median_rel_diff": float}}``.

    Raises:
        ValueError: the two logs have different lengths or steps.
    """
    if [r.get("step") for r in reference] != [r.get("step") for r in other]:
        raise ValueError("the two train logs cover different steps")
    terms = [k for k in reference[0] if k not in NOT_LOSSES and k in other[0]] if reference else []
    out = {}
    for k in terms:
        rel = [abs(b[k] - a[k]) / max(abs(a[k]), floor) for a, b in zip(reference, other, strict=True)]
        out[k] = {"max_rel_diff": round(max(rel), 4), "median_rel_diff": round(statistics.median(rel), 4)}
    return out


def check_preset(preset: str, root: Path, *, steps: int, agree_steps: int, metrics, device: str) -> dict:
    """The JSON record of one preset (see the module docstring)."""
    from disbench.metrics.evaluate import evaluate_run
    from disbench.presets import load_preset
    from disbench.train import train_run

    cuda = torch.device(device).type == "cuda"
    out: dict = {"preset": preset, "profile": "paper", "device": torch.cuda.get_device_name(device) if cuda else device}
    profile = load_preset(preset).profile("paper")
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    log_every = max(1, steps // 10)
    run = train_run(preset, profile="paper", out_dir=root / f"{preset}-speed", device=device, progress=False,
                    overrides={"steps": steps, "log_every": log_every, "checkpoint_every": steps,
                               "model": scaled_phases(profile["model"], profile["steps"], steps)})
    config = json.loads((run / "config.json").read_text())
    rows = read_log(run)
    timed = rows[1:] or rows
    seconds = timed[-1]["time"] - (rows[0]["time"] if len(rows) > 1 else 0.0)
    images = (timed[-1]["step"] - (rows[0]["step"] if len(rows) > 1 else 0)) * config["batch_size"]
    out.update(precision=config.get("precision"), batch_size=config["batch_size"], steps=steps,
               images_per_s=round(images / max(seconds, 1e-9), 1),
               peak_memory_mib=round(torch.cuda.max_memory_allocated(device) / 2**20, 1) if cuda else None)
    logs = {}
    for precision in ("float32", "bf16"):
        logs[precision] = read_log(train_run(
            preset, profile="paper", out_dir=root / f"{preset}-{precision}", device=device, progress=False,
            overrides={"steps": agree_steps, "log_every": 1, "checkpoint_every": agree_steps,
                       "precision": precision,
                       "model": scaled_phases(profile["model"], profile["steps"], agree_steps)}))
    out["bf16_vs_float32"] = loss_agreement(logs["float32"], logs["bf16"])
    t = time.perf_counter()
    result = evaluate_run(run, metrics, preset="default", device=device)
    out["evaluate_s"] = round(time.perf_counter() - t, 1)
    out["scores"] = {k: v for k, v in result.items() if "." not in k and isinstance(v, int | float)}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", nargs="*", default=None, help="default: every preset")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--agree-steps", type=int, default=50)
    ap.add_argument("--metrics", nargs="*", default=None, help="default: all default metrics with FID")
    ap.add_argument("--device", default="cuda", help="cuda, cuda:N, or cpu for a dry run")
    args = ap.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(json.dumps({"skipped": "no CUDA device here; run benchmarks/gpu_check.py on a GPU machine"}))
        return 0
    from disbench.presets import list_presets

    with tempfile.TemporaryDirectory() as tmp:
        for preset in args.presets or list_presets():
            t = time.perf_counter()
            record = check_preset(preset, Path(tmp), steps=args.steps, agree_steps=args.agree_steps,
                                  metrics=args.metrics, device=args.device)
            record["wall_s"] = round(time.perf_counter() - t, 1)
            print(json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
