"""benchmarks/gpu_check.py: its CPU paths (the skip line; the ``--dry`` run through every part on a
tiny dataset) and its arithmetic. The GPU path itself needs CUDA (no GPU on this machine)."""

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from tests.test_train_core import tiny_dataset  # noqa: F401  (the autouse fixture: the "tiny_shapes" dataset)

PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "gpu_check.py"


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_without_cuda_it_prints_one_skip_line_and_exits_0(gpu_check, monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gpu_check.main(["--presets", "infogan"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and "no CUDA device" in json.loads(lines[0])["skipped"]


def test_phase_lengths_scale_with_the_run(gpu_check):
    table = {"encoder_steps": 20000, "independent_steps": 100000, "lr_g": 1e-4, "generator_steps": 2,
             "cr_start_step": 0, "posthoc_steps": 1}
    assert gpu_check.scaled_phases(table, 220000, 200) == {"encoder_steps": 18, "independent_steps": 90,
                                                            "cr_start_step": 0, "posthoc_steps": 1}
    assert gpu_check.scaled_phases({"cr_start_step": 288000}, 322560, 4) == {"cr_start_step": 3}  # < 4 steps


def test_dry_run_goes_through_every_part_and_writes_its_json(gpu_check, tmp_path, monkeypatch):
    from disbench import data

    resolve = data.resolve_source  # the study profile asks for dSprites' "auto" source; tiny_shapes has one only
    monkeypatch.setattr(data, "resolve_source", lambda name, source: None if name == "tiny_shapes" else resolve(name, source))
    out = tmp_path / "gpu.json"
    assert gpu_check.main(["--dry", "--out", str(out), "--dataset", "tiny_shapes", "--presets", "beta_vae"]) == 0
    got = json.loads(out.read_text())
    assert got["dry"] and got["device"] == "cpu" and "stopped" not in got
    assert {(r["preset"], r["state"]) for r in got["smoke"]} == {("beta_vae", "ok")}
    assert {r["profile"] for r in got["smoke"]} == {"quick", "paper", "study"}
    modes = [r["mode"] for r in got["pack_table"]]
    assert modes == ["plain loop", "one at a time", "pack 1", "pack 2"]
    assert all(r["images_per_s"] > 0 and r["study_hours"] > 0 for r in got["pack_table"])
    assert got["default_pack_size"] in (1, 2)
    assert got["study"]["steps"] == 2 and [r["beta"] for r in got["study"]["runs"]] == [1.0, 16.0]
    assert all(0 <= r["scores"]["mig"] <= 1 for r in got["study"]["runs"])


def test_default_pack_size_and_rate(gpu_check):
    rows = [{"mode": "plain loop", "models": 1, "images_per_s": 50.0},
            {"mode": "pack 1", "models": 1, "images_per_s": 100.0},
            {"mode": "pack 4", "models": 4, "images_per_s": 390.0},
            {"mode": "pack 8", "models": 8, "images_per_s": 400.0},
            {"mode": "pack 8 vmap", "models": 8, "images_per_s": 900.0}]
    assert gpu_check.default_pack_size(rows) == 4  # 390 ≥ 0.95 × 400; "vmap" rows are not packs of the default path
    assert gpu_check.rate_for(rows, 6) == 390.0 and gpu_check.rate_for(rows, 1) == 100.0
