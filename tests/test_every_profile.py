"""Every preset's every profile builds on the CPU and trains: two optimisation steps with a
batch of 8 at the start of each of its phases, everything else as in the profile.

The model is built for the profile's own number of steps (phase lengths are absolute step
counts, e.g. InfoGAN-CR's regulariser from step 288,000 of the paper profile), and the steps
are taken through the model's own batch drawing and training step, so each phase's code
runs with the profile's hyperparameters."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from disbench import data
from disbench.presets import list_presets, load_preset
from disbench.train import build_model, resolve_config

CASES = [(name, profile) for name in list_presets() for profile in load_preset(name).profiles]


@pytest.fixture(autouse=True)
def quiet(monkeypatch, tmp_path):
    monkeypatch.setenv("DISBENCH_DATA", str(tmp_path / "data"))  # no cached feature net: GAN monitor skipped
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def dsprites():
    return data.load("dsprites")


def phase_starts(model) -> list[int]:
    """First step of each phase: GAN phase schedules, DC-IGN's warm-up end."""
    starts = {0, *(start for _, start in getattr(model, "phase_schedule", list)())}
    starts.add(getattr(model, "warmup_steps", 0))
    return sorted(s for s in starts if s < model.total_steps)


def test_every_preset_and_profile_is_covered():
    assert {"infogan_cr", "dcign", "sgan"} <= {name for name, _ in CASES}
    assert ("beta_vae", "study") in CASES and all(any(n == name for n, _ in CASES) for name in list_presets())


@pytest.mark.parametrize("name, profile", CASES)
def test_profile_builds_and_takes_two_steps_per_phase(name, profile, dsprites):
    config = resolve_config(name, profile=profile, overrides={"batch_size": 8})
    model = build_model(config, dsprites, seed=0).train()
    model.set_generator(torch.Generator().manual_seed(0))
    optimizers = model.configure_optimizers()
    rng = np.random.default_rng(0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    for start in phase_starts(model):
        for step in (start, start + 1):
            raw = model.next_batch(dsprites, 8, rng, step)
            batch = {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in raw.items()}
            losses = model.training_step(batch, step, optimizers)
            assert losses and all(math.isfinite(float(v)) for v in losses.values()), (step, losses)
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, before[k])]
    assert changed, "no parameter moved"
    model.eval()
    x = torch.from_numpy(dsprites.sample_observations(3, 0))
    assert model.encode(x).shape == (3, model.num_codes)
