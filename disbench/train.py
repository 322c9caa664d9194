"""The training core: runs a baseline preset into a run directory.

``train_run`` resolves a preset profile into a config, builds the model, and ``fit`` trains
it step by step, drawing every batch through the dataset interface (``model.next_batch``)
in a background thread. The run directory (also described in ``results/README.md``)::

    RUN_DIR/config.json  status.json  train_log.csv  env.json
           checkpoints/last.pt  samples.png  reconstructions.png (VAEs)  traversals.png/.gif

Reproducibility: three independent streams are derived from the seed (model
initialisation, training noise = ``model.generator``, data = a numpy Generator); their
states, the model, the optimisers and the step are saved in every checkpoint, so a run
resumed from ``checkpoints/last.pt`` ends with the same parameters as an uninterrupted one
(bit-exact on the CPU, where deterministic algorithms are enforced; CUDA runs use bf16
compiled sub-networks and TF32 or bf16 autocast — the profile's ``precision`` — and are
reproducible only up to kernel nondeterminism).

Runs of a model that declares the packing hooks can also train N at a time, each still into
its own run directory with its own streams (:mod:`disbench.packing`, ``--pack N``).
"""

from __future__ import annotations

import contextlib
import csv
import math
import platform
import queue
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

import disbench
from disbench import data as data_mod
from disbench.allocator import tune_allocator
from disbench.device import (
    compile_submodules,
    device_description,
    effective_precision,
    precision_context,
    resolve_device,
)
from disbench.errors import DisbenchError, InvalidInputError, MissingFileError
from disbench.images import save_grid, save_traversal_gif
from disbench.io import atomic_path, read_json, write_json_atomic
from disbench.models import Baseline, DatasetInfo, get_model_class
from disbench.presets import load_preset

CHECKPOINT = Path("checkpoints") / "last.pt"
# config keys that must match for a run directory to be resumed
RESUME_KEYS = ("preset", "model", "dataset", "seed", "steps", "batch_size", "precision", "data_source", "hparams")
GRID_SAMPLES = 64
GRID_RECONSTRUCTIONS = 8
TRAVERSAL_STEPS = 10


class TrainingFailed(DisbenchError):
    """Training stopped: a non-finite loss (or another error); status.json says where.

    Attributes:
        step: the step (1-based count of steps done) at which it failed.
        losses: the loss terms of that step.
    """

    def __init__(self, message: str, step: int = 0, losses: dict | None = None):
        super().__init__(message)
        self.step = step
        self.losses = dict(losses or {})


# --- public entry points ------------------------------------------------------------------
def default_run_dir(preset: str, dataset: str = "dsprites", profile: str = "quick", seed: int = 0,
                    root: str | Path = Path("results") / "runs", variant: str = "") -> Path:
    """``root/<preset>[+<variant>]-<dataset>-<profile>-s<seed>`` (the CLI's default ``--out``;
    ``variant`` is the label of ``--set``'s changes, :func:`disbench.results.variant_label`)."""
    row = Path(str(preset)).stem + (f"+{variant}" if variant else "")
    return Path(root) / f"{row}-{dataset}-{profile}-s{seed}"


def resolve_config(preset: str, *, dataset: str = "dsprites", profile: str = "quick", seed: int = 0,
                   overrides: dict | None = None) -> dict:
    """The resolved run config (what ``config.json`` holds).

    ``overrides`` replace profile keys (``steps``, ``batch_size``, ``checkpoint_every``,
    ``log_every``, ``precision``); ``overrides["model"]`` updates the model hyper-parameters
    (:meth:`disbench.presets.Preset.resolve_profile`, the path of ``--set``); they are also
    recorded as given under ``"overrides"``.
    ``overrides["data_source"]`` (what a planned spec resolved) replaces the profile's
    ``data_source``; ``"data_source"`` is then resolved on this machine
    (:func:`disbench.data.resolve_source`: ``"auto"`` becomes ``"file"`` or, with one warning,
    ``"procedural"``), or None for the dataset's default.
    ``"hparams"`` holds the model's resolved config (every field of its config dataclass,
    defaults filled in). ``"precision"`` is the profile's training precision on CUDA
    (``"float32"``, TF32 allowed, unless the profile says ``"bf16"``); what the run's device
    did is in its ``env.json``.

    Raises:
        UnknownNameError: unknown preset or profile.
        UnknownConfigKeyError: an override key that is not one of the above, or a model key (in
            the preset or the overrides) the model's config lacks.
        InvalidInputError: a bad seed, or a bad override or model value.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise InvalidInputError(f"seed must be a non-negative int, got {seed!r}")
    p = load_preset(preset)
    overrides = dict(overrides or {})
    source = overrides.pop("data_source", None)  # resolved by the planner; not a --set key
    prof = p.resolve_profile(profile, overrides)
    if source is not None:
        prof["data_source"] = source
    model_config = get_model_class(p.model).config_class.from_table(
        prof["model"], where=f"preset {p.name!r} profile {profile!r}")
    return {
        "preset": p.name,
        "model": p.model,
        "display_name": p.display_name,
        "dataset": dataset,
        "profile": profile,
        "seed": seed,
        "steps": prof["steps"],
        "batch_size": prof["batch_size"],
        "checkpoint_every": prof["checkpoint_every"],
        "log_every": prof["log_every"],
        "precision": prof["precision"],
        "data_source": data_mod.resolve_source(dataset, prof.get("data_source")),
        "hparams": model_config.to_dict(),
        "supervision": p.supervision,
        "representation": p.representation,
        "citation": p.citation,
        "paper": p.paper,
        "overrides": {k: v for k, v in (overrides or {}).items() if v not in ({}, None)},
        "disbench_version": disbench.__version__,
    }


def train_run(preset: str, *, dataset: str = "dsprites", profile: str = "quick", seed: int = 0,
              out_dir: str | Path, device: str = "auto", progress: bool = True,
              overrides: dict | None = None, callbacks=()) -> Path:
    """Train preset ``preset`` into ``out_dir`` (created, or resumed) and return it;
    ``callbacks`` go to :func:`fit` (experiment trackers, :mod:`disbench.tracking`).

    A completed run directory (``status.json`` state "completed") is returned untouched;
    any other existing one is resumed from ``checkpoints/last.pt`` (or started afresh if
    it has none) provided its config matches.

    Raises:
        UnknownNameError: unknown preset, profile, dataset or model.
        InvalidInputError: ``out_dir`` holds a run with a different config; bad override.
        TrainingFailed: a non-finite loss or another error during training (status.json is
            "failed" with the step, the error and the last losses).
    """
    out_dir = Path(out_dir)
    config = resolve_config(preset, dataset=dataset, profile=profile, seed=seed, overrides=overrides)
    if is_completed(config, out_dir):
        return out_dir
    ds = data_mod.load(dataset, config["data_source"])
    if hasattr(ds, "prepare"):
        ds.prepare(progress=progress)
    dev = resolve_device(device)
    start_run_dir(config, out_dir, dev)
    model = build_model(config, ds, seed=seed)
    fit(model, ds, steps=config["steps"], batch_size=config["batch_size"], seed=seed, out_dir=out_dir,
        checkpoint_every=config["checkpoint_every"], log_every=config["log_every"], device=dev,
        precision=config["precision"],
        progress=progress, desc=f"{config['preset']} s{seed}", callbacks=callbacks)
    return out_dir


def is_completed(config: dict, out_dir: Path) -> bool:
    """Whether ``out_dir`` holds the completed run of ``config`` (False: nothing there, or a
    run to resume).

    Raises:
        InvalidInputError: ``out_dir`` holds a run with a different config.
    """
    old = read_json(out_dir / "config.json")
    if old is not None:
        diff = [k for k in RESUME_KEYS if _resolved(old, k) != config[k]]
        if diff:
            raise InvalidInputError(
                f"{out_dir} holds a run with a different config ({', '.join(diff)} differ); "
                "choose another --out or delete that directory"
            )
    status = read_json(out_dir / "status.json")
    return bool(status and status.get("state") == "completed" and (out_dir / CHECKPOINT).is_file())


def start_run_dir(config: dict, out_dir: Path, device: torch.device) -> None:
    """Create ``out_dir`` and write its config.json and env.json (before training or resuming)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out_dir / "config.json", config)
    write_json_atomic(out_dir / "env.json", environment(device, config["precision"]))


def load_run(run_dir: str | Path, device: str = "auto", require_completed: bool = True):
    """Load a trained run for evaluation: ``(model, dataset, config)``.

    The model holds the last checkpoint's parameters, on ``device``, in eval mode.

    Raises:
        MissingFileError: no ``config.json`` or no ``checkpoints/last.pt`` in ``run_dir``.
        InvalidInputError: the run is not completed (with ``require_completed``).
    """
    run_dir = Path(run_dir)
    config = read_json(run_dir / "config.json")
    if config is None:
        raise MissingFileError(f"{run_dir} is not a run directory (no config.json); train one with `disbench train`")
    status = read_json(run_dir / "status.json") or {}
    if require_completed and status.get("state") != "completed":
        raise InvalidInputError(
            f"run {run_dir} is {status.get('state', 'unknown')!r}, not completed; "
            f"finish it with `disbench train {config['preset']} --out {run_dir}`"
        )
    ckpt_path = run_dir / CHECKPOINT
    if not ckpt_path.is_file():
        raise MissingFileError(f"{ckpt_path} is missing; retrain the run")
    ds = data_mod.load(config["dataset"], config.get("data_source"))
    dev = resolve_device(device)
    model = build_model(config, ds, seed=config["seed"])
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
    model.load_state_dict(ckpt["model"])
    model.to(dev).eval()
    return model, ds, config


def build_model(config: dict, dataset, seed: int = 0) -> Baseline:
    """Instantiate ``config["model"]`` with its config built from ``config["hparams"]``; the
    initialisation is drawn from a stream derived from ``seed`` (global torch RNG state is
    left untouched)."""
    cls = get_model_class(config["model"])
    model_config = cls.config_class.from_table(config["hparams"], where=f"run config of {config['preset']!r}")
    init_seed = _stream_seeds(seed)[0]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(init_seed)
        return cls(DatasetInfo.of(dataset), config["steps"], model_config)


# --- the loop -----------------------------------------------------------------------------
def fit(model: Baseline, dataset, *, steps: int, batch_size: int, seed: int, out_dir: str | Path,
        checkpoint_every: int = 1000, log_every: int = 50, device: str | torch.device = "auto",
        precision: str = "float32", progress: bool = True, desc: str = "train", callbacks=()) -> dict:
    """Train ``model`` for ``steps`` steps of ``batch_size`` from ``dataset`` in ``precision``
    (:func:`disbench.device.precision_context`: on CUDA float32 with TF32, or bf16 autocast), writing
    status.json, train_log.csv, checkpoints/last.pt (every ``checkpoint_every`` steps and at
    the end) and, at the end, the PNG grids, in ``out_dir``. Resumes from
    ``out_dir/checkpoints/last.pt`` when it exists.

    The model's :meth:`~disbench.models.Baseline.callbacks` run after every step; their
    declared state is checkpointed with the model. ``callbacks`` (:class:`disbench.callbacks.Callback`
    instances, e.g. experiment trackers) get the same hooks after them and are not checkpointed.

    Returns:
        the last logged loss terms (floats).

    Raises:
        TrainingFailed: a non-finite loss term (status.json records the step and losses)
            or any other exception during training (chained).
    """
    tune_allocator()
    out_dir = Path(out_dir)
    dev = resolve_device(device)
    model.to(dev).train()
    state = _restore(model, out_dir / CHECKPOINT, seed, dev)
    hooks = [*state.callbacks, *callbacks]
    recorder = _Recorder(out_dir, state, steps=steps, batch_size=batch_size, checkpoint_every=checkpoint_every,
                         log_every=log_every, device=dev, hooks=hooks)
    compile_submodules(model, dev)
    stream = _BatchStream([(model, state.data_rng)], dataset, batch_size, state.step, steps, dev)
    bar = tqdm(total=steps, initial=state.step, desc=desc, unit="step", disable=not progress, dynamic_ncols=True)
    try:
        with _deterministic(dev), torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
            torch.manual_seed(state.noise_seed)
            if state.torch_rng is not None:
                torch.set_rng_state(state.torch_rng)
            for callback in hooks:
                callback.on_train_start(model, dataset)
                callback.on_resume(state.step)
            for step in range(state.step, steps):
                (batch,), (rng_state,) = stream.get()
                with precision_context(dev, precision):
                    losses = model.training_step(batch, step, state.optimizers)
                    for callback in hooks:
                        losses.update(callback.on_step_end(model, step))
                bar.update(1)
                recorder.step_done(model, losses, rng_state, bar)
    except _NonFinite as e:
        recorder.status("failed", e.step, str(e), e.losses)
        raise TrainingFailed(f"{e}; run {out_dir} marked failed", e.step, e.losses) from None
    except BaseException as e:
        done, last = recorder.done, recorder.last
        what = "interrupted" if isinstance(e, KeyboardInterrupt) else "error"
        msg = f"{what}: {type(e).__name__}: {e}".rstrip(": ") + "; run again to resume from the last checkpoint"
        recorder.status("failed", done, msg, last)
        if isinstance(e, Exception) and not isinstance(e, DisbenchError):
            raise TrainingFailed(f"training {out_dir} failed at step {done}: {msg}", done, last) from e
        raise
    finally:
        bar.close()
        stream.close()
    model.eval()
    write_grids(model, dataset, out_dir, seed)
    recorder.status("completed", steps, None, recorder.last)
    return recorder.last


@dataclass
class _TrainingState:
    """Everything a checkpoint restores besides the parameters (see :func:`_restore`)."""

    optimizers: dict
    generator: torch.Generator  # training noise (model.generator)
    noise_seed: int  # seeds the global torch RNG inside the loop
    data_rng: np.random.Generator
    callbacks: list
    step: int = 0
    elapsed: float = 0.0
    torch_rng: torch.Tensor | None = None


def _restore(model: Baseline, ckpt_path: Path, seed: int, device: torch.device) -> _TrainingState:
    """Set up the model's randomness, optimisers and callbacks from ``seed``; then, when
    ``ckpt_path`` exists, load the parameters and every state saved with them."""
    _, noise_seed, data_seed = _stream_seeds(seed)
    gen = torch.Generator(device).manual_seed(noise_seed)
    model.set_generator(gen)
    state = _TrainingState(model.configure_optimizers(), gen, noise_seed, np.random.default_rng(data_seed),
                           model.callbacks())
    if not ckpt_path.is_file():
        return state
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
    model.load_state_dict(ckpt["model"])
    for name, opt in state.optimizers.items():
        opt.load_state_dict(ckpt["optimizers"][name])
    state.data_rng.bit_generator.state = ckpt["data_rng"]
    gen.set_state(ckpt["noise_rng"])
    saved = ckpt.get("callbacks", {})  # absent in checkpoints written before callbacks existed
    for callback in state.callbacks:
        callback.load_state_dict(saved.get(callback.name, {}))
    state.step, state.elapsed, state.torch_rng = int(ckpt["step"]), float(ckpt["elapsed"]), ckpt["torch_rng"]
    return state


class _Recorder:
    """What a run leaves on disk while it trains: train_log.csv rows (every ``log_every``
    steps and at checkpoints), status.json and checkpoints/last.pt (every
    ``checkpoint_every`` steps and at the end). Loss dicts are kept as they come (0-d
    tensors stay on the device) and checked for finite values in batches: every step on
    the CPU, every ``min(log_every, 50)`` steps and at each log row elsewhere."""

    def __init__(self, out_dir: Path, state: _TrainingState, *, steps: int, batch_size: int,
                 checkpoint_every: int, log_every: int, device: torch.device, hooks=()):
        self.out_dir, self.state, self.hooks = out_dir, state, list(hooks)
        self.steps, self.batch_size = steps, batch_size
        self.checkpoint_every, self.log_every = checkpoint_every, log_every
        self.flush_every = 1 if device.type == "cpu" else min(log_every, 50)
        self.log = _TrainLog(out_dir / "train_log.csv", state.step)
        self.done = state.step
        self.last: dict = {}
        self.pending: list[dict] = []
        self.t0 = self.t_interval = time.perf_counter()
        self.status("running", state.step, None, self.last)

    def step_done(self, model: Baseline, losses: dict, rng_state: dict, bar) -> None:
        """Record one finished step (its loss dict and the data RNG state after its batch)."""
        self.pending.append(losses)
        self.done = done = self.done + 1
        checkpoint = done % self.checkpoint_every == 0 or done == self.steps
        boundary = checkpoint or done % self.log_every == 0
        if boundary or len(self.pending) >= self.flush_every:
            rows = _check_finite(self.pending, done - len(self.pending) + 1)
            self.pending = []
            self.log.add(rows)
            self.last = rows[-1]
        if boundary:
            now = time.perf_counter()
            ips = self.log.images(self.batch_size) / max(now - self.t_interval, 1e-9)
            row = self.log.write(done, self.state.elapsed + (now - self.t0), ips)
            for callback in self.hooks if row else ():
                callback.on_log(done, {k: v for k, v in row.items() if k not in ("step", "time")})
            bar.set_postfix({"img/s": f"{ips:.0f}", **{k: f"{v:.4g}" for k, v in self.last.items()}})
            self.t_interval = now
        if checkpoint:
            self.checkpoint(model, rng_state)
            self.status("running", done, None, self.last)
            for callback in self.hooks:
                callback.on_checkpoint(model, done)

    def checkpoint(self, model: Baseline, data_rng_state: dict) -> None:
        """Write checkpoints/last.pt atomically (format 1; ``callbacks`` since the callback seam)."""
        state = self.state
        ckpt = {
            "format": 1,
            "model": model.state_dict(),
            "optimizers": {k: o.state_dict() for k, o in state.optimizers.items()},
            "step": self.done,
            "elapsed": state.elapsed + (time.perf_counter() - self.t0),
            "data_rng": data_rng_state,
            "noise_rng": state.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "callbacks": {cb.name: cb.state_dict() for cb in state.callbacks},
        }
        with atomic_path(self.out_dir / CHECKPOINT, suffix=".pt") as tmp:
            torch.save(ckpt, tmp)

    def status(self, state: str, step: int, error: str | None, losses: dict) -> None:
        """Write status.json (non-finite loss values as strings)."""
        write_json_atomic(self.out_dir / "status.json", {
            "state": state, "step": int(step), "error": error,
            "last_losses": {k: (v if math.isfinite(v) else str(v)) for k, v in losses.items()},
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        })


def grid_images(model, dataset, seed: int = 0) -> dict:
    """The report's image grids as float tensors in [0, 1] on the CPU: ``"samples"``
    (8, 8, C, H, W), ``"reconstructions"`` (2, 8, C, H, W: originals above their
    reconstructions; only for models with one) and ``"traversals"`` (codes,
    :data:`TRAVERSAL_STEPS`, C, H, W), drawn with generators seeded by ``seed`` (the global
    RNGs are not touched). Call in eval mode."""
    out = {}
    gen = torch.Generator(model.device).manual_seed(seed)
    with torch.no_grad():
        samples = model.sample(GRID_SAMPLES, generator=gen)
        out["samples"] = samples.view(8, 8, *samples.shape[1:]).cpu()
        _, x = dataset.sample(GRID_RECONSTRUCTIONS, np.random.default_rng(seed))
        x = torch.from_numpy(x)
        rec = model.reconstruct(x)
        if rec is not None:
            out["reconstructions"] = torch.stack([x, rec.cpu()])
        out["traversals"] = model.traverse(x[:1], TRAVERSAL_STEPS, generator=gen).cpu()
    return out


def write_grids(model, dataset, out_dir: str | Path, seed: int = 0) -> list[Path]:
    """Write :func:`grid_images` as samples.png, reconstructions.png (only for models with
    one) and traversals.png (one row per code) and the traversals' animation traversals.gif
    into ``out_dir``; returns the paths written."""
    out_dir = Path(out_dir)
    written = []
    for name, images in grid_images(model, dataset, seed).items():
        save_grid(images, out_dir / f"{name}.png", scale=2)
        written.append(out_dir / f"{name}.png")
        if name == "traversals":
            save_traversal_gif(images, out_dir / "traversals.gif", scale=2)
            written.append(out_dir / "traversals.gif")
    return written


def environment(device: torch.device | None = None, precision: str = "float32") -> dict:
    """What env.json holds: versions, platform, hostname, device, the training precision on
    that device (:func:`disbench.device.effective_precision`), git commit (or None)."""
    return {
        "disbench": disbench.__version__,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
        "hostname": socket.gethostname(),
        "device": device_description(device) if device is not None else None,
        "precision": effective_precision(device, precision) if device is not None else None,
        "cuda": torch.version.cuda,
        "torch_threads": torch.get_num_threads(),
        "git_commit": _git_commit(),
    }


# --- helpers ------------------------------------------------------------------------------
class _NonFinite(Exception):
    def __init__(self, step: int, losses: dict):
        bad = ", ".join(k for k, v in losses.items() if not math.isfinite(v))
        super().__init__(f"non-finite loss ({bad}) at step {step}")
        self.step, self.losses = step, losses


def _check_finite(pending: list[dict], first_step: int) -> list[dict]:
    """Loss dicts (floats or 0-d tensors) -> float dicts; raise _NonFinite at the first bad step.

    The tensors of a column are stacked and copied to the host at once (one device sync)."""
    if not pending:
        return []
    keys = list(pending[0])
    cols = {}
    for k in keys:
        vals = [d[k] for d in pending]
        tensors = [i for i, v in enumerate(vals) if isinstance(v, torch.Tensor)]
        if tensors:
            host = torch.stack([vals[i].detach().float().reshape(()) for i in tensors]).cpu().tolist()
            for i, v in zip(tensors, host):
                vals[i] = v
        cols[k] = [float(v) for v in vals]
    rows = [{k: cols[k][i] for k in keys} for i in range(len(pending))]
    for i, row in enumerate(rows):
        if not all(math.isfinite(v) for v in row.values()):
            raise _NonFinite(first_step + i, row)
    return rows


class _TrainLog:
    """train_log.csv: one row per ``log_every`` steps with the mean of each loss term."""

    def __init__(self, path: Path, start: int):
        self.path = path
        self.sums: dict[str, float] = {}
        self.count = 0
        self.fields: list[str] | None = None
        if path.is_file():  # drop rows past the checkpoint we resume from
            with open(path, newline="") as f:
                reader = csv.DictReader(f)
                self.fields = reader.fieldnames
                keep = [r for r in reader if int(r["step"]) <= start]
            with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
                w = csv.DictWriter(f, self.fields)
                w.writeheader()
                w.writerows(keep)

    def add(self, rows: list[dict]) -> None:
        for row in rows:
            for k, v in row.items():
                self.sums[k] = self.sums.get(k, 0.0) + v
        self.count += len(rows)

    def images(self, batch_size: int) -> int:
        return self.count * batch_size

    def write(self, step: int, elapsed: float, images_per_s: float) -> dict | None:
        """Append the row of the steps since the last one; returns it (None when there were none)."""
        if not self.count:
            return None
        row = {"step": step, "time": round(elapsed, 3), "images_per_s": round(images_per_s, 1)}
        row.update({k: v / self.count for k, v in self.sums.items()})
        new = self.fields is None
        if new:
            self.fields = list(row)
        with open(self.path, "a", newline="") as f:
            w = csv.DictWriter(f, self.fields, extrasaction="ignore")
            if new:
                w.writeheader()
            w.writerow(row)
        self.sums, self.count = {}, 0
        return row


class _BatchStream:
    """Draws batches ``model.next_batch(dataset, batch_size, rng, step)`` for steps
    ``start..steps-1`` in a background thread (in order, each run from its own rng), converts
    them to tensors on ``device`` (floating ones in the model's parameter dtype); :meth:`get`
    returns ``([batch per run], [its rng state after drawing it])``.

    ``runs`` is ``[(model, rng), ...]``: one for a run trained alone, N for a pack
    (:mod:`disbench.packing`), each batch drawn exactly as if its run trained alone.
    ``gather``, if given, replaces ``next_batch`` + conversion: ``gather(model, rng, step)``
    returns the batch already on the device (:class:`disbench.packing.DeviceImages`)."""

    def __init__(self, runs, dataset, batch_size, start, steps, device, depth: int = 4, gather=None):
        self.device = device
        self.gather = gather
        self.q: queue.Queue = queue.Queue(maxsize=depth)
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=self._run, args=(list(runs), dataset, batch_size, start, steps), daemon=True
        )
        self.thread.start()

    def _draw(self, model, dataset, batch_size, rng, step):
        if self.gather is not None:
            return self.gather(model, rng, step)
        dtype = next(model.parameters()).dtype
        batch = model.next_batch(dataset, batch_size, rng, step)
        return {k: _to_tensor(v, self.device, dtype) for k, v in batch.items()}

    def _run(self, runs, dataset, batch_size, start, steps):
        try:
            for step in range(start, steps):
                batches = [self._draw(model, dataset, batch_size, rng, step) for model, rng in runs]
                item = (batches, [rng.bit_generator.state for _, rng in runs])
                while not self.stop.is_set():
                    try:
                        self.q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if self.stop.is_set():
                    return
        except BaseException as e:  # handed to the consumer
            self.q.put((e, None))

    def get(self):
        item, state = self.q.get()
        if isinstance(item, BaseException):
            raise item
        return item, state

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)


def _to_tensor(v, device: torch.device, dtype: torch.dtype = torch.float32):
    """A numpy array or tensor on ``device``; floating values in ``dtype`` (the model's: a
    float64 model, as in the packing tests, gets float64 images; float32 is unchanged)."""
    if isinstance(v, np.ndarray):
        v = torch.from_numpy(v)
    if isinstance(v, torch.Tensor):
        if v.is_floating_point() and v.dtype != dtype and dtype.is_floating_point:
            v = v.to(dtype)
        if device.type == "cuda":
            return v.pin_memory().to(device, non_blocking=True)
        return v.to(device)
    return v


def _stream_seeds(seed: int) -> tuple[int, int, int]:
    """Independent 32-bit seeds for (initialisation, training noise, data) from ``seed``."""
    a, b, c = np.random.SeedSequence(seed).generate_state(3)
    return int(a), int(b), int(c)


@contextlib.contextmanager
def _deterministic(device: torch.device):
    """Deterministic algorithms on the CPU (cheap there; ``warn_only`` so an op without a
    deterministic kernel warns instead of failing); unchanged elsewhere."""
    if device.type != "cpu":
        yield
        return
    before = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])


def _resolved(old_config: dict, key: str):
    """``old_config[key]``; for ``"hparams"`` resolved through the model's config class, so a
    run directory written before defaults were recorded compares equal (None if unresolvable);
    a config written before ``precision`` was recorded counts as float32."""
    if key == "precision":
        return old_config.get(key, "float32")
    if key != "hparams":
        return old_config.get(key)
    try:
        cls = get_model_class(old_config["model"])
        return cls.config_class.from_table(old_config.get("hparams")).to_dict()
    except (DisbenchError, KeyError):
        return None


def _git_commit() -> str | None:
    root = Path(disbench.__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


__all__ = ["TrainingFailed", "default_run_dir", "fit", "grid_images", "load_run", "resolve_config", "train_run",
           "write_grids"]
