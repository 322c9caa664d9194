"""disbench run: planning, deterministic ids, skip/resume, failure isolation, process workers, CLI errors.

Training and scoring are replaced by small fakes (monkeypatched ``train_run`` /
``evaluate_run`` / ``evaluate`` / ``representations.make``, or a fake per-run task for the
process pool) so these tests do not depend on long training.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
from pathlib import Path

import pytest

from disbench import runner
from disbench.cli import main
from disbench.errors import InvalidInputError, UnknownNameError
from disbench.executors import LocalExecutor
from disbench.io import write_json_atomic
from disbench.results import ResultsStore

PRESET = """
name = "{name}"
model = "beta_vae"
display_name = "{display}"
supervision = "{supervision}"
representation = "fake codes"
citation = "Someone 2020"
paper = "fake2020"
[profiles.quick]
steps = {steps}
batch_size = 8
[profiles.quick.model]
beta = {beta}
[profiles.paper]
steps = 100
batch_size = 8
[[reported]]
paper = "fake2020"
dataset = "dsprites"
metric = "mig"
value = 0.4
std = 0.05
source = "Table 1"
metric_settings = "MIG, 10,000 points"
"""
SCORES = {"good": 0.6, "okay": 0.3, "broken": 0.0}


@pytest.fixture
def presets(tmp_path, monkeypatch):
    """Three fake presets (good, okay, broken) in a temporary baselines/ folder."""
    d = tmp_path / "baselines"
    d.mkdir()
    for name, sup in (("good", "none"), ("okay", "factor labels"), ("broken", "none")):
        (d / f"{name}.toml").write_text(PRESET.format(name=name, display=name.title(), supervision=sup, steps=10, beta=4.0))
    monkeypatch.setattr("disbench.presets.presets_dir", lambda: d)
    monkeypatch.setenv("DISBENCH_DATA", str(tmp_path / "data"))
    return d


class _Calls(list):
    def __init__(self):
        super().__init__()
        self.overrides = {}


@pytest.fixture
def fakes(monkeypatch):
    """Fake training/scoring; returns the list of (preset, out_dir, resumed_from_step) train calls
    (its ``overrides`` attribute maps each run directory's name to the overrides it was trained with)."""
    calls = _Calls()

    def train_run(preset, *, dataset, profile, seed, out_dir, device, progress, overrides=None):
        out_dir = Path(out_dir)
        status = json.loads((out_dir / "status.json").read_text()) if (out_dir / "status.json").exists() else {}
        calls.append((preset, out_dir, status.get("step", 0)))
        calls.overrides[out_dir.name] = overrides
        if status.get("state") == "completed":
            return out_dir
        write_json_atomic(out_dir / "status.json", {"state": "running", "step": 5, "error": None})
        if preset == "broken":
            write_json_atomic(out_dir / "status.json", {"state": "failed", "step": 5, "error": "loss is nan"})
            raise RuntimeError("loss is nan at step 5")
        write_json_atomic(out_dir / "status.json", {"state": "completed", "step": 10, "error": None})
        return out_dir

    def evaluate_run(run_dir, metrics=None, preset="default", device="auto", random_state=0, noise_seeds=0):
        name = json.loads((Path(run_dir) / "run.json").read_text())["name"]
        scores = {"mig": SCORES[name] + 0.01 * random_state, "fid": 10.0 - 10 * SCORES[name], "metric_preset": preset}
        write_json_atomic(Path(run_dir) / "metrics.json", scores)
        return scores

    def evaluate(dataset, encode, metrics=None, *, preset="default", random_state=0, device=None):
        return {"mig": encode + 0.001 * random_state, "metric_preset": preset}

    monkeypatch.setattr("disbench.train.train_run", train_run)
    monkeypatch.setattr("disbench.metrics.evaluate_run", evaluate_run)
    monkeypatch.setattr("disbench.metrics.evaluate", evaluate)
    monkeypatch.setattr("disbench.representations.make", lambda name, ds, random_state=0: len(name) / 100)
    monkeypatch.setattr("disbench.data.load", lambda name, **kw: name)
    return calls


def test_plan_ids_are_deterministic_and_follow_the_config(presets):
    a = runner.plan_runs(["good", "okay"], seeds=[0, 1])
    b = runner.plan_runs(["good", "okay"], seeds=[0, 1])
    assert [s["run_id"] for s in a] == [s["run_id"] for s in b]
    assert len({s["run_id"] for s in a}) == len(a) == 4 + 4 * 2  # 2 models x 2 seeds + 4 sanity rows x 2 seeds
    assert a[0]["run_id"].startswith("good-dsprites-quick-s0-")
    assert {s["metric_preset"] for s in a} == {"quick"}
    assert runner.plan_runs(["good"], profile="paper", sanity=False)[0]["metric_preset"] == "default"
    # a change of hyperparameters gives a new id
    (presets / "good.toml").write_text(PRESET.format(name="good", display="Good", supervision="none", steps=10, beta=8.0))
    assert runner.plan_runs(["good"], sanity=False)[0]["run_id"] != a[0]["run_id"]
    # fid is not asked of sanity rows; with only fid there are none
    assert all(s["kind"] == "train" for s in runner.plan_runs("all", metrics=["fid"]))
    assert {s["name"] for s in runner.plan_runs("all", sanity=False)} == {"good", "okay", "broken"}


def test_run_spec_dict_and_id():
    spec = runner.RunSpec(kind="sanity", name="pca", model=None, dataset="dsprites", profile="-", seed=2,
                          metrics=["mig"], metric_preset="quick", display_name="PCA", supervision="none",
                          representation="PCA of the pixels", config={"metric_preset": "quick"}).to_dict()
    assert list(spec)[:3] == ["kind", "name", "model"] and list(spec)[-2:] == ["disbench_version", "run_id"]
    identity = {"kind": "sanity", "name": "pca", "model": None, "dataset": "dsprites", "profile": "-", "seed": 2,
                "config": {"metric_preset": "quick"}}
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:10]
    assert spec["run_id"] == f"pca-dsprites-sanity-s2-{digest}"  # display labels and metrics are not hashed
    assert json.loads(json.dumps(spec)) == spec


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"models": ["nope"]}, "unknown model 'nope'"), ({"datasets": ["nope"]}, "unknown dataset 'nope'"),
     ({"metrics": ["nope"]}, "unknown metric 'nope'"), ({"profile": "nope"}, "unknown profile 'nope'")],
)  # fmt: skip
def test_unknown_names(presets, kwargs, match):
    with pytest.raises(UnknownNameError, match=match):
        runner.plan_runs(**kwargs)


def test_bad_seeds(presets):
    with pytest.raises(InvalidInputError):
        runner.plan_runs(["good"], seeds=[])


def test_skip_resume_and_failure_isolation(presets, fakes, tmp_path):
    out = tmp_path / "res"
    messages = []
    job = runner.run_benchmark(["good", "okay", "broken"], seeds=[0, 1], out=out, progress=False, echo=messages.append)
    by_name = {}
    for r in job.records:
        by_name.setdefault(r.name, []).append(r)
    assert [r.state for r in by_name["broken"]] == ["failed", "failed"]
    assert "loss is nan" in by_name["broken"][0].error
    assert all(r.state == "completed" for n in ("good", "okay", "ground_truth", "pca") for r in by_name[n])
    assert len(job.failed) == 2 and job.skipped == []
    # the exports are there, from the completed runs only
    for name in ("leaderboard.csv", "leaderboard.tidy.csv", "leaderboard.tex", "leaderboard.md",
                 "leaderboard.html", "report.html"):  # fmt: skip
        assert (out / name).is_file(), name
    assert "Good" in (out / "leaderboard.md").read_text() and "Broken" not in (out / "leaderboard.md").read_text()
    assert any("failed" in m for m in messages)

    # interrupt one run: it must be resumed (train_run called on its directory), the rest skipped
    interrupted = by_name["good"][1]
    run_dir = out / "runs" / interrupted.run_id
    write_json_atomic(run_dir / "status.json", {"state": "running", "step": 7, "error": None})
    (run_dir / "metrics.json").unlink()
    fakes.clear()
    job2 = runner.run_benchmark(["good", "okay", "broken"], seeds=[0, 1], out=out, progress=False, echo=messages.append)
    trained = sorted((p, d.name, step) for p, d, step in fakes)
    assert trained == sorted([("good", interrupted.run_id, 7)] + [("broken", r.run_id, 5) for r in by_name["broken"]])
    assert len(job2.skipped) == len(job.records) - 3
    assert ResultsStore(out).get(interrupted.run_id).state == "completed"


def test_complete_runs_are_rescored_when_new_metrics_are_asked(presets, fakes, tmp_path):
    out = tmp_path / "res"
    runner.run_benchmark(["good"], out=out, sanity=False, progress=False, export=False, echo=lambda m: None)
    job = runner.run_benchmark(["good"], metrics=["mig"], out=out, sanity=False, progress=False, export=False,
                               echo=lambda m: None)  # fmt: skip
    assert len(job.skipped) == 1  # the default set already holds mig
    job = runner.run_benchmark(["good"], metrics=["sap"], out=out, sanity=False, progress=False, export=False,
                               echo=lambda m: None)  # fmt: skip
    assert job.skipped == []  # sap missing: scored again (training is not repeated: train_run sees it completed)


# --- process workers (spawned: the task must be importable, so it lives at module level) ----
def fake_task(spec: dict, root: str, crash_dir: str):
    """Writes a finished run; 'okay' dies once (then succeeds), 'broken' always dies."""
    marker = Path(crash_dir) / spec["run_id"]
    if spec["name"] == "broken" or (spec["name"] == "okay" and not marker.exists()):
        marker.touch()
        os._exit(3)
    store = ResultsStore(root)
    run_dir = store.write_spec(spec)
    write_json_atomic(run_dir / "status.json", {"state": "completed", "step": 10, "error": None})
    write_json_atomic(run_dir / "metrics.json", {"mig": SCORES[spec["name"]], "metric_preset": "quick"})
    return store.sync(spec["run_id"])


def test_process_workers_retry_then_record_dead_runs(presets, tmp_path):
    import functools

    out, crash = tmp_path / "res", tmp_path / "crash"
    crash.mkdir()
    job = runner.run_benchmark(
        ["good", "okay", "broken"], out=out, sanity=False, progress=False, export=False, echo=lambda m: None,
        executor=LocalExecutor(workers=2, retries=1),
        task=functools.partial(fake_task, root=str(out), crash_dir=str(crash)),
    )  # fmt: skip
    states = {r.name: r.state for r in job.records}
    assert states == {"good": "completed", "okay": "completed", "broken": "failed"}
    broken = next(r for r in job.records if r.name == "broken")
    assert "worker process died" in broken.error and "2 attempt" in broken.error
    assert json.loads((out / "runs" / broken.run_id / "status.json").read_text())["state"] == "failed"


def test_cli_unknown_names_exit_2(presets, capsys):
    for argv in (["run", "--models", "good", "nope"], ["run", "--datasets", "mnist"], ["run", "--metrics", "x"],
                 ["run", "--profile", "huge"], ["reproduce", "nopaper"]):  # fmt: skip
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith("disbench: error: unknown"), err


def test_cli_run_end_to_end_with_fakes(presets, fakes, tmp_path, capsys):
    out = tmp_path / "res"
    code = main(["run", "--models", "good", "okay", "--seeds", "0", "1", "--out", str(out), "--no-progress"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "Good" in printed and "Ground-truth factors" in printed and "MIG" in printed
    assert len(ResultsStore(out).records(state="completed")) == 2 * 2 + 4 * 2
    assert main(["run", "--models", "broken", "--out", str(out), "--no-progress", "--no-sanity"]) == 1


@pytest.mark.slow
def test_real_tiny_run_end_to_end(tmp_path, monkeypatch):
    """The real training core and metrics on a 20-step β-VAE (slow: minutes on 2 loaded cores)."""
    import re

    from disbench.resources import presets_dir

    text = (presets_dir() / "beta_vae.toml").read_text()
    head, rest = text.split("[profiles.quick]", 1)
    quick, tail = rest.split("\n[", 1)
    for key, value in (("steps", 20), ("checkpoint_every", 10), ("log_every", 5)):
        quick = re.sub(rf"^{key} = \d+", f"{key} = {value}", quick, flags=re.M)
    d = tmp_path / "baselines"
    d.mkdir()
    (d / "beta_vae.toml").write_text(head + "[profiles.quick]" + quick + "\n[" + tail)
    monkeypatch.setattr("disbench.presets.presets_dir", lambda: d)
    out = tmp_path / "res"
    job = runner.run_benchmark(["beta_vae"], metrics=["mig"], out=out, progress=False, echo=lambda m: None)
    assert [r.state for r in job.records] == ["completed"] * 5, [r.error for r in job.records]
    trained = job.records[0]
    assert 0 <= trained.metrics["mig"] <= 1 and len(trained.metrics["mig.per_factor"]) == 5
    assert (out / "runs" / trained.run_id / "checkpoints" / "last.pt").is_file()
    assert "β-VAE" in (out / "leaderboard.md").read_text() and (out / "report.html").stat().st_size > 10_000
    assert runner.run_benchmark(["beta_vae"], metrics=["mig"], out=out, progress=False, export=False,
                                echo=lambda m: None).skipped == [r.run_id for r in job.records]  # fmt: skip


def test_udr_is_scored_per_preset_over_its_seeds_after_the_runs(presets, fakes, tmp_path, monkeypatch):
    groups = []

    def udr_of_runs(root, run_ids, **settings):
        groups.append((list(run_ids), settings))
        store = ResultsStore(root)
        for i, rid in enumerate(run_ids):
            path = store.run_dir(rid) / "metrics.json"
            m = json.loads(path.read_text())
            write_json_atomic(path, {**m, "udr": 0.5 + i / 10, "udr.group": list(run_ids)})
            store.sync(rid)
        return {rid: 0.5 + i / 10 for i, rid in enumerate(run_ids)}

    # the module (disbench.metrics.udr, the attribute, is the sampling function)
    monkeypatch.setattr(importlib.import_module("disbench.metrics.udr"), "udr_of_runs", udr_of_runs)
    out = tmp_path / "res"
    kw = dict(seeds=[0, 1], metrics=["mig", "udr"], out=out, sanity=False, progress=False, export=False,
              echo=lambda s: None)
    result = runner.run_benchmark(["good", "okay"], **kw)
    # one group per preset, its seeds in order, at the UDR settings of the quick metric preset
    assert sorted(len(g[0]) for g in groups) == [2, 2]
    assert all(g[1]["num_points"] == 1_000 and g[1]["correlation"] == "lasso" for g in groups)
    assert all("udr" in r.metrics for r in result.records)
    # completed and already scored over the same group: nothing is rerun or rescored
    again = runner.run_benchmark(["good", "okay"], **kw)
    assert len(groups) == 2 and len(again.skipped) == 4
