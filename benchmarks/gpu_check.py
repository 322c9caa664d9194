"""The one script a GPU session runs (≤ 9 min on one H200; it stops itself in time).

Usage::

    python benchmarks/gpu_check.py                  # on CUDA: writes results/reference/gpu/gpu_check-<UTC time>.json
    python benchmarks/gpu_check.py --budget 300     # a shorter session
    python benchmarks/gpu_check.py --dry --out /tmp/g.json   # CPU, tiny sizes: every part once (tests/test_gpu_check.py)

Three parts, in order, each within what is left of ``--budget`` seconds (default 540):

1. **smoke**: every preset's every profile trains 2 steps on the device through the training
   core (phase lengths scaled with :func:`scaled_phases` so that phased models start at their
   first phase; ``torch.compile`` switched off to keep this part in budget, except for one
   compiled run of the β-VAE study profile); each gets ``ok`` or the error, and its seconds.
   At most ``--smoke-share`` of the budget; profiles past it are listed as not run;
2. **pack table**: :mod:`bench_pack` on the device — the plain-loop floor, one model at a
   time, and packs of 1 … 64 of the study network (images/s, × the floor, projected hours of
   the 1,800-model study) — and the pack size the runner should use on this device (the
   smallest within 5 % of the fastest);
3. **β-VAE study**: the ``study`` profile at its six β values, seed 0, trained as one pack
   (:func:`disbench.packing.train_pack`) for as many of the 300,000 steps as fit in the time
   left (from part 2's rate, leaving ``--score-reserve`` seconds), then each run scored at the
   ``default`` metric sizes (the six disentanglement metrics; no FID, whose feature network
   alone takes minutes), as many as fit.

The JSON holds every part's records, the device, torch version, the budget and the seconds
each part took. Without CUDA (and without ``--dry``) it prints one ``{"skipped": ...}`` line
and exits 0. A SIGALRM at the budget ends whatever runs and the JSON is still written.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import signal
import sys
import tempfile
import time
from pathlib import Path

import torch

#: model keys that are phase lengths or phase starts in steps (scaled with the run's length)
PHASE_KEYS = ("posthoc_steps", "encoder_steps", "independent_steps", "cr_start_step")
DEFAULT_OUT = Path("results") / "reference" / "gpu"


def scaled_phases(model_table: dict, profile_steps: int, steps: int) -> dict:
    """The :data:`PHASE_KEYS` of a profile's model table scaled from ``profile_steps`` to
    ``steps`` (rounded down, at least 1; 0 stays 0), as model overrides: rounding down keeps
    every phase within the shorter run, as the profile's phases are within its own."""
    return {k: (max(1, v * steps // profile_steps) if v else 0)
            for k, v in model_table.items() if k in PHASE_KEYS}


class OutOfTime(Exception):
    """The budget's alarm went off."""


def bench_pack():
    """benchmarks/bench_pack.py as a module (this script's sibling)."""
    spec = importlib.util.spec_from_file_location("bench_pack", Path(__file__).with_name("bench_pack.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def smoke(presets, root: Path, *, device: str, dataset: str, batch_size: int | None, until: float) -> list[dict]:
    """2 steps of every profile of every preset (part 1)."""
    from disbench.presets import load_preset
    from disbench.train import train_run

    records = []
    for name in presets:
        preset = load_preset(name)
        for profile in preset.profiles:
            record = {"preset": name, "profile": profile}
            if time.monotonic() > until:
                records.append({**record, "state": "not run (smoke budget spent)"})
                continue
            table = preset.profile(profile)
            over = {"steps": 2, "log_every": 1, "checkpoint_every": 2,
                    "model": scaled_phases(table["model"], table["steps"], 2)}
            if batch_size:
                over["batch_size"] = batch_size
            compiled = name == "beta_vae" and profile == "study"
            t = time.perf_counter()
            try:
                with _dynamo_disabled(not compiled):
                    train_run(name, dataset=dataset, profile=profile, out_dir=root / f"smoke-{name}-{profile}",
                              device=device, progress=False, overrides=over)
                record["state"] = "ok"
            except OutOfTime:
                raise
            except Exception as e:  # a broken profile is this part's finding, not the script's end
                record.update(state="failed", error=f"{type(e).__name__}: {e}"[:500])
            record.update(seconds=round(time.perf_counter() - t, 1), compiled=compiled)
            records.append(record)
    return records


def default_pack_size(rows: list[dict]) -> int | None:
    """The smallest pack size within 5 % of the fastest pack's images/s (None without pack rows)."""
    packs = [r for r in rows if r["mode"].startswith("pack ") and r["mode"].split()[1].isdigit()
             and len(r["mode"].split()) == 2]
    if not packs:
        return None
    best = max(r["images_per_s"] for r in packs)
    return min(r["models"] for r in packs if r["images_per_s"] >= 0.95 * best)


def rate_for(rows: list[dict], n: int) -> float:
    """images/s expected of a pack of ``n``: the measured rate of the largest pack ≤ n
    (a lower bound: larger packs run faster per image), else of the smallest pack."""
    packs = sorted((r["models"], r["images_per_s"]) for r in rows if r["mode"] == f"pack {r['models']}")
    below = [ips for m, ips in packs if m <= n]
    return below[-1] if below else (packs[0][1] if packs else 1.0)


def study(root: Path, *, device: str, dataset: str, rate: float, until: float, score_reserve: float,
          values, batch_size: int | None, metrics, metric_preset: str, max_steps: int | None) -> dict:
    """The β-VAE study profile at ``values``, seed 0, one pack, as many steps as fit (part 3)."""
    from disbench.metrics.evaluate import evaluate_run
    from disbench.packing import train_pack
    from disbench.presets import load_preset

    profile = load_preset("beta_vae").profile("study")
    batch = batch_size or profile["batch_size"]
    seconds = max(0.0, until - time.monotonic() - score_reserve)
    steps = int(seconds * rate / (batch * len(values)))
    steps = max(1, min(profile["steps"], max_steps or profile["steps"], steps))
    every = max(1, steps // 10)
    over = {"steps": steps, "log_every": every, "checkpoint_every": max(every, steps // 2)}
    if batch_size:
        over["batch_size"] = batch_size
    runs = [{"preset": "beta_vae", "dataset": dataset, "profile": "study", "seed": 0,
             "out_dir": root / f"study-beta{v:g}", "overrides": {**over, "model": {"beta": float(v)}}}
            for v in values]
    out = {"values": list(values), "seed": 0, "steps": steps, "of_steps": profile["steps"], "batch_size": batch,
           "metric_preset": metric_preset}
    t = time.perf_counter()
    outcome = train_pack(runs, device=device, progress=False)
    out["train_s"] = round(time.perf_counter() - t, 1)
    out["images_per_s"] = round(steps * batch * len(values) / max(out["train_s"], 1e-9), 1)
    out["runs"] = []
    for v, run, err in zip(values, runs, outcome):
        record = {"beta": v, "state": "failed" if err else "completed"}
        if err is None and time.monotonic() < until:
            t = time.perf_counter()
            scores = evaluate_run(run["out_dir"], metrics, preset=metric_preset, device=device)
            record.update(evaluate_s=round(time.perf_counter() - t, 1),
                          scores={k: v for k, v in scores.items() if "." not in k and isinstance(v, int | float)})
        elif err is None:
            record["scores"] = "not scored (budget spent)"
        else:
            record["error"] = str(err)
        out["runs"].append(record)
    return out


@contextlib.contextmanager
def _dynamo_disabled(disabled: bool):
    import torch._dynamo

    before = torch._dynamo.config.disable
    torch._dynamo.config.disable = disabled or before
    try:
        yield
    finally:
        torch._dynamo.config.disable = before


def _alarm(signum, frame):
    raise OutOfTime("gpu_check budget spent")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=540.0, help="wall seconds for everything (default 9 min)")
    ap.add_argument("--presets", nargs="*", default=None, help="smoke: these presets (default: every preset)")
    ap.add_argument("--packs", type=int, nargs="*", default=[1, 2, 4, 8, 16, 32, 64])
    ap.add_argument("--pack-steps", type=int, default=10, help="timed steps per pack-table row")
    ap.add_argument("--smoke-share", type=float, default=0.3, help="largest share of the budget for the smoke")
    ap.add_argument("--score-reserve", type=float, default=150.0, help="seconds kept for scoring the study runs")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--out", type=Path, default=None, help=f"the JSON file (default {DEFAULT_OUT}/gpu_check-<time>.json)")
    ap.add_argument("--dry", action="store_true",
                    help="CPU, tiny sizes (batch 8, packs 1 2, 2 study values of 2 steps, MIG at the quick preset)")
    ap.add_argument("--dataset", default="dsprites", help=argparse.SUPPRESS)  # tests: a tiny dataset
    args = ap.parse_args(argv)
    if args.dry:
        args.device = "cpu"
    elif args.device.startswith("cuda") and not torch.cuda.is_available():
        print(json.dumps({"skipped": "no CUDA device here; run benchmarks/gpu_check.py on a GPU machine"}))
        return 0
    from disbench import data
    from disbench.presets import list_presets

    start = time.monotonic()
    end = start + args.budget
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(max(1, int(args.budget)))
    cuda = args.device.startswith("cuda")
    result: dict = {"device": torch.cuda.get_device_name(args.device) if cuda else args.device,
                    "torch": torch.__version__, "budget_s": args.budget, "dry": args.dry,
                    "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "parts_s": {}}
    out = args.out or DEFAULT_OUT / f"gpu_check-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            ds = data.load(args.dataset)
            if hasattr(ds, "prepare"):
                ds.prepare(progress=False)
            t = time.monotonic()
            presets = args.presets if args.presets is not None else (["beta_vae"] if args.dry else list_presets())
            result["smoke"] = smoke(presets, Path(tmp), device=args.device, dataset=args.dataset,
                                    batch_size=4 if args.dry else None,
                                    until=min(end, t + args.smoke_share * args.budget))
            result["parts_s"]["smoke"] = round(time.monotonic() - t, 1)
            t = time.monotonic()
            rows = bench_pack().run([1, 2] if args.dry else args.packs, steps=1 if args.dry else args.pack_steps,
                                    batch_size=8 if args.dry else 64, device=args.device, dataset=args.dataset,
                                    echo=lambda line: print(line, flush=True))
            result["pack_table"] = rows
            result["default_pack_size"] = default_pack_size(rows)
            result["parts_s"]["pack_table"] = round(time.monotonic() - t, 1)
            t = time.monotonic()
            values = (1.0, 16.0) if args.dry else (1.0, 2.0, 4.0, 6.0, 8.0, 16.0)
            from disbench.metrics.evaluate import default_metrics

            result["study"] = study(Path(tmp), device=args.device, dataset=args.dataset,
                                    rate=rate_for(rows, len(values)), until=end,
                                    score_reserve=0.0 if args.dry else args.score_reserve, values=values,
                                    batch_size=8 if args.dry else None,
                                    metrics=["mig"] if args.dry else default_metrics(),
                                    metric_preset="quick" if args.dry else "default",
                                    max_steps=2 if args.dry else None)
            result["parts_s"]["study"] = round(time.monotonic() - t, 1)
    except OutOfTime:
        result["stopped"] = "budget spent"
    finally:
        signal.alarm(0)
        result["wall_s"] = round(time.monotonic() - start, 1)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1))
        print(json.dumps({"wrote": str(out), "wall_s": result["wall_s"], "stopped": result.get("stopped")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
