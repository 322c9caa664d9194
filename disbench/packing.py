"""Packed training: N runs of one method trained side by side on one device (``--pack N``).

Part of the training core (:mod:`disbench.train`), not a second one. A model class that
declares the packing hooks of the Baseline contract (:mod:`disbench.models.base`, "Packing":
``pack_hyperparameters``, ``pack_noise``, ``pack_loss``) can be trained N at a time:

- each run is built by :func:`disbench.train.build_model` from its own seed (the same
  initialisation as alone) and restored by the core's ``_restore`` (its own noise generator,
  data rng, optimisers and, on resume, its own ``checkpoints/last.pt``);
- their parameters and buffers are stacked (``torch.func.stack_module_state``) and the
  per-model loss is evaluated for all N at once with ``torch.vmap(functional_call(...))``
  (vmap turns the N convolutions into grouped ones) — the shape of PyTorch's "model
  ensembling" tutorial (https://pytorch.org/tutorials/intermediate/ensembling.html) and of
  HFTA (Wang et al. 2021, "Horizontally Fused Training Array", MLSys);
- one backward over the sum of the N per-model losses (the models share no parameter, so
  each gets exactly its own gradient) and one optimiser per name over the stacked
  parameters: Adam, RMSprop and Adagrad are element-wise, so this equals N optimisers at the
  same hyper-parameters (:func:`stack_optimizer`);
- every run's noise comes from its own generator (``model.pack_noise``) and its batches
  from its own data rng, never from its slot, so a run's numbers do not depend on who
  trained beside it (DESIGN.md, "Each run's randomness is its own");
- each run keeps its own recorder (:class:`disbench.train._Recorder`): its train log,
  status.json and checkpoints in today's format (the stacked state is copied back into the
  run's own model and optimisers before each checkpoint, :meth:`_Pack.unstack`); config.json
  gains ``pack = {"id", "size", "index"}``. A non-finite loss fails that run only; the
  others go on in a smaller pack. A pack resumes from its runs' checkpoints, with any N
  (runs resumed at different steps train as separate packs).

On CUDA the dataset's images go to the device once as uint8 (:class:`DeviceImages`) and each
run's batch is gathered there from the indices its own rng draws. On the CPU the N losses are
evaluated slot by slot instead of with vmap (same stacked state, same single backward and
optimiser step; vmap's grouped convolutions measured 1.5× slower there). Equivalence
(tests/test_packing.py, packs of 4): with vmap, float64 parameters equal the runs alone to
≤ 2e-14 after 20 steps and float32 to ~1e-7 relative after 50; slot by slot, bit for bit.
Not packed: GANs (their alternating generator/discriminator steps are written as separate
updates with ``frozen`` modules and, for several, BatchNorm running statistics) and any class
that does not declare the hooks; they train alone and the runner says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.func import functional_call, stack_module_state
from tqdm.auto import tqdm

from disbench.allocator import tune_allocator
from disbench.device import precision_context, resolve_device
from disbench.errors import DisbenchError, InvalidInputError
from disbench.models import Baseline, get_model_class
from disbench.models.base import step_optimizers
from disbench.train import (
    CHECKPOINT,
    TrainingFailed,
    _BatchStream,
    _deterministic,
    _NonFinite,
    _Recorder,
    _restore,
    write_grids,
)

# config keys that must be equal for runs to share a pack (besides the model's own hparams)
PACK_KEYS = ("preset", "model", "dataset", "data_source", "profile", "steps", "batch_size", "checkpoint_every",
             "log_every", "precision")


def pack_key(config: dict) -> str | None:
    """What runs of one pack share, as a string (runs with equal keys may pack), or None when
    ``config``'s model class does not declare the packing hooks. The seed and the class's
    ``pack_hyperparameters`` may differ within a pack; everything else (architecture,
    optimiser, learning rates, steps, batch size, precision) may not."""
    cls = get_model_class(config["model"])
    if not cls.packable():
        return None
    free = set(cls.pack_hyperparameters)
    hparams = {k: v for k, v in config["hparams"].items() if k not in free}
    return json.dumps({**{k: config.get(k) for k in PACK_KEYS}, "hparams": hparams}, sort_keys=True, default=str)


def stack_optimizer(optimizers: list[torch.optim.Optimizer], models: list[Baseline],
                    stacked: dict[str, torch.Tensor]) -> torch.optim.Optimizer:
    """One optimiser of the class of ``optimizers[0]`` over the stacked parameters ``stacked``
    (name -> ``(N, ...)``), with the same parameter groups, and its state stacked from the N
    runs' optimisers (a 0-d ``step`` is kept once: it must agree).

    Raises:
        InvalidInputError: the runs' optimisers differ in class or hyper-parameters (such runs
            cannot share a pack), or their step counts differ.
    """
    first = optimizers[0]
    names = [{id(p): n for n, p in m.named_parameters()} for m in models]
    groups = []
    for gi, group in enumerate(first.param_groups):
        options = {k: v for k, v in group.items() if k != "params"}
        for opt in optimizers[1:]:
            other = {k: v for k, v in opt.param_groups[gi].items() if k != "params"}
            if type(opt) is not type(first) or other != options:
                raise InvalidInputError(f"runs with different optimisers cannot share a pack: {options} vs {other}")
        groups.append({**options, "params": [stacked[names[0][id(p)]] for p in group["params"]]})
    opt = type(first)(groups, **first.defaults)
    for gi, group in enumerate(first.param_groups):
        for pi, p in enumerate(group["params"]):
            states = [o.state.get(o.param_groups[gi]["params"][pi], {}) for o in optimizers]
            if not states[0]:
                continue
            target = stacked[names[0][id(p)]]
            merged = {}
            for k, v in states[0].items():
                if isinstance(v, torch.Tensor) and v.shape == p.shape and v.dim() > 0:
                    merged[k] = torch.stack([s[k] for s in states]).to(target.device)
                elif isinstance(v, torch.Tensor):
                    if any(not torch.equal(s[k], v) for s in states):
                        raise InvalidInputError(f"optimiser state {k!r} differs between the runs of a pack")
                    merged[k] = v.clone()
                else:
                    merged[k] = v
            opt.state[target] = merged
    return opt


def unstack_optimizer(stacked_opt: torch.optim.Optimizer, optimizer: torch.optim.Optimizer, index: int) -> None:
    """Copy slot ``index`` of ``stacked_opt``'s state into the run's own ``optimizer`` (same
    parameter groups), so that it checkpoints as if it had trained alone."""
    for sg, g in zip(stacked_opt.param_groups, optimizer.param_groups):
        for sp, p in zip(sg["params"], g["params"]):
            state = stacked_opt.state.get(sp)
            if not state:
                continue
            optimizer.state[p] = {
                k: (v[index].clone() if isinstance(v, torch.Tensor) and v.shape == sp.shape and v.dim() > 0
                    else v.clone() if isinstance(v, torch.Tensor) else v)
                for k, v in state.items()
            }


class DeviceImages:
    """A dataset's images as uint8 ``(len, C, H, W)`` on a device, for gathering batches there.

    Built only when exact: the dataset's observations must be deterministic (drawing them
    consumes no randomness) and equal ``uint8 / 255`` in float32 (binary dSprites, the 8-bit
    datasets). :meth:`gather` then draws a run's batch as ``GroundTruthDataset.sample`` does —
    factors from the run's rng, the images at their flat indices — so batches equal the host
    path's bit for bit.
    """

    CHUNK = 8192
    #: the last images built (dataset name, size, device) -> uint8 tensor: one copy per process
    _cache: dict = {}

    def __init__(self, images: torch.Tensor, dataset, batch_size: int):
        self.images, self.dataset, self.batch_size = images, dataset, batch_size

    @classmethod
    def build(cls, dataset, device: torch.device, batch_size: int) -> DeviceImages | None:
        """The images of ``dataset`` on ``device`` (built once per process and dataset), or
        None where gathering would not be exact."""
        key = (dataset.name, len(dataset), str(device))
        if key not in cls._cache:
            cls._cache.clear()  # free the previous dataset's copy first
            cls._cache[key] = cls._images(dataset, device)
        images = cls._cache[key]
        return None if images is None else cls(images, dataset, batch_size)

    @classmethod
    def _images(cls, dataset, device: torch.device) -> torch.Tensor | None:
        probe, plain = np.random.default_rng(0), np.random.default_rng(0)
        dataset.sample(2, probe)
        dataset.sample_factors(2, plain)
        if probe.bit_generator.state != plain.bit_generator.state:
            return None  # observations draw noise: the host path must do it
        n = len(dataset)
        out = None
        for start in range(0, n, cls.CHUNK):
            index = np.arange(start, min(n, start + cls.CHUNK))
            x = dataset.sample_observations_from_factors(dataset.factors_of(index), np.random.default_rng(0))
            u8 = np.rint(x * 255).astype(np.uint8)
            if start == 0 and not np.array_equal(u8.astype(np.float32) / 255, x):
                return None
            if out is None:
                out = torch.empty((n, *u8.shape[1:]), dtype=torch.uint8, device=device)
            out[start : start + len(index)] = torch.from_numpy(u8).to(device)
        return out

    def gather(self, model: Baseline, rng: np.random.Generator, step: int) -> dict:
        """``{"x": (B, C, H, W) in the model's dtype, "factors": int64 (B, K)}`` on the device."""
        factors = self.dataset.sample_factors(self.batch_size, rng)
        index = torch.from_numpy(self.dataset.index_of(factors)).to(self.images.device)
        dtype = next(model.parameters()).dtype
        x = self.images.index_select(0, index).to(dtype) / 255
        return {"x": x, "factors": torch.from_numpy(factors).to(self.images.device)}


@dataclass
class PackMember:
    """One run of a pack: its model (built alone from its seed), seed and run directory."""

    model: Baseline
    seed: int
    out_dir: Path
    desc: str = ""


def _unbind(stacked: dict, n: int) -> list[dict]:
    """``{name: (n, ...)}`` -> n dicts ``{name: (...)}`` (views, by ``Tensor.unbind``)."""
    slots: list[dict] = [{} for _ in range(n)]
    for name, tensor in stacked.items():
        for slot, value in zip(slots, tensor.unbind(0)):
            slot[name] = value
    return slots


class _PackLoss(torch.nn.Module):
    """``model.pack_loss`` as a module's forward, so that ``torch.func.functional_call`` can
    evaluate it with one slot of the stacked parameters (keys prefixed ``model.``)."""

    def __init__(self, model: Baseline):
        super().__init__()
        self.model = model

    def forward(self, batch, noise, hparams, step):
        return self.model.pack_loss(batch, noise, hparams, step)


class _Pack:
    """The stacked state of N members at one step (parameters, buffers, optimisers, hparams)."""

    def __init__(self, members: list[PackMember], states: list, vectorize: bool = True):
        self.members, self.states, self.vectorize = members, states, vectorize
        models = [m.model for m in members]
        self.loss_module = _PackLoss(models[0])
        self.params, self.buffers = stack_module_state(models)
        self.optimizers = {
            name: stack_optimizer([s.optimizers[name] for s in states], models, self.params)
            for name in states[0].optimizers
        }
        dtype = next(models[0].parameters()).dtype
        hp = [m.pack_hparams() for m in models]
        self.hparams = {k: torch.tensor([h[k] for h in hp], dtype=dtype, device=models[0].device) for k in hp[0]}

    def step(self, batches: list[dict], step: int) -> list[dict]:
        """One training step of every member on its batch: returns each member's loss terms."""
        noise = [m.model.pack_noise(len(b["x"]), step) for m, b in zip(self.members, batches)]
        batch = {k: torch.stack([b[k] for b in batches]) for k in batches[0]}
        noise = {k: torch.stack([n[k] for n in noise]) for k in noise[0]}
        module = self.loss_module

        def loss(params, buffers, b, n, hp):
            state = {**{f"model.{k}": v for k, v in params.items()}, **{f"model.{k}": v for k, v in buffers.items()}}
            return functional_call(module, state, (b, n, hp, step))

        if self.vectorize:
            losses, terms = torch.vmap(loss, randomness="error")(self.params, self.buffers, batch, noise, self.hparams)
        else:  # the same loss slot by slot (unbind: one backward op per stacked tensor)
            n = len(self.members)
            slots = [_unbind(t, n) for t in (self.params, self.buffers, batch, noise, self.hparams)]
            outs = [loss(*(slot[i] for slot in slots)) for i in range(n)]
            losses, terms = ({k: torch.stack([o[j][k] for o in outs]) for k in outs[0][j]} for j in (0, 1))
        step_optimizers(self.optimizers, {k: v.sum() for k, v in losses.items()})
        return [{k: v[i].detach() for k, v in terms.items()} for i in range(len(self.members))]

    @torch.no_grad()
    def unstack(self) -> None:
        """Copy each member's slot back into its own model and optimisers (before a checkpoint)."""
        for i, (member, state) in enumerate(zip(self.members, self.states)):
            for name, p in member.model.named_parameters():
                p.copy_(self.params[name][i])
            for name, b in member.model.named_buffers():
                b.copy_(self.buffers[name][i])
            for name, opt in state.optimizers.items():
                unstack_optimizer(self.optimizers[name], opt, i)


def fit_pack(members: list[PackMember], dataset, *, steps: int, batch_size: int, checkpoint_every: int = 1000,
             log_every: int = 50, device: str | torch.device = "auto", precision: str = "float32",
             progress: bool = True, desc: str = "pack", vectorize: bool | None = None) -> list[DisbenchError | None]:
    """Train ``members`` (runs of one packable model class, alike but for their seed and
    ``pack_hyperparameters``: :func:`pack_key`) side by side, each into its own run directory
    as :func:`disbench.train.fit` trains one (same files, same checkpoint format, same resume;
    members resumed at different steps train as separate packs).

    ``vectorize``: evaluate the N losses with ``torch.vmap`` (grouped convolutions: the
    GPU's way, default off the CPU) or slot by slot (default on the CPU, where vmap's
    grouped convolutions and layout copies measured 1.5× slower than N separate passes:
    ``benchmarks/bench_pack.py``); both then take one backward and one optimiser step over
    the stacked parameters, and give the same numbers (tests/test_packing.py).

    Returns:
        per member: None (completed) or the :class:`~disbench.train.TrainingFailed` that
        ended it (a non-finite loss: its status.json says failed; the others went on).

    Raises:
        KeyboardInterrupt, and errors that are not one run's own (every unfinished member's
        status.json then says failed; run again to resume from the checkpoints).
    """
    tune_allocator()
    dev = resolve_device(device)
    vectorize = dev.type != "cpu" if vectorize is None else vectorize
    outcome: list[DisbenchError | None] = [None] * len(members)
    states, recorders = [], []
    for m in members:
        m.model.to(dev).train()
        state = _restore(m.model, m.out_dir / CHECKPOINT, m.seed, dev)
        states.append(state)
        recorders.append(_Recorder(m.out_dir, state, steps=steps, batch_size=batch_size,
                                   checkpoint_every=checkpoint_every, log_every=log_every, device=dev))
    images = DeviceImages.build(dataset, dev, batch_size) if dev.type == "cuda" else None
    groups: dict[int, list[int]] = {}
    for i, s in enumerate(states):
        groups.setdefault(s.step, []).append(i)
    finished: set[int] = set()
    bar = tqdm(total=steps * len(members), initial=sum(s.step for s in states), desc=desc, unit="step",
               disable=not progress, dynamic_ncols=True)
    try:
        with _deterministic(dev):
            for start in sorted(groups):
                alive = groups[start]
                while alive:
                    alive = _train(alive, members, states, recorders, outcome, finished, dataset, steps,
                                   batch_size, dev, precision, bar, images, vectorize)
    except BaseException as e:
        what = "interrupted" if isinstance(e, KeyboardInterrupt) else "error"
        msg = f"{what}: {type(e).__name__}: {e}".rstrip(": ") + "; run again to resume from the last checkpoint"
        for i, rec in enumerate(recorders):
            if outcome[i] is None and i not in finished:
                rec.status("failed", rec.done, msg, rec.last)
        raise
    finally:
        bar.close()
    for i, m in enumerate(members):
        if outcome[i] is None:
            m.model.eval()
            write_grids(m.model, dataset, m.out_dir, m.seed)
            recorders[i].status("completed", steps, None, recorders[i].last)
    return outcome


def _train(alive, members, states, recorders, outcome, finished, dataset, steps, batch_size, dev, precision, bar,
           images, vectorize) -> list[int]:
    """Train members ``alive`` (all at the same step) as one pack until the end or a failure;
    returns the members left to train (after a failure: the survivors, synced back)."""
    start = states[alive[0]].step
    pack = _Pack([members[i] for i in alive], [states[i] for i in alive], vectorize)
    stream = _BatchStream([(members[i].model, states[i].data_rng) for i in alive], dataset, batch_size, start,
                          steps, dev, gather=images.gather if images is not None else None)
    every = recorders[alive[0]].checkpoint_every
    try:
        for step in range(start, steps):
            batches, rng_states = stream.get()
            with precision_context(dev, precision):
                terms = pack.step(batches, step)
            done = step + 1
            if done % every == 0 or done == steps:
                pack.unstack()
            failed = []
            for j, i in enumerate(alive):
                try:
                    recorders[i].step_done(members[i].model, terms[j], rng_states[j], bar)
                except _NonFinite as e:
                    recorders[i].status("failed", e.step, str(e), e.losses)
                    outcome[i] = TrainingFailed(f"{e}; run {members[i].out_dir} marked failed", e.step, e.losses)
                    failed.append(j)
            bar.update(len(alive))
            if failed:
                stream.close()  # before the rngs are rewound: the thread draws ahead
                pack.unstack()
                for j, i in enumerate(alive):
                    states[i].step = done
                    states[i].data_rng.bit_generator.state = rng_states[j]
                return [i for j, i in enumerate(alive) if j not in failed] if done < steps else []
    finally:
        stream.close()
    finished.update(alive)
    return []


def train_pack(runs: list[dict], *, device: str = "auto", progress: bool = True) -> list[DisbenchError | None]:
    """Train runs as one pack, each into its own run directory (created, resumed or, when
    completed, left untouched, as :func:`disbench.train.train_run` does for one).

    Args:
        runs: ``[{"preset", "dataset", "profile", "seed", "out_dir", "overrides"}]`` (the
            arguments of :func:`~disbench.train.train_run`), alike by :func:`pack_key`.
        device, progress: as :func:`~disbench.train.train_run`.

    Returns:
        per run: None (completed) or the error that failed it (recorded in its status.json).
        Its config.json holds ``pack = {"id", "size", "index"}`` (the pack it trained in last).

    Raises:
        InvalidInputError: the runs cannot share a pack (different :func:`pack_key`, or a
            model that does not declare the packing hooks); a run directory holding another
            config. KeyboardInterrupt: every unfinished run is marked failed (resumable).
    """
    import hashlib

    from disbench import data as data_mod
    from disbench.train import build_model, is_completed, resolve_config, start_run_dir

    configs = [resolve_config(r["preset"], dataset=r["dataset"], profile=r["profile"], seed=r["seed"],
                              overrides=r.get("overrides")) for r in runs]  # fmt: skip
    keys = {pack_key(c) for c in configs}
    if None in keys or len(keys) > 1:
        raise InvalidInputError("these runs cannot share a pack: they need one packable model class and equal "
                                f"settings but for seed and {', '.join(_free(configs[0]))}")
    outcome: list[DisbenchError | None] = [None] * len(runs)
    todo = [i for i, (r, c) in enumerate(zip(runs, configs)) if not is_completed(c, Path(r["out_dir"]))]
    if not todo:
        return outcome
    first = configs[todo[0]]
    ds = data_mod.load(first["dataset"], first.get("data_source"))
    if hasattr(ds, "prepare"):
        ds.prepare(progress=progress)
    dev = resolve_device(device)
    ident = hashlib.sha256("\n".join(str(Path(runs[i]["out_dir"]).resolve()) for i in todo).encode()).hexdigest()[:10]
    members = []
    for index, i in enumerate(todo):
        config = {**configs[i], "pack": {"id": ident, "size": len(todo), "index": index}}
        start_run_dir(config, Path(runs[i]["out_dir"]), dev)
        model = build_model(config, ds, seed=config["seed"])
        blocker = model.pack_blocker()
        if blocker:
            raise InvalidInputError(f"cannot pack: {blocker}; train it without --pack")
        members.append(PackMember(model, config["seed"], Path(runs[i]["out_dir"])))
    results = fit_pack(members, ds, steps=first["steps"], batch_size=first["batch_size"],
                       checkpoint_every=first["checkpoint_every"], log_every=first["log_every"], device=dev,
                       precision=first["precision"], progress=progress,
                       desc=f"{first['preset']} pack of {len(members)}")  # fmt: skip
    for i, err in zip(todo, results):
        outcome[i] = err
    return outcome


def _free(config: dict) -> tuple[str, ...]:
    cls = get_model_class(config["model"])
    return tuple(cls.pack_hyperparameters or ()) if cls.packable() else ()
