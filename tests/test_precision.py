"""Training precision: float32 (TF32 on CUDA) unless a profile says bf16; recorded in the
run's config and env.json, shown in the report."""

from __future__ import annotations

import json

import pytest
import torch

from disbench.device import effective_precision, precision_context
from disbench.errors import DataFileError, InvalidInputError
from disbench.io import write_json_atomic
from disbench.presets import list_presets, load_preset
from disbench.report import render_report
from disbench.results import ResultsStore
from disbench.train import resolve_config, train_run

CPU = torch.device("cpu")


def test_paper_and_study_profiles_train_in_float32():
    """The papers trained in float32: no paper or study profile asks for bf16 (quick
    profiles may: they are for speed)."""
    for name in list_presets():
        for profile in load_preset(name).profiles:
            precision = resolve_config(name, profile=profile)["precision"]
            assert precision in ("float32", "bf16") and (profile == "quick" or precision == "float32"), (name, profile)
    assert resolve_config("infogan", profile="quick")["precision"] == "bf16"  # as infogan.toml says


def test_precision_override_and_bad_values(tmp_path):
    assert resolve_config("infogan", profile="paper", overrides={"precision": "bf16"})["precision"] == "bf16"
    with pytest.raises(InvalidInputError, match="precision"):
        resolve_config("infogan", overrides={"precision": "fp16"})
    with pytest.raises(InvalidInputError, match="precision"):
        effective_precision(CPU, "float16")
    bad = tmp_path / "bad.toml"
    text = load_preset("vae").path.read_text().replace('precision = "bf16"', 'precision = "half"', 1)
    bad.write_text(text)
    with pytest.raises(DataFileError, match="precision"):
        load_preset(str(bad))


def test_the_cpu_trains_in_float32_whatever_the_profile_says():
    assert effective_precision(CPU, "bf16") == effective_precision(CPU, "float32") == "float32"
    a, b = torch.randn(4, 8), torch.randn(8, 3)
    with precision_context(CPU, "bf16"):
        out = a @ b
    assert out.dtype == torch.float32 and torch.equal(out, a @ b)


def test_run_records_its_precision_and_the_report_shows_it(tmp_path, monkeypatch):
    monkeypatch.setenv("DISBENCH_DATA", str(tmp_path / "data"))
    over = {"steps": 2, "batch_size": 4, "checkpoint_every": 2, "log_every": 1, "model": {"arch": "conv"}}
    run = train_run("vae", profile="paper", out_dir=tmp_path / "run", device="cpu", progress=False, overrides=over)
    assert json.loads((run / "config.json").read_text())["precision"] == "float32"
    assert json.loads((run / "env.json").read_text())["precision"] == "float32"
    store = ResultsStore(tmp_path / "res")
    spec = {"run_id": "vae-dsprites-paper-s0-00", "kind": "train", "name": "vae", "model": "beta_vae",
            "dataset": "dsprites", "profile": "paper", "seed": 0, "display_name": "VAE", "supervision": "none",
            "representation": "z", "config": {"precision": "float32"}}
    run_dir = store.write_spec(spec)
    write_json_atomic(run_dir / "status.json", {"state": "completed", "step": 2, "error": None})
    write_json_atomic(run_dir / "env.json", {"device": "cuda (NVIDIA H100)", "precision": "float32 (TF32 matmuls)"})
    store.sync(spec["run_id"])
    page = render_report(store.records(), run_root=store.root)
    assert "paper profile · trained on cuda (NVIDIA H100) in float32 (TF32 matmuls)" in page
