"""The Ray executor on a local instance: a tiny fake run, a run whose worker dies, a run that
raises (recorded failed, not retried, the others complete) and a worker death that a retry heals."""

from __future__ import annotations

import functools
import os
import sys

import pytest

from disbench.io import write_json_atomic
from disbench.results import ResultsStore

ray = pytest.importorskip("ray", reason="the optional Ray extra is not installed (pip install 'disbench[ray]')")
pytestmark = pytest.mark.ray


def tiny_task(spec: dict, root: str, attempts: str | None = None):
    """A fake run: 'dies' kills its worker process, 'raises' raises, 'dies_once' kills its worker
    on its first attempt only; anything else finishes with a MIG score. Each attempt appends a
    line to ``attempts/<name>`` when ``attempts`` is given."""
    if attempts is not None:
        with open(os.path.join(attempts, spec["name"]), "a") as f:
            f.write("attempt\n")
        tries = len(open(os.path.join(attempts, spec["name"])).read().splitlines())
    if spec["name"] == "dies" or (spec["name"] == "dies_once" and tries == 1):
        os._exit(5)
    if spec["name"] == "raises":
        raise ValueError("factor sizes do not match the checkpoint")
    store = ResultsStore(root)
    run_dir = store.write_spec(spec)
    write_json_atomic(run_dir / "status.json", {"state": "completed", "step": 3, "error": None})
    write_json_atomic(run_dir / "metrics.json", {"mig": 0.25, "metric_preset": "quick", "pid": os.getpid()})
    return store.sync(spec["run_id"])


def spec(name: str) -> dict:
    return {"run_id": f"{name}-dsprites-quick-s0-0123456789", "kind": "train", "name": name, "model": name,
            "dataset": "dsprites", "profile": "quick", "seed": 0, "metrics": ["mig"], "metric_preset": "quick",
            "display_name": name, "supervision": "none", "representation": "z", "config": {"steps": 3}}  # fmt: skip


@pytest.fixture(scope="module")
def local_ray():
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import this test module
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def test_ray_runs_a_task_and_records_a_dead_worker(local_ray, tmp_path):
    from disbench.executors import RayExecutor
    from disbench.runner import record_lost

    root = tmp_path / "res"
    store = ResultsStore(root)
    executor = RayExecutor(retries=0)
    results = list(executor.run(functools.partial(tiny_task, root=str(root)), [spec("ok"), spec("dies")],
                                functools.partial(record_lost, root=str(root))))  # fmt: skip
    by_name = {r.name: r for r in results}
    assert by_name["ok"].state == "completed" and by_name["ok"].metrics["mig"] == 0.25
    assert by_name["ok"].metrics["pid"] != os.getpid()  # ran in a Ray worker
    assert by_name["dies"].state == "failed" and "Ray worker died" in by_name["dies"].error
    assert {r.run_id: r.state for r in store.records()} == {s["run_id"]: by_name[s["name"]].state
                                                           for s in (spec("ok"), spec("dies"))}  # fmt: skip
    assert ray.is_initialized()  # an instance it did not start is left running


def test_ray_records_a_raising_task_failed_without_retry_while_others_complete(local_ray, tmp_path):
    from disbench.executors import RayExecutor
    from disbench.runner import record_lost

    root, attempts = tmp_path / "res", tmp_path / "attempts"
    attempts.mkdir()
    specs = [spec("ok"), spec("raises"), spec("fine")]
    results = list(RayExecutor(retries=2).run(functools.partial(tiny_task, root=str(root), attempts=str(attempts)),
                                              specs, functools.partial(record_lost, root=str(root))))  # fmt: skip
    by_name = {r.name: r for r in results}
    assert sorted(by_name) == ["fine", "ok", "raises"]
    assert by_name["ok"].state == by_name["fine"].state == "completed"
    assert by_name["raises"].state == "failed"
    assert by_name["raises"].error == "ValueError: factor sizes do not match the checkpoint"
    assert (attempts / "raises").read_text().count("attempt") == 1  # an exception is not retried
    assert {r.run_id: r.state for r in ResultsStore(root).records()} == {s["run_id"]: by_name[s["name"]].state
                                                                        for s in specs}  # fmt: skip


def test_ray_retry_after_a_dead_worker_succeeds(local_ray, tmp_path):
    from disbench.executors import RayExecutor
    from disbench.runner import record_lost

    root, attempts = tmp_path / "res", tmp_path / "attempts"
    attempts.mkdir()
    results = list(RayExecutor(retries=1).run(functools.partial(tiny_task, root=str(root), attempts=str(attempts)),
                                              [spec("dies_once")], functools.partial(record_lost, root=str(root))))  # fmt: skip
    assert [(r.name, r.state, r.metrics["mig"]) for r in results] == [("dies_once", "completed", 0.25)]
    assert (attempts / "dies_once").read_text().count("attempt") == 2
    assert ResultsStore(root).get(spec("dies_once")["run_id"]).state == "completed"
