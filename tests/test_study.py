"""disbench study: the study file, the sweeps presets declare, grid expansion (counts, order,
run-id reuse with ``disbench run``), resume after Ctrl-C, the CLI and the report section.

Training and scoring are the fakes of ``test_runner`` (no long training); the real
``unsupervised_study_v1`` and ``beta_vae`` files are planned as they are.
"""

from __future__ import annotations

import json

import pytest
from test_runner import PRESET, fakes  # noqa: F401  (fixture)

from disbench import runner
from disbench.cli import main
from disbench.errors import DataFileError, InvalidInputError, UnknownConfigKeyError, UnknownNameError
from disbench.io import write_json_atomic
from disbench.leaderboard import build_leaderboard
from disbench.models.beta_vae import BetaVAEConfig
from disbench.presets import load_preset
from disbench.results import ResultsStore
from disbench.study import list_studies, load_study, plan_study, run_study
from disbench.train import resolve_config

TOY_STUDY = """
name = "toy"
title = "A toy study"
citation = "Someone 2024"
source = "tests/test_study.py"
datasets = ["dsprites"]
seeds = [0, 1, 2]
metrics = ["mig"]
[profiles]
quick = "quick"
"""
SWEEP = """
[studies.toy]
key = "{key}"
values = {values}
source = "made up for the test"
"""


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """Presets good (β ∈ {1, 4, 8}; the profile's β is 4), okay (β ∈ {2, 4}) and broken (no
    sweep), and the study ``toy``, in temporary folders."""
    presets, studies = tmp_path / "baselines", tmp_path / "studies"
    presets.mkdir()
    studies.mkdir()
    for name, values in (("good", "[1.0, 4.0, 8.0]"), ("okay", "[2.0, 4.0]"), ("broken", None)):
        text = PRESET.format(name=name, display=name.title(), supervision="none", steps=10, beta=4.0)
        head, reported = text.split("[[reported]]")
        sweep = SWEEP.format(key="beta", values=values) if values else ""
        (presets / f"{name}.toml").write_text(head + sweep + "[[reported]]" + reported)
    (studies / "toy.toml").write_text(TOY_STUDY)
    monkeypatch.setattr("disbench.presets.presets_dir", lambda: presets)
    monkeypatch.setattr("disbench.study.grid.studies_dir", lambda: studies)
    monkeypatch.setenv("DISBENCH_DATA", str(tmp_path / "data"))
    return presets


# --- the real study ----------------------------------------------------------------------
def test_unsupervised_study_v1_and_the_beta_vae_sweep():
    study = load_study("unsupervised_study_v1")
    assert "unsupervised_study_v1" in list_studies()
    assert study.profiles == {"quick": "quick", "study": "study"} and study.seeds == (0, 1, 2)
    assert set(study.metrics) <= set(runner.valid_metrics())
    sweep = load_preset("beta_vae").studies["unsupervised_study_v1"]
    assert (sweep.key, sweep.values) == ("beta", (1.0, 2.0, 4.0, 6.0, 8.0, 16.0))  # sweep.py: vae.beta
    assert "sweep.py" in sweep.source
    assert "beta_vae" in study.sweeps() and "vae" not in study.sweeps()  # the VAE is the β = 1 point


def test_fairness_study_v1_is_the_unsupervised_grid_scored_with_the_fairness_metrics(tmp_path, capsys):
    study = load_study("fairness_study_v1")
    assert study.sweep_name == "unsupervised_study_v1" and study.name == "fairness_study_v1"
    assert {"fairness", "downstream_lr", "downstream_gbt"} <= set(study.metrics) <= set(runner.valid_metrics())
    plan, unsupervised = plan_study(study, seeds=[0]), plan_study("unsupervised_study_v1", seeds=[0])
    columns = ["method", "key", "value", "dataset", "seed"]
    assert plan.grid[columns].equals(unsupervised.grid[columns]) and len(plan.specs) >= 6
    # the same trained runs (their ids), scored with the fairness study's metrics as well
    assert [s["run_id"] for s in plan.specs] == [s["run_id"] for s in unsupervised.specs]
    assert all("fairness" in s["metrics"] for s in plan.specs)
    assert [s["model_num"] for s in plan.specs] == [s["model_num"] for s in unsupervised.specs]  # same sweep.py
    assert main(["study", "fairness_study_v1", "--no-train", "--out", str(tmp_path)]) == 0
    methods = plan.grid["method"].nunique()
    assert (f"study fairness_study_v1 (quick profile): {3 * len(plan.specs)} runs = {methods} method(s) × 3 seed(s)"
            in capsys.readouterr().out)


@pytest.mark.parametrize("profile", ["quick", "study"])
def test_real_grid_counts_values_and_run_ids_shared_with_disbench_run(profile):
    plan = plan_study("unsupervised_study_v1", ["beta_vae"], seeds=[0, 1], profile=profile)
    assert len(plan.specs) == 6 * 2 == len({s["run_id"] for s in plan.specs})
    assert [s["seed"] for s in plan.specs] == [0] * 6 + [1] * 6  # whole seeds first
    profile_table = load_preset("beta_vae").profile(profile)
    for spec, value in zip(plan.specs, [1.0, 2.0, 4.0, 6.0, 8.0, 16.0] * 2):
        assert spec["config"]["model"]["beta"] == value
        # everything but β is the profile's (steps, batch, lr ...)
        assert {k: v for k, v in spec["config"]["model"].items() if k != "beta"} == \
            {k: v for k, v in profile_table["model"].items() if k != "beta"}  # fmt: skip
        assert spec["config"]["steps"] == profile_table["steps"]
        # what the training core resolves from the variant is the planned config
        hparams = resolve_config("beta_vae", profile=profile, overrides={"model": spec["variant"]})["hparams"]
        assert hparams == BetaVAEConfig.from_table(spec["config"]["model"]).to_dict() and hparams["beta"] == value
    if profile == "study":  # model_configs/shared.gin: batch 64, Adam lr 1e-4, 300,000 steps
        assert (profile_table["batch_size"], profile_table["model"]["lr"], profile_table["steps"]) == (64, 1e-4, 300_000)
    # the profile's own β (4) is the run `disbench run` plans: the same id, no variant
    own = runner.plan_runs(["beta_vae"], seeds=[0], profile=profile, sanity=False)[0]
    at4 = plan.specs[2]
    assert at4["run_id"] == own["run_id"] and at4["variant"] == {} and at4["display_name"] == "β-VAE"
    assert plan.specs[0]["run_id"].startswith(f"beta_vae+beta=1-dsprites-{profile}-s0-")
    assert plan.specs[0]["display_name"] == "β-VAE (beta=1)"
    assert plan.specs[0]["metric_preset"] == ("quick" if profile == "quick" else "default")
    assert plan.grid["value"].tolist() == [s["config"]["model"]["beta"] for s in plan.specs]


# --- grid expansion ------------------------------------------------------------------------
def test_grid_counts_and_order(toy):
    plan = plan_study("toy", seeds=[0, 1, 2], datasets=["dsprites", "color_dsprites"])
    assert len(plan.specs) == 3 * 2 * (3 + 2)  # seeds × datasets × Σ values; 'broken' declares no sweep
    assert len({s["run_id"] for s in plan.specs}) == len(plan.specs)
    assert sorted(plan.grid["method"].unique()) == ["good", "okay"]
    first = plan.grid.head(5)[["seed", "dataset", "method", "value"]].values.tolist()
    assert first == [[0, "dsprites", "good", 1.0], [0, "dsprites", "good", 4.0], [0, "dsprites", "good", 8.0],
                     [0, "dsprites", "okay", 2.0], [0, "dsprites", "okay", 4.0]]  # fmt: skip
    assert len(plan_study("toy", ["okay"]).specs) == 3 * 2  # the study's 3 default seeds
    assert [s["metrics"] for s in plan.specs][0] == ["mig"]


def test_grid_errors(toy):
    with pytest.raises(UnknownNameError, match="unknown study 'nope'"):
        plan_study("nope")
    with pytest.raises(UnknownNameError, match="unknown model in study toy 'broken'"):
        plan_study("toy", ["broken"])
    with pytest.raises(UnknownNameError, match="unknown profile 'study'"):
        plan_study("toy", profile="study")
    with pytest.raises(UnknownNameError, match="unknown dataset"):
        plan_study("toy", datasets=["mnist"])
    with pytest.raises(InvalidInputError):
        plan_study("toy", seeds=[-1])
    text = (toy / "good.toml").read_text()
    (toy / "good.toml").write_text(text.replace('key = "beta"', 'key = "betta"'))
    with pytest.raises(UnknownConfigKeyError, match=r"\[studies.toy\] in 'quick': unknown model key 'betta'"):
        load_preset("good")  # every value must make a valid model config
    (toy / "good.toml").write_text(text.replace('key = "beta"\nvalues = [1.0, 4.0, 8.0]',
                                                'key = "num_latents"\nvalues = [5, 10]'))  # fmt: skip
    with pytest.raises(DataFileError, match="'num_latents', which is not in"):
        plan_study("toy", ["good"])  # a config field the profile leaves to its default: state it in the table
    (toy / "good.toml").write_text(text.replace("values = [1.0, 4.0, 8.0]", "values = [1.0, 1.0]"))
    with pytest.raises(DataFileError, match="distinct numbers"):
        load_preset("good")
    (toy / "okay.toml").unlink()
    (toy / "good.toml").unlink()
    with pytest.raises(InvalidInputError, match=r"no preset declares \[studies.toy\]"):
        plan_study("toy")


# --- running -------------------------------------------------------------------------------
def test_study_reuses_runs_resumes_after_ctrl_c_and_passes_the_variant(toy, fakes, tmp_path, monkeypatch):  # noqa: F811
    out = tmp_path / "res"
    # `disbench run` first: its run is the study's β = 4 point of 'good', seed 0
    runner.run_benchmark(["good"], seeds=[0], out=out, sanity=False, progress=False, export=False, echo=print)
    plan = plan_study("toy", seeds=[0, 1])
    fake_train = __import__("disbench.train", fromlist=["train_run"]).train_run

    def ctrl_c_on_the_third(preset, **kw):
        if len(fakes) == 3:  # started, then interrupted mid-training
            write_json_atomic(kw["out_dir"] / "status.json", {"state": "running", "step": 3, "error": None})
            fakes.append((preset, kw["out_dir"], 0))
            raise KeyboardInterrupt
        return fake_train(preset, **kw)

    monkeypatch.setattr("disbench.train.train_run", ctrl_c_on_the_third)
    messages = []
    with pytest.raises(KeyboardInterrupt):
        run_study(plan, out=out, progress=False, echo=messages.append)
    assert "skipping 1 completed run(s)" in messages[0]  # the run `disbench run` made
    done = ResultsStore(out).records(state="completed")
    assert len(done) == 1 + 2  # disbench run's + the two before Ctrl-C

    monkeypatch.setattr("disbench.train.train_run", fake_train)
    fakes.clear()
    result, paths = run_study(plan, out=out, progress=False, analyse=True, echo=messages.append)
    assert len(result.skipped) == 3 and not result.failed and len(result.records) == 10
    resumed = fakes[0]
    assert resumed[2] == 3  # the interrupted run continues from its step
    assert len(fakes) == 10 - 3
    # each run trained with its variant; the β = 4 points with the profile as it is
    for spec in plan.specs:
        if spec["run_id"] in fakes.overrides:
            assert fakes.overrides[spec["run_id"]] == {"model": spec["variant"]}
    assert {json.dumps(s["variant"]) for s in plan.specs} == {"{}", '{"beta": 1.0}', '{"beta": 8.0}', '{"beta": 2.0}'}
    assert paths["html"].is_file() and "10 of 10 planned runs completed" in paths["html"].read_text()
    # the leaderboard keeps the settings apart: one row per preset and variant
    rows = set(build_leaderboard(result.records).tidy["name"])
    assert rows == {"good", "good+beta=1", "good+beta=8", "okay", "okay+beta=2"}


def test_partial_study_analysed_without_training(toy, fakes, tmp_path):  # noqa: F811
    out = tmp_path / "res"
    plan = plan_study("toy", ["good"], seeds=[0])
    run_study(plan, out=out, progress=False, echo=print)
    bigger = plan_study("toy", seeds=[0, 1])  # 10 planned, 3 done
    fakes.clear()
    result, paths = run_study(bigger, out=out, train=False, analyse=True, echo=print)
    assert fakes == [] and len(result.records) == 3
    assert "3 of 10 planned runs completed" in paths["html"].read_text()


def test_cli_study_and_report_section(toy, fakes, tmp_path, capsys):  # noqa: F811
    assert main(["study", "toy", "--models", "nope"]) == 2
    assert "unknown model in study toy 'nope'" in capsys.readouterr().err
    out = tmp_path / "res"
    code = main(["study", "toy", "--seeds", "0", "1", "--out", str(out), "--no-progress", "--analyse"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "study toy (quick profile): 10 runs = 2 method(s) × 2 seed(s) × 1 dataset(s)" in printed
    assert (out / "studies" / "toy" / "quick" / "analysis.html").is_file()
    assert (out / "studies" / "toy" / "quick" / "median_iqr.tex").is_file()
    assert main(["report", "--results", str(out), "--out", str(tmp_path / "report.html")]) == 0
    page = (tmp_path / "report.html").read_text()
    assert "Study toy (quick profile)" in page and "hyper-parameter value" in page
