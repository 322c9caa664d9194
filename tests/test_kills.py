"""Real kills: SIGKILL during training and during a checkpoint write, then resume; several
writer processes on one index with a reader, one writer SIGKILLed inside its transaction.

The kills are real (``SIGKILL``: no ``finally``, no atexit, no flush); the moment is chosen
deterministically by the killed process itself, so the tests are reproducible.
"""

from __future__ import annotations

import json
import multiprocessing
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import index_workers
import pytest
import torch

from disbench.results import ResultsStore
from disbench.train import CHECKPOINT, train_run

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# 9 steps of batch 8 on dSprites, a checkpoint every 3 steps (at 3, 6, 9)
OVERRIDES = {"steps": 9, "batch_size": 8, "checkpoint_every": 3, "log_every": 3}

CHILD = textwrap.dedent(
    """
    import io, json, os, signal, sys
    import torch
    torch.set_num_threads(1)
    from disbench.models import get_model_class
    from disbench.train import train_run

    mode, out, at, overrides = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
    if mode == "step":  # SIGKILL when training step `at` (0-based) begins
        cls = get_model_class("beta_vae")
        original = cls.training_step

        def training_step(self, batch, step, optimizers):
            if step == at:
                os.kill(os.getpid(), signal.SIGKILL)
            return original(self, batch, step, optimizers)

        cls.training_step = training_step
    else:  # "checkpoint": SIGKILL halfway through writing checkpoint number `at`
        real_save, count = torch.save, [0]

        def save(obj, f, *args, **kwargs):
            count[0] += 1
            if count[0] == at:
                buf = io.BytesIO()
                real_save(obj, buf)
                with open(f, "wb") as fh:
                    fh.write(buf.getvalue()[: len(buf.getvalue()) // 2])
                    fh.flush()
                    os.fsync(fh.fileno())
                os.kill(os.getpid(), signal.SIGKILL)
            return real_save(obj, f, *args, **kwargs)

        torch.save = save
    train_run("beta_vae", dataset="dsprites", seed=0, out_dir=out, device="cpu", progress=False,
              overrides=overrides)
    """
)


def train(out: Path) -> Path:
    return train_run("beta_vae", dataset="dsprites", seed=0, out_dir=out, device="cpu", progress=False,
                     overrides=OVERRIDES)  # fmt: skip


def killed_child(mode: str, out: Path, at: int) -> None:
    proc = subprocess.run([sys.executable, "-c", CHILD, mode, str(out), str(at), json.dumps(OVERRIDES)], capture_output=True, text=True,
                          timeout=240, cwd=Path(__file__).resolve().parents[1])  # fmt: skip
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]


def state(run_dir: Path) -> tuple[dict, list[int], list[str]]:
    ckpt = torch.load(run_dir / CHECKPOINT, map_location="cpu", weights_only=True)
    lines = (run_dir / "train_log.csv").read_text().splitlines()
    header = lines[0].split(",")
    losses = [i for i, h in enumerate(header) if h not in ("step", "time", "images_per_s")]
    rows = [line.split(",") for line in lines[1:]]
    return ckpt, [int(r[0]) for r in rows], [",".join(r[i] for i in losses) for r in rows]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    return state(train(tmp_path_factory.mktemp("whole") / "run"))


def assert_same_run(resumed_dir: Path, uninterrupted) -> None:
    ckpt, steps, losses = state(resumed_dir)
    want_ckpt, want_steps, want_losses = uninterrupted
    assert ckpt["step"] == want_ckpt["step"] == OVERRIDES["steps"]
    assert ckpt["model"].keys() == want_ckpt["model"].keys()
    for name, tensor in want_ckpt["model"].items():
        assert torch.equal(ckpt["model"][name], tensor), name
    for name in want_ckpt["optimizers"]:
        for key, st in want_ckpt["optimizers"][name]["state"].items():
            for k, v in st.items():
                assert torch.equal(torch.as_tensor(ckpt["optimizers"][name]["state"][key][k]), torch.as_tensor(v))
    assert (steps, losses) == (want_steps, want_losses)  # the log: no row lost or repeated, same losses
    assert json.loads((resumed_dir / "status.json").read_text())["state"] == "completed"


def test_sigkill_mid_run_then_resume_equals_an_uninterrupted_run(tmp_path, uninterrupted):
    out = tmp_path / "run"
    killed_child("step", out, at=7)  # after the checkpoint of step 6, during step 8
    status = json.loads((out / "status.json").read_text())
    assert (status["state"], status["step"]) == ("running", 6)  # SIGKILL: nothing marked it failed
    assert torch.load(out / CHECKPOINT, weights_only=True)["step"] == 6
    train(out)
    assert_same_run(out, uninterrupted)


def test_sigkill_mid_checkpoint_write_then_resume_equals_an_uninterrupted_run(tmp_path, uninterrupted):
    out = tmp_path / "run"
    killed_child("checkpoint", out, at=2)  # half of the step-6 checkpoint written, then killed
    assert torch.load(out / CHECKPOINT, weights_only=True)["step"] == 3  # the last complete one
    assert list((out / "checkpoints").glob(".last.pt.*"))  # the half-written temporary file
    train(out)
    assert_same_run(out, uninterrupted)


# --- the SQLite index under concurrent writers, a reader and a killed writer -------------------
# (the processes run functions of index_workers.py, which imports no torch: spawn is cheap)
def test_writers_reader_and_a_writer_killed_in_its_transaction(tmp_path):
    root = tmp_path / "res"
    ResultsStore(root)  # the index exists before anyone races
    ctx = multiprocessing.get_context("spawn")
    barrier, stop = ctx.Barrier(index_workers.WRITERS + 2), ctx.Event()
    writers = [ctx.Process(target=index_workers.writer, args=(str(root), w, barrier)) for w in range(index_workers.WRITERS)]
    victim = ctx.Process(target=index_workers.victim, args=(str(root), barrier))
    reader = ctx.Process(target=index_workers.reader, args=(str(root), barrier, stop, str(tmp_path / "reader.json")))
    for p in (*writers, victim, reader):
        p.start()
    for p in (*writers, victim):
        p.join(timeout=180)
    stop.set()
    reader.join(timeout=60)
    assert victim.exitcode == -signal.SIGKILL
    assert int((root / "victim-wal-bytes").read_text()) > 1_000_000  # its pages had reached the WAL
    assert [p.exitcode for p in writers] == [0] * index_workers.WRITERS and reader.exitcode == 0

    with sqlite3.connect(root / "index.sqlite") as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    records = ResultsStore(root).records()
    want = {index_workers.spec(f"w{w}", i)["run_id"] for w in range(index_workers.WRITERS) for i in range(index_workers.RUNS_PER_WRITER)}
    assert {r.run_id for r in records} == want  # every completed run, none of the killed transaction
    assert all(r.state == "completed" and r.metrics["mig"] == int(r.name[1]) + r.seed / 100 for r in records)
    report = json.loads((tmp_path / "reader.json").read_text())
    assert report["errors"] == [] and report["seen"]
    counts = [n for n, _ in report["seen"]]
    assert counts == sorted(counts)  # the reader only ever saw committed, growing states
    assert not any(victim_seen for _, victim_seen in report["seen"])
