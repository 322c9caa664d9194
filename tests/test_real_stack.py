"""The real pipeline in the default suite: plan → real ``train_run`` → real ``evaluate_run`` →
index → leaderboard, on a 4-step β-VAE scored with MIG only (no sanity rows, no fakes).

Also: the runner calls ``train_run`` / ``evaluate_run`` / ``evaluate`` /
``representations.make`` / ``data.load`` with arguments their real signatures accept
(every other runner test replaces them with fakes, which would hide a renamed argument).
"""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from disbench import runner
from disbench.resources import presets_dir

STEPS = 4


def short_preset(tmp_path: Path, monkeypatch, name: str = "beta_vae", **quick) -> Path:
    """A copy of preset ``name`` whose quick profile has the given keys replaced; made the
    only preset (``disbench.presets.presets_dir`` points at it)."""
    text = (presets_dir() / f"{name}.toml").read_text()
    head, rest = text.split("[profiles.quick]", 1)
    body, tail = rest.split("\n[", 1)
    for key, value in quick.items():
        body, n = re.subn(rf"^{key} = \d+", f"{key} = {value}", body, flags=re.M)
        assert n == 1, f"{key} not in the quick profile of {name}"
    d = tmp_path / "baselines"
    d.mkdir(exist_ok=True)
    (d / f"{name}.toml").write_text(head + "[profiles.quick]" + body + "\n[" + tail)
    monkeypatch.setattr("disbench.presets.presets_dir", lambda: d)
    return d


@pytest.fixture(scope="module")
def real_job(tmp_path_factory):
    """One real job, run once for the module: (job result, results dir)."""
    tmp = tmp_path_factory.mktemp("real")
    with pytest.MonkeyPatch.context() as mp:
        short_preset(tmp, mp, steps=STEPS, checkpoint_every=2, log_every=2)
        out = tmp / "res"
        messages: list[str] = []
        job = runner.run_benchmark(["beta_vae"], metrics=["mig"], out=out, sanity=False, progress=False,
                                   echo=messages.append)  # fmt: skip
        yield job, out, messages, mp


def test_real_job_trains_scores_indexes_and_exports(real_job):
    job, out, messages, _ = real_job
    assert [r.state for r in job.records] == ["completed"], [r.error for r in job.records]
    record = job.records[0]
    run_dir = out / "runs" / record.run_id
    assert re.fullmatch(r"beta_vae-dsprites-quick-s0-[0-9a-f]{10}", record.run_id)
    # training: the log has every step, the checkpoint is at the last step, status completed
    log = pd.read_csv(run_dir / "train_log.csv")
    assert log["step"].tolist() == [2, 4]
    ckpt = torch.load(run_dir / "checkpoints" / "last.pt", map_location="cpu", weights_only=True)
    assert ckpt["step"] == STEPS
    status = json.loads((run_dir / "status.json").read_text())
    assert (status["state"], status["step"], status["error"]) == ("completed", STEPS, None)
    for png in ("samples.png", "reconstructions.png", "traversals.png"):
        assert (run_dir / png).stat().st_size > 0, png
    # scoring: only MIG, at the quick preset, one value per dSprites factor, written to metrics.json
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["metric_preset"] == "quick" and metrics["metric_settings"]["mig"]["num_train"] == 10_000
    assert {k for k in metrics if "." not in k and k not in ("metric_preset", "metric_settings", "run_dir")} == {"mig"}
    assert len(metrics["mig.per_factor"]) == 5
    assert record.metrics == metrics and record.step == STEPS
    # the leaderboard shows that run's MIG: the CSV mean is the one seed's value, the Markdown
    # row holds it with three decimals
    wide = pd.read_csv(out / "leaderboard.csv")
    assert wide["name"].tolist() == ["beta_vae"] and wide.loc[0, "mig"] == pytest.approx(metrics["mig"])
    row = next(ln for ln in (out / "leaderboard.md").read_text().splitlines() if ln.startswith("| β-VAE"))
    assert f"{metrics['mig']:.3f}" in row
    assert any("1 of 1 run(s) finished" in m for m in messages)


def test_real_scores_are_the_scores_of_the_trained_checkpoint(real_job):
    """Independent recomputation: load the checkpoint, score its encoder with the same seed."""
    from disbench.metrics import evaluate
    from disbench.train import load_run

    job, out, _, _ = real_job
    record = job.records[0]
    model, dataset, config = load_run(out / "runs" / record.run_id, device="cpu")
    again = evaluate(dataset, model, ["mig"], preset="quick", random_state=record.seed)
    assert again["mig"] == record.metrics["mig"]
    np.testing.assert_array_equal(again["mig.per_factor"], record.metrics["mig.per_factor"])
    assert config["steps"] == STEPS


def test_real_job_rerun_skips_the_completed_run(real_job):
    job, out, _, _ = real_job
    again = runner.run_benchmark(["beta_vae"], metrics=["mig"], out=out, sanity=False, progress=False,
                                 export=False, echo=lambda m: None)  # fmt: skip
    assert again.skipped == [job.records[0].run_id]


# --- the runner's calls match the real signatures --------------------------------------------
class Called(Exception):
    """Raised by a signature-checking stand-in once the call has been checked."""


def checked(real, log: list):
    """A stand-in for ``real`` that binds the call to ``real``'s signature (TypeError if it
    does not fit), records it, and stops the run there."""
    sig = inspect.signature(real)

    def stand_in(*args, **kwargs):
        sig.bind(*args, **kwargs)
        log.append(real.__name__)
        raise Called(real.__name__)

    return stand_in


def test_runner_calls_train_run_and_evaluate_run_with_accepted_arguments(tmp_path, monkeypatch):
    import disbench.metrics
    import disbench.train

    short_preset(tmp_path, monkeypatch, steps=STEPS)
    spec = runner.plan_runs(["beta_vae"], metrics=["mig"], sanity=False)[0]
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    calls: list[str] = []
    monkeypatch.setattr(disbench.train, "train_run", checked(disbench.train.train_run, calls))
    with pytest.raises(Called):
        runner._train_and_score(spec, run_dir, "cpu")
    monkeypatch.setattr(disbench.train, "train_run", lambda *a, **k: run_dir)
    monkeypatch.setattr(disbench.metrics, "evaluate_run", checked(disbench.metrics.evaluate_run, calls))
    with pytest.raises(Called):
        runner._train_and_score(spec, run_dir, "cpu")
    assert calls == ["train_run", "evaluate_run"]


def test_runner_calls_the_sanity_pieces_with_accepted_arguments(tmp_path, monkeypatch):
    import disbench.data
    import disbench.metrics
    import disbench.representations

    spec = next(s for s in runner.plan_runs(["beta_vae"], metrics=["mig"]) if s["kind"] == "sanity")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    calls: list[str] = []
    real_load = disbench.data.load
    monkeypatch.setattr(disbench.data, "load", checked(real_load, calls))
    with pytest.raises(Called):
        runner._score_sanity(spec, run_dir, "cpu")
    monkeypatch.setattr(disbench.data, "load", lambda *a, **k: object())
    monkeypatch.setattr(disbench.representations, "make", checked(disbench.representations.make, calls))
    with pytest.raises(Called):
        runner._score_sanity(spec, run_dir, "cpu")
    monkeypatch.setattr(disbench.representations, "make", lambda *a, **k: None)
    monkeypatch.setattr(disbench.metrics, "evaluate", checked(disbench.metrics.evaluate, calls))
    with pytest.raises(Called):
        runner._score_sanity(spec, run_dir, "cpu")
    assert calls == ["load", "make", "evaluate"]
