"""benchmarks/gpu_check.py: its CPU path (skip) and its loss-agreement arithmetic.

The GPU path itself needs CUDA; it has not been run on this machine (no GPU)."""

import importlib.util
import json
from pathlib import Path

import pytest
import torch

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


def test_loss_agreement_by_hand(gpu_check):
    ref = [{"step": 1, "time": 0.1, "images_per_s": 5.0, "loss": 2.0, "posthoc": 0.0},
           {"step": 2, "time": 0.2, "images_per_s": 5.0, "loss": 4.0, "posthoc": 0.0},
           {"step": 3, "time": 0.3, "images_per_s": 5.0, "loss": -1.0, "posthoc": 0.0}]
    other = [{**r} for r in ref]
    other[0]["loss"], other[1]["loss"], other[2]["loss"] = 2.2, 4.0, -0.5  # 10 %, 0 %, 50 %
    other[2]["posthoc"] = 1e-4  # reference 0: relative to the 1e-3 floor -> 0.1
    got = gpu_check.loss_agreement(ref, other)
    assert set(got) == {"loss", "posthoc"}
    assert got["loss"] == {"max_rel_diff": 0.5, "median_rel_diff": 0.1}
    assert got["posthoc"] == {"max_rel_diff": 0.1, "median_rel_diff": 0.0}


def test_loss_agreement_refuses_logs_of_different_steps(gpu_check):
    with pytest.raises(ValueError, match="different steps"):
        gpu_check.loss_agreement([{"step": 1, "loss": 1.0}], [{"step": 2, "loss": 1.0}])


def test_phase_lengths_scale_with_the_run(gpu_check):
    table = {"encoder_steps": 20000, "independent_steps": 100000, "lr_g": 1e-4, "generator_steps": 2,
             "cr_start_step": 0, "posthoc_steps": 1}
    assert gpu_check.scaled_phases(table, 220000, 200) == {"encoder_steps": 18, "independent_steps": 90,
                                                            "cr_start_step": 0, "posthoc_steps": 1}
    assert gpu_check.scaled_phases({"cr_start_step": 288000}, 322560, 4) == {"cr_start_step": 3}  # < 4 steps
