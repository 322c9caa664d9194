"""Processes of tests/test_kills.py's index test: writers, a reader and a writer killed inside
its transaction. Kept apart from the test module so that spawned processes import only the
results store (no torch)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from disbench import __version__
from disbench.io import write_json_atomic
from disbench.results import ResultsStore, RunRecord

WRITERS, RUNS_PER_WRITER = 3, 8


def spec(name: str, i: int) -> dict:
    return {"run_id": f"{name}-dsprites-quick-s{i}-{i:010x}", "kind": "train", "name": name, "model": name,
            "dataset": "dsprites", "profile": "quick", "seed": i, "metrics": None, "metric_preset": "quick",
            "display_name": name, "supervision": "none", "representation": "z", "config": {"steps": 1},
            "disbench_version": __version__}  # fmt: skip


def writer(root: str, worker: int, barrier) -> None:
    store = ResultsStore(root)
    barrier.wait()
    for i in range(RUNS_PER_WRITER):
        run_dir = store.write_spec(spec(f"w{worker}", i))
        write_json_atomic(run_dir / "status.json", {"state": "completed", "step": 1, "error": None})
        write_json_atomic(run_dir / "metrics.json", {"mig": worker + i / 100, "metric_preset": "quick"})
        store.sync(spec(f"w{worker}", i)["run_id"])


def victim(root: str, barrier) -> None:
    """Writes 60 runs of 100 kB each in one transaction (more than SQLite's page cache, so
    pages spill into the WAL before the commit), then dies by SIGKILL inside it."""
    store = ResultsStore(root)
    barrier.wait()
    with store._connect(write=True) as con:
        for i in range(60):
            row = RunRecord(run_id=f"victim-{i}", kind="train", name="victim", model=None, dataset="dsprites",
                            profile="quick", seed=i, state="completed", spec={"pad": "x" * 100_000},
                            metrics={"mig": 0.5}).to_row()  # fmt: skip
            con.execute(f"INSERT INTO runs VALUES ({', '.join('?' * len(row))})", row)
        Path(root, "victim-wal-bytes").write_text(str(Path(root, "index.sqlite-wal").stat().st_size))
        os.kill(os.getpid(), signal.SIGKILL)


def reader(root: str, barrier, stop, out: str) -> None:
    store = ResultsStore(root)
    barrier.wait()
    seen, errors = [], []
    while not stop.is_set():
        try:
            ids = [r.run_id for r in store.records()]
        except Exception as e:  # noqa: BLE001 - any error is a finding
            errors.append(repr(e))
            continue
        seen.append((len(ids), any(i.startswith("victim") for i in ids)))
    Path(out).write_text(json.dumps({"seen": seen, "errors": errors}))
