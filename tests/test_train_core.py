"""Training core: run directory, resume, failure handling, determinism, CLI (disbench.train)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from PIL import Image

from disbench import data
from disbench.cli import main
from disbench.data.base import GroundTruthDataset
from disbench.device import resolve_device
from disbench.errors import InvalidInputError, MissingFileError, UnknownConfigKeyError, UnknownNameError
from disbench.models.beta_vae import BetaVAE
from disbench.train import TrainingFailed, load_run, resolve_config, train_run

TINY = {"steps": 6, "batch_size": 4, "checkpoint_every": 3, "log_every": 2}


class TinyShapes(GroundTruthDataset):
    """A 32×32 square or plus at a 4×4 grid of positions (cheap stand-in for dSprites)."""

    name = "tiny_shapes"
    factor_names = ("shape", "posX", "posY")
    factors_num_values = (2, 4, 4)
    observation_shape = (1, 32, 32)

    def _observations(self, factors, rng):
        out = np.zeros((len(factors), 1, 32, 32), dtype=np.float32)
        for i, (s, px, py) in enumerate(factors):
            y, x = 4 + 6 * py, 4 + 6 * px
            if s == 0:
                out[i, 0, y : y + 6, x : x + 6] = 1
            else:
                out[i, 0, y + 2 : y + 4, x : x + 6] = 1
                out[i, 0, y : y + 6, x + 2 : x + 4] = 1
        return out


def load(name, **options):
    """This module is the loader of "tiny_shapes" (see :data:`disbench.data.DATASETS`)."""
    return TinyShapes()


@pytest.fixture(autouse=True)
def tiny_dataset(monkeypatch, tmp_path):
    monkeypatch.setenv("DISBENCH_DATA", str(tmp_path / "data"))
    monkeypatch.setitem(data.DATASETS, "tiny_shapes", __name__)  # this module's load() builds it
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a shared, loaded 2-core machine: OpenMP spinning costs 10x
    yield
    torch.set_num_threads(threads)


def run(out, preset="beta_vae", seed=0, **over):
    return train_run(preset, dataset="tiny_shapes", seed=seed, out_dir=out, device="cpu", progress=False,
                     overrides={**TINY, **over})


def params(run_dir):
    return torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)["model"]


def test_run_directory_contents(tmp_path):
    out = run(tmp_path / "r")
    config = json.loads((out / "config.json").read_text())
    assert config["preset"] == "beta_vae" and config["dataset"] == "tiny_shapes" and config["steps"] == 6
    assert config["hparams"]["beta"] == 4.0 and config["supervision"] == "none"
    status = json.loads((out / "status.json").read_text())
    assert status["state"] == "completed" and status["step"] == 6 and status["error"] is None
    assert set(status["last_losses"]) == {"loss", "recon", "kl"}
    with open(out / "train_log.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [2, 3, 4, 6]  # every log_every steps and at checkpoints
    assert {"time", "images_per_s", "loss", "recon", "kl"} <= set(rows[0])
    env = json.loads((out / "env.json").read_text())
    assert {"python", "torch", "numpy", "hostname", "device", "git_commit"} <= set(env)
    assert env["device"] == "cpu"
    for name in ("samples", "reconstructions", "traversals"):
        with Image.open(out / f"{name}.png") as im:
            im.verify()
    with Image.open(out / "traversals.png") as im:  # 10 latents × 10 steps of 32 px, ×2 scale
        assert im.size == (2 * (10 * 34 + 2), 2 * (10 * 34 + 2))
    with Image.open(out / "traversals.gif") as im:  # 10 codes tiled 4 x 3, 10 steps there and back
        assert im.n_frames == 18 and im.size == (2 * (4 * 34 + 2), 2 * (3 * 34 + 2))


def test_completed_run_is_not_retrained(tmp_path):
    out = run(tmp_path / "r")
    before = (out / "checkpoints" / "last.pt").stat().st_mtime_ns
    assert run(tmp_path / "r") == out
    assert (out / "checkpoints" / "last.pt").stat().st_mtime_ns == before


def test_same_seed_same_parameters_other_seed_differs(tmp_path):
    a, b, c = params(run(tmp_path / "a")), params(run(tmp_path / "b")), params(run(tmp_path / "c", seed=1))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


@pytest.mark.parametrize("preset", ["beta_vae", "dcign"])
def test_interrupted_and_resumed_equals_uninterrupted(tmp_path, interrupt_training, preset):
    full = params(run(tmp_path / "full", preset))
    restore = interrupt_training(type(load_run(tmp_path / "full", device="cpu")[0]), at_step=4)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "resumed", preset)
    status = json.loads((tmp_path / "resumed" / "status.json").read_text())
    assert status["state"] == "failed" and "interrupted" in status["error"]
    assert torch.load(tmp_path / "resumed" / "checkpoints" / "last.pt", weights_only=True)["step"] == 3
    with pytest.raises(InvalidInputError, match="not completed"):
        load_run(tmp_path / "resumed")
    restore()
    resumed = params(run(tmp_path / "resumed", preset))
    assert all(torch.equal(full[k], resumed[k]) for k in full)
    with open(tmp_path / "resumed" / "train_log.csv") as f:
        assert [int(r["step"]) for r in csv.DictReader(f)] == [2, 3, 4, 6]


def test_nan_loss_marks_run_failed(tmp_path, monkeypatch):
    original = BetaVAE.training_step

    def nan_at_step_4(self, batch, step, optimizers):
        losses = original(self, batch, step, optimizers)
        if step == 3:
            losses["kl"] = torch.tensor(float("nan"))
        return losses

    monkeypatch.setattr(BetaVAE, "training_step", nan_at_step_4)
    with pytest.raises(TrainingFailed, match="non-finite loss \\(kl\\) at step 4") as info:
        run(tmp_path / "r")
    assert info.value.step == 4
    status = json.loads((tmp_path / "r" / "status.json").read_text())
    assert status["state"] == "failed" and status["step"] == 4 and "non-finite" in status["error"]
    assert status["last_losses"]["kl"] == "nan" and np.isfinite(status["last_losses"]["recon"])
    assert torch.load(tmp_path / "r" / "checkpoints" / "last.pt", weights_only=True)["step"] == 3


def test_other_error_marks_run_failed(tmp_path, monkeypatch):
    def boom(self, batch, step, optimizers):
        raise RuntimeError("boom")

    monkeypatch.setattr(BetaVAE, "training_step", boom)
    with pytest.raises(TrainingFailed, match="boom"):
        run(tmp_path / "r")
    assert json.loads((tmp_path / "r" / "status.json").read_text())["state"] == "failed"


def test_config_mismatch_and_bad_arguments(tmp_path):
    run(tmp_path / "r", steps=3)
    with pytest.raises(InvalidInputError, match="different config"):
        run(tmp_path / "r", steps=4)
    with pytest.raises(UnknownConfigKeyError, match="unknown key 'lr'; valid keys: steps, .*model.lr"):
        run(tmp_path / "x", lr=0.1)  # a model key is model.lr (overrides={"model": {"lr": ...}})
    with pytest.raises(UnknownNameError, match="valid presets"):
        train_run("nope", out_dir=tmp_path / "n")
    with pytest.raises(UnknownNameError, match="valid profiles"):
        train_run("beta_vae", profile="nope", out_dir=tmp_path / "n")
    with pytest.raises(UnknownNameError, match="valid datasets"):
        train_run("beta_vae", dataset="nope", out_dir=tmp_path / "n")
    assert not (tmp_path / "n").exists()
    with pytest.raises(MissingFileError):
        load_run(tmp_path / "missing")
    with pytest.raises(InvalidInputError):
        resolve_config("beta_vae", seed=-1)


def test_load_run_gives_eval_model_with_trained_parameters(tmp_path):
    out = run(tmp_path / "r")
    model, ds, config = load_run(out, device="cpu")
    assert not model.training and config["preset"] == "beta_vae" and ds.name == "tiny_shapes"
    saved = params(out)
    assert all(torch.equal(saved[k], v) for k, v in model.state_dict().items())


def test_resolve_device():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    with pytest.raises(InvalidInputError, match="unknown device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(InvalidInputError, match="not available"):
            resolve_device("cuda")


def test_cli_train(tmp_path, capsys):
    out = tmp_path / "cli"
    code = main(["train", "vae", "--dataset", "tiny_shapes", "--steps", "2", "--batch-size", "2",
                 "--device", "cpu", "--out", str(out), "--quiet"])
    assert code == 0 and f"run directory: {out}" in capsys.readouterr().out
    assert json.loads((out / "config.json").read_text())["hparams"]["beta"] == 1.0
    assert main(["train", "nope", "--out", str(tmp_path / "x")]) == 2
    assert "unknown preset 'nope'" in capsys.readouterr().err


def test_run_directory_with_partial_hparams_resumes(tmp_path):
    """config.json written before the resolved model config was recorded (only the preset's
    keys) still matches: both resolve to the same config."""
    out = run(tmp_path / "r", steps=3)
    path = out / "config.json"
    config = json.loads(path.read_text())
    config["hparams"] = {"beta": 4.0, "lr": config["hparams"]["lr"]}
    config["steps"] = 6
    path.write_text(json.dumps(config))
    (out / "status.json").write_text(json.dumps({"state": "failed", "step": 3}))
    assert run(out) == out
    assert json.loads((out / "status.json").read_text())["state"] == "completed"
