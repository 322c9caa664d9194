"""The results store: run directories + SQLite index, concurrency, version checks, repair."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3

import pytest

from disbench import __version__
from disbench.cli import main
from disbench.io import write_json_atomic
from disbench.results import INDEX_NAME, ResultsStore, ResultsStoreError, RunRecord


def make_spec(i: int, name: str = "beta_vae") -> dict:
    return {
        "run_id": f"{name}-dsprites-quick-s{i}-abc{i:04d}", "kind": "train", "name": name, "model": name,
        "dataset": "dsprites", "profile": "quick", "seed": i, "metrics": None, "metric_preset": "quick",
        "display_name": name, "supervision": "none", "representation": "z", "config": {"steps": 10},
        "disbench_version": __version__,
    }  # fmt: skip


def finish(store: ResultsStore, spec: dict, mig: float) -> None:
    run_dir = store.write_spec(spec)
    write_json_atomic(run_dir / "status.json", {"state": "completed", "step": 10, "error": None})
    write_json_atomic(run_dir / "metrics.json", {"mig": mig, "mig.per_factor": [mig], "metric_preset": "quick"})
    store.sync(spec["run_id"])


def test_index_follows_run_directories(tmp_path):
    store = ResultsStore(tmp_path / "res")
    spec = make_spec(0)
    run_dir = store.write_spec(spec)
    assert store.sync(spec["run_id"]).state == "planned"
    write_json_atomic(run_dir / "status.json", {"state": "running", "step": 3, "error": None})
    assert store.sync(spec["run_id"]).step == 3
    # trained but not yet scored: still "running" (evaluation pending)
    write_json_atomic(run_dir / "status.json", {"state": "completed", "step": 10, "error": None})
    assert store.sync(spec["run_id"]).state == "running"
    finish(store, spec, 0.25)
    got = ResultsStore(tmp_path / "res").get(spec["run_id"])
    assert (got.state, got.metrics["mig"], got.spec["config"]) == ("completed", 0.25, {"steps": 10})
    assert store.find("beta_vae-dsprites").run_id == spec["run_id"]
    assert [r.run_id for r in store.records(state="completed")] == [spec["run_id"]]
    assert store.records(state="failed") == []
    with sqlite3.connect(store.index_path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _writer(root: str, worker: int, n: int) -> None:
    store = ResultsStore(root)
    for i in range(n):
        spec = make_spec(worker * 1000 + i, name=f"w{worker}")
        finish(store, spec, mig=worker + i / 100)


def test_concurrent_writers_lose_nothing(tmp_path):
    root = tmp_path / "res"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(root), w, 15)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    store = ResultsStore(root)
    records = store.records()
    assert len(records) == 60
    assert {r.name for r in records} == {"w0", "w1", "w2", "w3"}
    assert all(r.metrics["mig"] == pytest.approx(int(r.name[1]) + (r.seed % 1000) / 100) for r in records)
    with sqlite3.connect(store.index_path) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_other_version_is_refused_and_repair_keeps_everything(tmp_path):
    root = tmp_path / "res"
    store = ResultsStore(root)
    finish(store, make_spec(0), 0.5)
    finish(store, make_spec(1), 0.7)
    with sqlite3.connect(root / INDEX_NAME) as con:
        con.execute("UPDATE meta SET value = '0.0.1' WHERE key = 'disbench_version'")
    files_before = sorted(p.relative_to(root) for p in (root / "runs").rglob("*"))
    with pytest.raises(ResultsStoreError, match=r"disbench 0\.0\.1.*disbench results repair"):
        ResultsStore(root)
    store, moved, skipped = ResultsStore.repair(root)
    assert skipped == []
    assert moved and all(p.exists() for p in moved)  # old index kept, renamed
    assert sorted(r.metrics["mig"] for r in store.records()) == [0.5, 0.7]
    assert sorted(p.relative_to(root) for p in (root / "runs").rglob("*")) == files_before


def test_damaged_index_gives_one_line_and_cli_repair(tmp_path, capsys):
    root = tmp_path / "res"
    finish(ResultsStore(root), make_spec(0), 0.5)
    for suffix in ("-wal", "-shm"):
        (root / (INDEX_NAME + suffix)).unlink(missing_ok=True)
    (root / INDEX_NAME).write_bytes(b"this is not a database" * 100)
    assert main(["results", "list", str(root)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "damaged" in err and "disbench results repair" in err
    assert main(["results", "repair", str(root)]) == 0
    assert "indexed 1 run(s)" in capsys.readouterr().out
    assert main(["results", "list", str(root)]) == 0
    out = capsys.readouterr().out
    assert "beta_vae-dsprites-quick-s0" in out and "mig=0.5" in out
    assert main(["results", "show", "beta_vae-dsprites", str(root)]) == 0
    assert '"seed": 0' in capsys.readouterr().out


def test_repair_leaves_out_unreadable_run_dirs(tmp_path):
    root = tmp_path / "res"
    finish(ResultsStore(root), make_spec(0), 0.5)
    (root / "runs" / "stray").mkdir()
    _, _, skipped = ResultsStore.repair(root)
    assert skipped == [str(root / "runs" / "stray")]
    assert (root / "runs" / "stray").is_dir()


def test_not_a_results_dir(tmp_path):
    with pytest.raises(ResultsStoreError, match="not a disbench results directory"):
        ResultsStore(tmp_path / "nothing", create=False)


def test_record_round_trip(tmp_path):
    store = ResultsStore(tmp_path)
    rec = RunRecord(run_id="x", kind="sanity", name="pca", model=None, dataset="d", profile="-", seed=2,
                    state="failed", error="boom", spec={"a": [1, 2]})  # fmt: skip
    store.upsert(rec)
    got = store.get("x")
    assert (got.error, got.spec, got.metrics, got.seed) == ("boom", {"a": [1, 2]}, None, 2)
    assert json.loads(json.dumps(got.spec)) == rec.spec
