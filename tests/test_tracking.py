"""Experiment tracking (``--track``, :mod:`disbench.tracking`), each tracker offline against its own
file store, read back with the tracker's own reader: TensorBoard event files (EventAccumulator),
MLflow's ``file:`` store (MlflowClient), W&B ``mode="offline"`` (its run directory). Each test
skips when its extra is not installed."""

from __future__ import annotations

import csv
import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch

from disbench import tracking
from disbench.cli import main
from disbench.errors import UnknownNameError
from disbench.train import CHECKPOINT, train_run

SETTINGS = {"steps": 6, "checkpoint_every": 3, "log_every": 2, "batch_size": 8}
SCORES = {"mig": 0.25, "mig.per_factor": [0.1, 0.2], "dci": 0.5, "metric_preset": "quick"}


def _needs(module: str):
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (pip install \"disbench[{module}]\" to run this check)")


def _train(tmp_path, name: str, track=()) -> tuple[Path, list]:
    run_dir = tmp_path / "results" / "runs" / name
    trackers = tracking.open_trackers(track, run_dir, name)
    try:
        train_run("beta_vae", out_dir=run_dir, progress=False, device="cpu", overrides=SETTINGS, callbacks=trackers)
        for tracker in trackers:
            tracker.log_scores(SCORES)
    finally:
        for tracker in trackers:
            tracker.close()
    return run_dir, trackers


def _log_rows(run_dir: Path) -> list[dict]:
    with open(run_dir / "train_log.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_check_names_and_missing_extra(monkeypatch, tmp_path, capsys):
    with pytest.raises(UnknownNameError, match="unknown tracker 'tensorbored'"):
        tracking.check(["tensorbored"])
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow now raises ImportError
    with pytest.raises(tracking.MissingExtraError, match=r'pip install "disbench\[mlflow\]"'):
        tracking.check(["mlflow"])
    monkeypatch.chdir(tmp_path)
    assert main(["train", "beta_vae", "--track", "mlflow", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'pip install "disbench[mlflow]"' in err
    assert not (tmp_path / "results").exists()  # refused before anything ran
    assert main(["run", "--models", "beta_vae", "--track", "mlflow", "--out", str(tmp_path / "r")]) == 2
    assert tracking.flat_config({"a": {"b": 1, "c": [1, 2]}, "d": None}) == {"a.b": 1, "a.c": "[1, 2]", "d": "null"}


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    """One 6-step run followed by every installed tracker, each offline in its own local store:
    ``(run_dir, {name: tracker})``."""
    installed = [name for name, (module, _) in tracking.EXTRAS.items() if importlib.util.find_spec(module)]
    if not installed:
        pytest.skip("no tracker installed (pip install \"disbench[tensorboard]\")")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 keeps its file: store behind this switch
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.setenv("WANDB_MODE", "offline")
        mp.setenv("WANDB_SILENT", "true")
        run_dir, trackers = _train(tmp_path_factory.mktemp("tracked"), "tracked-run", installed)
    return run_dir, dict(zip(installed, trackers))


def test_tensorboard_event_files_read_back(tracked):
    _needs("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir = tracked[0]
    acc = EventAccumulator(str(run_dir), size_guidance={"images": 0, "scalars": 0})
    acc.Reload()
    rows = _log_rows(run_dir)
    loss = acc.Scalars("train/loss")
    assert [e.step for e in loss] == [int(r["step"]) for r in rows] == [2, 3, 4, 6]  # log_every and checkpoints
    assert [e.value for e in loss] == pytest.approx([float(r["loss"]) for r in rows], rel=1e-6)
    assert {"train/kl", "train/images_per_s"} <= set(acc.Tags()["scalars"])
    assert [e.step for e in acc.Images("samples")] == [3, 6] and [e.step for e in acc.Images("traversals")] == [3, 6]
    assert acc.Scalars("score/mig")[0].value == pytest.approx(0.25) and acc.Scalars("score/mig")[0].step == 6
    assert "score/mig.per_factor" not in acc.Tags()["scalars"]  # headline scores only
    config = json.loads((run_dir / "config.json").read_text())
    assert json.dumps(config["hparams"]["beta"]) in acc.Tensors("config/text_summary")[0].tensor_proto.string_val[0].decode()


def test_tracking_does_not_change_training(tmp_path, tracked):
    plain, _ = _train(tmp_path, "plain")
    tracked = tracked[0]
    a = torch.load(plain / CHECKPOINT, weights_only=True)
    b = torch.load(tracked / CHECKPOINT, weights_only=True)
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    assert torch.equal(a["torch_rng"], b["torch_rng"])
    assert _log_rows(plain)[-1]["loss"] == _log_rows(tracked)[-1]["loss"]


def test_runner_names_the_tracker_run_by_the_run_id(tmp_path, monkeypatch):
    _needs("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from disbench import runner
    from disbench.io import write_json_atomic

    def fake_train_run(preset, *, out_dir, callbacks=(), **kw):
        write_json_atomic(Path(out_dir) / "config.json", {"seed": 0, "steps": 4, "hparams": {"beta": 8.0}})
        for cb in callbacks:
            cb.on_resume(0)
            cb.on_log(4, {"loss": 1.5})
        write_json_atomic(Path(out_dir) / "status.json", {"state": "completed", "step": 4, "error": None})
        return out_dir

    monkeypatch.setattr("disbench.train.train_run", fake_train_run)
    def fake_evaluate_run(run_dir, **kw):
        write_json_atomic(Path(run_dir) / "metrics.json", SCORES)
        return SCORES

    monkeypatch.setattr("disbench.metrics.evaluate_run", fake_evaluate_run)
    (spec,) = runner.plan_runs(["beta_vae"], sanity=False, metrics=["mig"], overrides={"model.beta": 8})
    record = runner.execute_run(spec, tmp_path / "res", track=["tensorboard"])
    assert record.state == "completed"
    acc = EventAccumulator(str(tmp_path / "res" / "runs" / spec["run_id"]))
    acc.Reload()
    assert acc.Scalars("train/loss")[0].value == 1.5 and acc.Scalars("score/mig")[0].step == 4


def test_mlflow_file_store(tracked, tmp_path, monkeypatch):
    _needs("mlflow")
    from mlflow import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "false")  # MLflow 3 refuses a new file store unless allowed
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    with pytest.raises(tracking.TrackerError, match="MLFLOW_ALLOW_FILE_STORE=true"):
        tracking.open_trackers(["mlflow"], tmp_path / "results" / "runs" / "x", "x")  # before any training
    run_dir = tracked[0]
    client = MlflowClient(tracking_uri=(run_dir.parent.parent / "mlruns").resolve().as_uri())
    (run,) = client.search_runs([client.get_experiment_by_name("disbench").experiment_id])
    assert run.info.run_name == "tracked-run" and run.data.tags["disbench.run_id"] == "tracked-run"
    assert run.data.params["hparams.beta"] == str(json.loads((run_dir / "config.json").read_text())["hparams"]["beta"])
    history = client.get_metric_history(run.info.run_id, "train/loss")
    assert [m.step for m in history] == [2, 3, 4, 6]
    assert run.data.metrics["score/mig"] == pytest.approx(0.25)


def test_wandb_offline(tracked):
    _needs("wandb")
    run_dir, tracker = tracked[0], tracked[1]["wandb"]
    assert tracker.run.name == "tracked-run" and tracker.run.id == tracking.wandb_id("tracked-run")
    assert tracker.run.config["hparams.beta"] == json.loads((run_dir / "config.json").read_text())["hparams"]["beta"]
    offline = list((run_dir.parent.parent / "wandb").glob(f"offline-run-*-{tracker.run.id}"))
    assert offline and list(offline[0].glob("run-*.wandb"))
