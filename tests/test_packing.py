"""Packed training (disbench.packing, ``--pack N``): a pack of N runs equals the same N runs
trained alone — evaluated with vmap (grouped convolutions, the GPU default) to ≤ 1e-10 in every
float64 parameter (measured ~1e-14: only summation order differs) and ~1e-7 relative in float32;
slot by slot (the CPU default) bit for bit — and resumes, fails and loads per run."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
import torch

from disbench.models import get_model_class
from disbench.packing import PackMember, _Pack, fit_pack, pack_key, train_pack
from disbench.train import build_model, fit, load_run, resolve_config
from tests.test_train_core import TinyShapes, tiny_dataset  # noqa: F401  (the autouse fixture)

BATCH = 4
SMALL = {"arch": "conv_dlib", "num_latents": 4}
# per method: the swept hyper-parameter's values for a pack of 4, and small extra settings
SWEPT = {
    "beta_vae": ("beta", [1.0, 2.0, 4.0, 8.0], {}),
    "factor_vae": ("gamma", [10.0, 20.0, 30.0, 40.0], {"disc_layers": 2, "disc_hidden": 16}),
    "beta_tc_vae": ("beta", [1.0, 2.0, 6.0, 10.0], {}),
    "dip_vae": ("lambda_od", [1.0, 2.0, 5.0, 10.0], {}),
    "annealed_vae": ("c_max", [5.0, 10.0, 25.0, 50.0], {"iteration_threshold": 10}),
}


def config(model: str, seed: int, steps: int, **hp) -> dict:
    cls = get_model_class(model)
    return {"preset": model, "model": model, "steps": steps, "seed": seed,
            "hparams": cls.config_class.from_table({**SMALL, **hp}).to_dict()}


def make(model, seed, steps, dtype, **hp):
    return build_model(config(model, seed, steps, **hp), TinyShapes(), seed=seed).to(dtype)


def params(model) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.fixture
def no_grids(monkeypatch):
    """float64 models cannot draw the float32 image grids; the parameters are what is compared."""
    monkeypatch.setattr("disbench.train.write_grids", lambda *a, **k: [])
    monkeypatch.setattr("disbench.packing.write_grids", lambda *a, **k: [])


def train_alone(model_name, seeds, values, key, extra, steps, dtype, root, every=1000):
    out = []
    for seed, v in zip(seeds, values):
        m = make(model_name, seed, steps, dtype, **{key: v}, **extra)
        fit(m, TinyShapes(), steps=steps, batch_size=BATCH, seed=seed, out_dir=root / f"solo{seed}",
            checkpoint_every=every, log_every=5, device="cpu", progress=False)
        out.append(params(m))
    return out


def train_packed(model_name, seeds, values, key, extra, steps, dtype, root, every=1000, name="pack", vectorize=None):
    members = [PackMember(make(model_name, s, steps, dtype, **{key: v}, **extra), s, root / f"{name}{s}")
               for s, v in zip(seeds, values)]
    outcome = fit_pack(members, TinyShapes(), steps=steps, batch_size=BATCH, checkpoint_every=every, log_every=5,
                       device="cpu", progress=False, vectorize=vectorize)
    return outcome, [params(m.model) for m in members]


def max_diff(a: dict, b: dict) -> float:
    return max(float((a[k] - b[k]).abs().max()) for k in a)


@pytest.mark.parametrize("model_name", sorted(SWEPT))
def test_float64_pack_of_4_equals_the_4_runs_alone(model_name, tmp_path, no_grids):
    """Both evaluations: vmap (grouped convolutions, the GPU default) and slot by slot (the CPU's)."""
    key, values, extra = SWEPT[model_name]
    seeds = [3, 1, 4, 7]
    steps = 20 if model_name in ("beta_vae", "factor_vae") else 8
    alone = train_alone(model_name, seeds, values, key, extra, steps, torch.float64, tmp_path)
    for vectorize in (True, False):
        outcome, packed = train_packed(model_name, seeds, values, key, extra, steps, torch.float64, tmp_path,
                                       name=f"pack{vectorize}", vectorize=vectorize)
        assert outcome == [None] * 4
        diffs = [max_diff(a, p) for a, p in zip(alone, packed)]
        print(f"{model_name} float64 max |pack - alone| after {steps} steps (vmap {vectorize}): {max(diffs):.2e}")
        assert max(diffs) <= (1e-10 if vectorize else 0.0)  # slot by slot: the very same kernels, bit for bit
    # and the runs really differ from each other (their own seeds and hyper-parameters)
    assert max_diff(alone[0], alone[1]) > 1e-3


def test_float32_relative_difference_is_at_rounding_level(tmp_path):
    key, values, extra = SWEPT["beta_vae"]
    seeds = [0, 1, 2, 3]
    alone = train_alone("beta_vae", seeds, values, key, extra, 50, torch.float32, tmp_path)
    for vectorize in (True, False):
        _, packed = train_packed("beta_vae", seeds, values, key, extra, 50, torch.float32, tmp_path,
                                 name=f"pack{vectorize}", vectorize=vectorize)
        rel = []
        for a, p in zip(alone, packed):
            num = math.sqrt(sum(float((a[k] - p[k]).pow(2).sum()) for k in a))
            den = math.sqrt(sum(float(a[k].pow(2).sum()) for k in a))
            rel.append(num / den)
        print(f"float32 per-run relative parameter difference after 50 steps (vmap {vectorize}): "
              + ", ".join(f"{r:.1e}" for r in rel))
        assert max(rel) < (1e-4 if vectorize else 1e-300)  # vmap: grouped-conv rounding only


def test_a_killed_pack_resumes_to_the_uninterrupted_parameters_with_any_pack_size(tmp_path, no_grids, monkeypatch):
    key, values, extra = SWEPT["factor_vae"]
    seeds, steps = [0, 1, 2], 6
    _, straight = train_packed("factor_vae", seeds, values[:3], key, extra, steps, torch.float64, tmp_path, every=2,
                               name="straight")
    step = _Pack.step

    def killed(self, batches, at):
        if at == 3:
            raise KeyboardInterrupt
        return step(self, batches, at)

    monkeypatch.setattr(_Pack, "step", killed)
    with pytest.raises(KeyboardInterrupt):
        train_packed("factor_vae", seeds, values[:3], key, extra, steps, torch.float64, tmp_path, every=2, name="k")
    status = json.loads((tmp_path / "k0" / "status.json").read_text())
    assert status["state"] == "failed" and "interrupted" in status["error"] and status["step"] == 3
    monkeypatch.setattr(_Pack, "step", step)
    # resumed as a pack of 2 plus one run alone (from the step-2 checkpoints)
    _, two = train_packed("factor_vae", seeds[:2], values[:2], key, extra, steps, torch.float64, tmp_path, every=2,
                          name="k")
    third = make("factor_vae", 2, steps, torch.float64, **{key: values[2]}, **extra)
    fit(third, TinyShapes(), steps=steps, batch_size=BATCH, seed=2, out_dir=tmp_path / "k2", checkpoint_every=2,
        log_every=5, device="cpu", progress=False)
    for a, b in zip(straight, [*two, params(third)]):
        assert max_diff(a, b) <= 1e-10


def test_a_non_finite_run_fails_alone_and_the_rest_of_the_pack_goes_on(tmp_path, no_grids):
    extra = {}
    seeds, values = [0, 1, 2], [1.0, math.inf, 4.0]
    alone = train_alone("beta_vae", [0, 2], [1.0, 4.0], "beta", extra, 4, torch.float64, tmp_path)
    outcome, packed = train_packed("beta_vae", seeds, values, "beta", extra, 4, torch.float64, tmp_path)
    assert outcome[0] is None and outcome[2] is None
    assert outcome[1] is not None and outcome[1].step == 1
    status = json.loads((tmp_path / "pack1" / "status.json").read_text())
    assert status["state"] == "failed" and "non-finite" in status["error"]
    assert max_diff(alone[0], packed[0]) <= 1e-10 and max_diff(alone[1], packed[2]) <= 1e-10


def test_pack_key_lets_the_seed_and_the_swept_value_differ_only():
    a = resolve_config("beta_vae", seed=0, overrides={"model": {"beta": 1.0}})
    b = resolve_config("beta_vae", seed=5, overrides={"model": {"beta": 16.0}})
    c = resolve_config("beta_vae", seed=0, overrides={"model": {"lr": 5e-4}})
    assert pack_key(a) == pack_key(b) != pack_key(c)
    assert pack_key(resolve_config("lsgan")) is None  # GANs train alone
    assert pack_key(resolve_config("dcign")) is None  # a subclass that changes the step must opt in itself


def test_packed_run_directories_are_ordinary_runs(tmp_path):
    from disbench.metrics import evaluate

    over = {"steps": 3, "batch_size": 4, "checkpoint_every": 2, "log_every": 1, "model": SMALL}
    runs = [{"preset": "beta_vae", "dataset": "tiny_shapes", "profile": "quick", "seed": s, "out_dir": tmp_path / f"r{s}",
             "overrides": {**over, "model": {**SMALL, "beta": b}}} for s, b in [(0, 1.0), (1, 4.0)]]
    assert train_pack(runs, device="cpu", progress=False) == [None, None]
    for index, r in enumerate(runs):
        cfg = json.loads((r["out_dir"] / "config.json").read_text())
        assert cfg["pack"]["size"] == 2 and cfg["pack"]["index"] == index
        assert (r["out_dir"] / "train_log.csv").is_file() and (r["out_dir"] / "samples.png").is_file()
        model, ds, _ = load_run(r["out_dir"], device="cpu")
        scores = evaluate(ds, model.encode, ["mig"], preset="quick", random_state=0, device="cpu")
        assert 0.0 <= scores["mig"] <= 1.0
    mtime = (runs[0]["out_dir"] / "checkpoints" / "last.pt").stat().st_mtime_ns
    assert train_pack(runs, device="cpu", progress=False) == [None, None]  # completed: left untouched
    assert (runs[0]["out_dir"] / "checkpoints" / "last.pt").stat().st_mtime_ns == mtime


TINY_PRESET = """name = "{name}"
model = "{model}"
display_name = "{name}"
supervision = "none"
representation = "posterior mean"
citation = "test"
paper = "test"
[profiles.quick]
steps = 3
batch_size = 4
checkpoint_every = 2
log_every = 1
[profiles.quick.model]
arch = "conv_dlib"
{latents}"""


def test_run_with_pack_trains_packable_runs_together_and_says_what_trains_alone(tmp_path):
    from disbench.presets import load_preset
    from disbench.runner import execute, train_spec

    for name, model in (("tiny_vae", "beta_vae"), ("tiny_dcign", "dcign")):
        latents = "num_latents = 4\n" if model == "beta_vae" else ""
        (tmp_path / f"{name}.toml").write_text(TINY_PRESET.format(name=name, model=model, latents=latents))
    vae, dcign = load_preset(str(tmp_path / "tiny_vae.toml")), load_preset(str(tmp_path / "tiny_dcign.toml"))
    specs = [train_spec(vae, "tiny_shapes", "quick", s, ["mig"], model={"beta": b}) for s in (0, 1) for b in (1.0, 4.0)]
    specs.append(train_spec(dcign, "tiny_shapes", "quick", 0, ["mig"]))
    said = []
    result = execute(specs, out=tmp_path / "out", device="cpu", progress=False, echo=said.append, pack=3)
    assert [r.state for r in result.records] == ["completed"] * 5
    assert any("tiny_dcign trains alone" in line for line in said)
    packs = [json.loads((tmp_path / "out" / "runs" / s["run_id"] / "config.json").read_text()).get("pack")
             for s in specs]
    assert [p and p["size"] for p in packs] == [3, 3, 3, None, None]  # a group of 4 in packs of 3: one left alone


def _linear_model(noise_in_loss: bool):
    from disbench.models import Baseline
    from disbench.models.base import step_optimizers
    from disbench.models.config import BaselineConfig, param

    @dataclasses.dataclass(frozen=True)
    class Cfg(BaselineConfig):
        scale: float = param(1.0, "loss scale")

    class Linear(Baseline):
        name, representation, config_class = "linear", "a linear code", Cfg
        pack_hyperparameters = ("scale",)

        def __init__(self, info, total_steps, config=None):
            super().__init__(info, total_steps, config)
            self.lin = torch.nn.Linear(64 * 64, 2)

        num_codes = 2

        def configure_optimizers(self):
            return {"adam": torch.optim.Adam(self.parameters(), lr=0.01)}

        def pack_noise(self, batch_size, step):
            return {"eps": self.randn(batch_size, 2)}

        def pack_loss(self, batch, noise, hparams, step):
            eps = self.randn(len(batch["x"]), 2) if noise_in_loss else noise["eps"]
            loss = hparams["scale"] * (self.lin(batch["x"].flatten(1)) + eps).pow(2).mean()
            return {"adam": loss}, {"loss": loss.detach()}

        def training_step(self, batch, step, optimizers):
            losses, terms = self.pack_loss(batch, self.pack_noise(len(batch["x"]), step), self.pack_hparams(), step)
            step_optimizers(optimizers, losses)
            return terms

        def encode(self, x):
            return self.lin(torch.as_tensor(x).flatten(1))

        def sample(self, n, generator=None):
            return torch.zeros(n, 1, 64, 64)

        def traverse(self, x, num_steps, generator=None):
            return torch.zeros(2, num_steps, 1, 64, 64)

    return Linear


def test_check_model_checks_the_packing_hooks():
    from disbench.testing import ContractError, check_model

    assert check_model(_linear_model(False))[-1] == "packing hooks"
    with pytest.raises(ContractError, match="pack_loss must be a pure function"):
        check_model(_linear_model(True))


def test_device_images_gather_the_batches_the_host_path_draws():
    """The CUDA data path (dataset on the device as uint8), exercised on the CPU: same rng
    draws, bit-identical images and factors."""
    import numpy as np

    from disbench.packing import DeviceImages

    ds = TinyShapes()
    images = DeviceImages.build(ds, torch.device("cpu"), 5)
    assert images is not None and images.images.dtype == torch.uint8 and images.images.shape == (32, 1, 32, 32)
    model = make("beta_vae", 0, 1, torch.float32)
    a, b = np.random.default_rng(9), np.random.default_rng(9)
    for step in range(3):
        got = images.gather(model, a, step)
        want = model.next_batch(ds, 5, b, step)
        assert torch.equal(got["x"], torch.from_numpy(want["x"])) and torch.equal(got["factors"], torch.from_numpy(want["factors"]))
    assert a.bit_generator.state == b.bit_generator.state


@pytest.mark.slow
def test_quick_profile_packed_runs_score_as_the_runs_alone(tmp_path):
    """β-VAE's quick profile on dSprites at two β values: a pack of two and the two runs alone
    end with the same parameters (bit for bit on the CPU) and the same quick metric scores."""
    from disbench.metrics import evaluate_run
    from disbench.train import train_run

    runs = [{"preset": "beta_vae", "dataset": "dsprites", "profile": "quick", "seed": s, "out_dir": tmp_path / f"p{s}",
             "overrides": {"model": {"beta": b}}} for s, b in [(0, 1.0), (1, 4.0)]]
    assert train_pack(runs, device="cpu", progress=False) == [None, None]
    for r in runs:
        alone = train_run("beta_vae", dataset="dsprites", profile="quick", seed=r["seed"], out_dir=tmp_path / f"a{r['seed']}",
                          device="cpu", progress=False, overrides=r["overrides"])
        a = torch.load(alone / "checkpoints" / "last.pt", weights_only=True)
        p = torch.load(r["out_dir"] / "checkpoints" / "last.pt", weights_only=True)
        assert all(torch.equal(a["model"][k], p["model"][k]) for k in a["model"])
        scores = [evaluate_run(d, ["mig", "sap"], preset="quick", device="cpu") for d in (alone, r["out_dir"])]
        assert scores[0]["mig"] == scores[1]["mig"] and scores[0]["sap"] == scores[1]["sap"]


def test_cli_run_and_study_pass_pack_on(monkeypatch):
    from disbench import runner, study
    from disbench.cli import main

    seen = {}

    def fake_run(*args, **kwargs):
        seen["run"] = kwargs["pack"]
        return runner.JobResult([], [])

    def fake_study(plan, **kwargs):
        seen["study"] = kwargs["pack"]
        return runner.JobResult([], []), {}

    monkeypatch.setattr(runner, "run_benchmark", fake_run)
    monkeypatch.setattr(study, "run_study", fake_study)
    assert main(["run", "--models", "beta_vae", "--pack", "4", "--no-progress"]) == 0
    assert main(["study", "unsupervised_study_v1", "--models", "beta_vae", "--seeds", "0", "--pack", "6",
                 "--no-progress"]) == 0
    assert seen == {"run": 4, "study": 6}
