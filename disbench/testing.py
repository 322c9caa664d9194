"""The Baseline contract as runnable checks: ``disbench check-model`` and a pytest helper.

:func:`check_model` builds a model class on a dataset and runs, through the real training
core (:func:`disbench.train.fit`):

1. the class: a :class:`~disbench.models.Baseline` subclass with ``name``, ``supervision``
   (one of the preset kinds), ``representation`` and a :class:`BaselineConfig` dataclass;
2. two training steps: the loss dict maps names to finite numbers, parameters change;
3. checkpoint/resume: one step, a checkpoint, a fresh instance resumed for the second step
   ends with the same parameters and optimiser state as two uninterrupted steps
   (bit-exact on the CPU);
4. ``encode``: float32 ``(N, C, H, W)`` -> float32 ``(N, num_codes)``, finite, batch-independent;
5. ``sample``: ``(n, C, H, W)`` float32 in [0, 1], the same for the same generator seed;
6. ``traverse`` and ``reconstruct`` shapes (the image grids), and a ``state_dict`` round trip;
7. when the class declares the packing hooks (``pack_hyperparameters``; the contract's
   "Packing"): its fields are float config fields, ``pack_noise`` draws only from the run's
   generator, and a pack of two runs (:func:`disbench.packing.fit_pack` with ``torch.vmap``,
   which refuses random draws) ends with the parameters of the two runs trained alone
   (relative difference ≤ :data:`PACK_RTOL`).

In a user's test suite::

    from disbench.testing import check_model

    def test_my_model_follows_the_contract():
        check_model(MyModel)                       # raises ContractError naming the failed check
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch

from disbench.errors import DisbenchError

#: training steps in the check
CHECK_STEPS = 2
#: model's ``total_steps`` in the check (long, so phased models stay in their first phase)
CHECK_TOTAL_STEPS = 10_000
#: largest relative parameter difference (L2 over all parameters) between a pack of two and the
#: two runs alone after :data:`CHECK_STEPS` float32 steps (measured: ~1e-7; tests/test_packing.py)
PACK_RTOL = 1e-4


class ContractError(DisbenchError):
    """A model class breaks the Baseline contract (the message names the check and the fix)."""


def check_model(model_class, *, dataset="dsprites", config=None, batch_size: int = 8, seed: int = 0) -> list[str]:
    """Run the contract checks (module docstring) against ``model_class``.

    Args:
        model_class: a class, or ``"package.module:Class"``, or a registry name.
        dataset: a dataset name or :class:`~disbench.data.GroundTruthDataset`.
        config: the config instance to build with (default: ``model_class.config_class()``).
        batch_size: images per training step.
        seed: run seed.

    Returns:
        the names of the checks passed, in order.

    Raises:
        ContractError: the first failed check (with what was expected and what came back).
        PluginError: ``model_class`` is a reference that does not load.
    """
    from disbench import data
    from disbench.models import DatasetInfo, check_model_class, get_model_class
    from disbench.presets import SUPERVISION_KINDS

    passed: list[str] = []
    cls = get_model_class(model_class) if isinstance(model_class, str) else check_model_class(
        model_class, getattr(model_class, "__qualname__", str(model_class)))
    label = f"{cls.__module__}.{cls.__qualname__}"
    ds = data.load(dataset) if isinstance(dataset, str) else dataset
    info = DatasetInfo.of(ds)
    _require(isinstance(cls.name, str) and cls.name, label, "class attribute name must be a non-empty str")
    _require(cls.supervision in SUPERVISION_KINDS, label,
             f"supervision must be one of {SUPERVISION_KINDS}, got {cls.supervision!r}")
    _require(isinstance(cls.representation, str) and cls.representation, label,
             "class attribute representation must say in words what encode returns")
    config = cls.config_class() if config is None else config
    passed.append("class attributes and config")

    def build(init_seed: int = seed):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(init_seed)
            try:
                return cls(info, CHECK_TOTAL_STEPS, config)
            except DisbenchError:
                raise
            except Exception as e:
                raise ContractError(f"{label}: __init__(info, total_steps, config) raised {type(e).__name__}: {e}") from e

    with tempfile.TemporaryDirectory() as tmp:
        straight, resumed = Path(tmp) / "straight", Path(tmp) / "resumed"
        model = build()
        before = {k: v.clone() for k, v in model.state_dict().items()}
        losses = _fit(model, ds, straight, CHECK_STEPS, batch_size, seed, label)
        _require(isinstance(losses, dict) and losses and all(isinstance(k, str) for k in losses), label,
                 f"training_step must return a non-empty dict of loss names -> numbers, got {losses!r}")
        after = {k: v.clone() for k, v in model.state_dict().items()}
        _require(any(not torch.equal(before[k], after[k]) for k in before if before[k].is_floating_point()), label,
                 "two training steps changed no parameter: training_step must step its optimisers "
                 "(self.optimize(optimizer, loss))")
        passed.append("two training steps")

        _fit(build(), ds, resumed, 1, batch_size, seed, label)
        again = build()
        _fit(again, ds, resumed, CHECK_STEPS, batch_size, seed, label)
        a = torch.load(straight / "checkpoints" / "last.pt", weights_only=True)
        b = torch.load(resumed / "checkpoints" / "last.pt", weights_only=True)
        diff = [k for k in a["model"] if not torch.equal(a["model"][k], b["model"][k])]
        _require(not diff, label, f"a run resumed from its checkpoint differs from an uninterrupted one in {diff[:3]}: "
                 "draw all training noise from self.generator / self.randn and keep all state in the module, "
                 "its optimisers or a callback's declared state")
        passed.append("checkpoint/resume equality")

    model.eval()
    x = torch.from_numpy(ds.sample_observations(5, np.random.default_rng(seed)))
    codes = model.encode(x)
    _require(isinstance(codes, torch.Tensor) and codes.dtype == torch.float32 and codes.shape == (5, model.num_codes),
             label, f"encode(float32 (5, {', '.join(map(str, info.observation_shape))})) must return a float32 tensor "
             f"(5, num_codes={model.num_codes}); got {_describe(codes)}")
    _require(bool(torch.isfinite(codes).all()), label, "encode returned NaN or inf codes")
    _require(torch.allclose(model.encode(x[:2]).cpu(), codes[:2].cpu(), atol=1e-5), label,
             "encode must not depend on the other images of the batch (use eval-mode normalisation)")
    passed.append("encode")

    gen = torch.Generator(model.device).manual_seed(seed)
    images = model.sample(3, generator=gen)
    shape = (3, *info.observation_shape)
    _require(isinstance(images, torch.Tensor) and images.dtype == torch.float32 and tuple(images.shape) == shape,
             label, f"sample(3) must return float32 {shape}; got {_describe(images)}")
    _require(bool(torch.isfinite(images).all()) and images.min() >= 0 and images.max() <= 1, label,
             "sample must return images in [0, 1]")
    again_images = model.sample(3, generator=torch.Generator(model.device).manual_seed(seed))
    _require(torch.equal(images, again_images), label, "sample(n, generator) must draw all noise from generator")
    passed.append("sample")

    trav = model.traverse(x[:1], 4, generator=torch.Generator(model.device).manual_seed(seed))
    _require(isinstance(trav, torch.Tensor) and tuple(trav.shape) == (model.num_codes, 4, *info.observation_shape),
             label, f"traverse(x, 4) must return (num_codes, 4, C, H, W); got {_describe(trav)}")
    rec = model.reconstruct(x)
    _require(rec is None or tuple(rec.shape) == tuple(x.shape), label,
             f"reconstruct(x) must return None or images shaped like x {tuple(x.shape)}; got {_describe(rec)}")
    passed.append("traverse and reconstruct")

    copy = build()
    copy.load_state_dict(model.state_dict())
    copy.to(model.device).eval()
    _require(torch.equal(copy.encode(x), codes), label,
             "a fresh instance loaded with state_dict() encodes differently: keep all state in parameters/buffers")
    passed.append("state_dict round trip")
    if cls.packable():
        _check_packing(cls, build, ds, config, batch_size, seed, label, after)
        passed.append("packing hooks")
    return passed


def _check_packing(cls, build, ds, config, batch_size: int, seed: int, label: str, trained: dict) -> None:
    """Check 7; ``trained`` is the state of the run ``seed`` after :data:`CHECK_STEPS` steps alone."""
    import dataclasses

    from disbench.packing import PackMember, fit_pack

    fields = {f.name: f for f in dataclasses.fields(config)}
    for name in cls.pack_hyperparameters:
        _require(name in fields and isinstance(getattr(config, name), (int, float)), label,
                 f"pack_hyperparameters names {name!r}: it must be a numeric field of {type(config).__name__}")
    model = build()
    blocker = model.pack_blocker()
    _require(blocker is None, label, f"declares the packing hooks but cannot pack: {blocker}")
    noise = [model.pack_noise(batch_size, 0) for _ in range(2)]
    model.set_generator(torch.Generator().manual_seed(seed))
    first = model.pack_noise(batch_size, 0)
    model.set_generator(torch.Generator().manual_seed(seed))
    _require(isinstance(first, dict) and all(isinstance(v, torch.Tensor) for v in first.values()), label,
             f"pack_noise must return a dict of tensors, got {type(first).__name__}")
    _require(all(torch.equal(first[k], v) for k, v in model.pack_noise(batch_size, 0).items()), label,
             "pack_noise must draw all its noise from self.generator (self.randn / self.rand)")
    _require(any(not torch.equal(noise[0][k], noise[1][k]) for k in noise[0]) or not noise[0], label,
             "pack_noise returned the same noise twice: it must advance self.generator")
    with tempfile.TemporaryDirectory() as tmp:
        other = build(seed + 1)
        _fit(other, ds, Path(tmp) / "alone", CHECK_STEPS, batch_size, seed + 1, label)
        alone = [trained, other.state_dict()]
        members = [PackMember(build(s), s, Path(tmp) / f"pack{s}") for s in (seed, seed + 1)]
        try:
            outcome = fit_pack(members, ds, steps=CHECK_STEPS, batch_size=batch_size, checkpoint_every=1, log_every=1,
                               device="cpu", progress=False, vectorize=True)  # vmap: randomness is an error
        except Exception as e:
            raise ContractError(f"{label}: training a pack of two failed ({type(e).__name__}: {e}): pack_loss must be "
                                "a pure function of parameters, batch, noise and hparams (no randomness, no state "
                                "changes, no data-dependent Python branching)") from e
        _require(outcome == [None, None], label, f"a pack of two failed: {outcome}")
        for a, m in zip(alone, members):
            b = m.model.state_dict()
            num = sum(float((a[k].double() - b[k].double()).pow(2).sum()) for k in a if a[k].is_floating_point())
            den = sum(float(a[k].double().pow(2).sum()) for k in a if a[k].is_floating_point())
            _require(num <= (PACK_RTOL**2) * max(den, 1e-30), label,
                     f"a pack of two differs from the runs alone (relative {(num / max(den, 1e-30)) ** 0.5:.1e}): "
                     "training_step must train through pack_noise/pack_loss, each optimiser's loss reaching only "
                     "its own parameters")


def _fit(model, ds, out_dir: Path, steps: int, batch_size: int, seed: int, label: str) -> dict:
    from disbench.train import TrainingFailed, fit

    try:
        return fit(model, ds, steps=steps, batch_size=batch_size, seed=seed, out_dir=out_dir, checkpoint_every=1,
                   log_every=1, device="cpu", progress=False)
    except TrainingFailed as e:
        raise ContractError(f"{label}: training failed: {e.__cause__ or e}") from e


def _require(ok, label: str, message: str) -> None:
    if not ok:
        raise ContractError(f"{label}: {message}")


def _describe(obj) -> str:
    if isinstance(obj, torch.Tensor):
        return f"{obj.dtype} tensor {tuple(obj.shape)}"
    if isinstance(obj, np.ndarray):
        return f"numpy {obj.dtype} array {obj.shape}"
    return type(obj).__name__


__all__ = ["ContractError", "check_model"]
