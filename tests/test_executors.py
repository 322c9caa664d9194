"""Executors without Ray: argument errors, the clear error when Ray is missing, and a task that
raises inside a local worker pool (recorded failed, not retried, the others complete)."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import pytest

from disbench.errors import DisbenchError, InvalidInputError
from disbench.executors import LocalExecutor, RayExecutor
from disbench.io import write_json_atomic
from disbench.results import ResultsStore


@pytest.mark.parametrize("kwargs", [{"workers": 0}, {"workers": -2}, {"retries": -1}])
def test_local_executor_rejects_bad_arguments(kwargs):
    with pytest.raises(InvalidInputError, match=r"workers must be >= 1 and retries >= 0"):
        LocalExecutor(**kwargs)


def test_ray_executor_without_ray_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    with pytest.raises(DisbenchError, match=r'pip install "disbench\[ray\]"'):
        RayExecutor()


def test_cli_without_ray_exits_2_with_one_line(monkeypatch, tmp_path, capsys):
    from disbench.cli import main

    monkeypatch.setitem(sys.modules, "ray", None)
    code = main(["run", "--models", "beta_vae", "--executor", "ray", "--out", str(tmp_path / "res"), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and 'pip install "disbench[ray]"' in err, err


@pytest.mark.parametrize("kwargs", [{"retries": -1}, {"cpus_per_run": 0}])
def test_ray_executor_rejects_bad_arguments(kwargs):
    pytest.importorskip("ray")
    with pytest.raises(InvalidInputError, match="retries must be >= 0 and cpus_per_run >= 1"):
        RayExecutor(**kwargs)


def spec(name: str) -> dict:
    return {"run_id": f"{name}-dsprites-quick-s0-0123456789", "kind": "train", "name": name, "model": name,
            "dataset": "dsprites", "profile": "quick", "seed": 0, "metrics": ["mig"], "metric_preset": "quick",
            "display_name": name, "supervision": "none", "representation": "z", "config": {"steps": 3}}  # fmt: skip


def raising_task(spec: dict, root: str, attempts: str):
    """'raises' raises ValueError; the others finish. Every attempt is counted in a file."""
    with open(Path(attempts) / spec["name"], "a") as f:
        f.write("attempt\n")
    if spec["name"] == "raises":
        raise ValueError("no such factor")
    store = ResultsStore(root)
    run_dir = store.write_spec(spec)
    write_json_atomic(run_dir / "status.json", {"state": "completed", "step": 3, "error": None})
    write_json_atomic(run_dir / "metrics.json", {"mig": 0.5, "metric_preset": "quick"})
    return store.sync(spec["run_id"])


def test_local_pool_records_a_raising_task_failed_without_retry(tmp_path):
    from disbench.runner import record_lost

    root, attempts = tmp_path / "res", tmp_path / "attempts"
    attempts.mkdir()
    specs = [spec("ok"), spec("raises"), spec("fine")]
    results = list(LocalExecutor(workers=2, retries=2).run(
        functools.partial(raising_task, root=str(root), attempts=str(attempts)), specs,
        functools.partial(record_lost, root=str(root))))  # fmt: skip
    by_name = {r.name: r for r in results}
    assert {n: r.state for n, r in by_name.items()} == {"ok": "completed", "raises": "failed", "fine": "completed"}
    assert by_name["raises"].error == "ValueError: no such factor"
    assert (attempts / "raises").read_text().count("attempt") == 1
