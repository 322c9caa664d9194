"""``--set KEY=VALUE`` and ``--sweep KEY=V1,V2`` (issue 24): parsing, validation against the
preset, the run id / row label / config they give, resume of an identical command, the ad-hoc
study a sweep makes, and ``disbench train``'s ``--steps`` as an alias of ``--set steps=``.

Training and scoring are the fakes of ``test_runner``; one real 3-step ``disbench train``."""

from __future__ import annotations

import json

import pytest
from test_runner import fakes, presets  # noqa: F401  (fixtures)

from disbench import runner
from disbench.cli import main
from disbench.errors import InvalidInputError, UnknownConfigKeyError
from disbench.overrides import nested, parse_set, parse_sweep, parse_value, sweep_points
from disbench.presets import load_preset
from disbench.results import ResultsStore
from disbench.study import plan_study
from disbench.study.analysis import find_studies
from disbench.study.grid import plan_sweep
from disbench.train import resolve_config


def test_values_parse_as_toml():
    assert parse_value("8") == 8 and isinstance(parse_value("8"), int)
    assert parse_value("1e-4") == 1e-4 and parse_value("true") is True and parse_value('"bf16"') == "bf16"
    assert parse_value("bf16") == "bf16"  # a bare word is its string
    assert parse_value("[32, 64]") == [32, 64]
    for bad in ("1.2.3", "[1,", "", "{a = 1}"):
        with pytest.raises(InvalidInputError):
            parse_value(bad)
    assert parse_set(["model.beta=8", "steps=2000"]) == {"model.beta": 8, "steps": 2000}
    assert nested({"model.beta": 8, "steps": 2000}) == {"steps": 2000, "model": {"beta": 8}}
    with pytest.raises(InvalidInputError, match="KEY=VALUE"):
        parse_set(["model.beta"])
    with pytest.raises(InvalidInputError, match="unknown key 'beta'; valid keys: steps"):
        parse_set(["beta=8"])  # model keys are model.<field>
    with pytest.raises(InvalidInputError, match="twice"):
        parse_set(["steps=1", "steps=2"])
    assert parse_sweep(["model.beta=1,4.0", 'precision="float32",bf16']) == [
        ("model.beta", (1, 4.0)), ("precision", ("float32", "bf16"))]  # fmt: skip
    assert parse_sweep(["model.betas=[0.9,0.99],[0.5,0.9]"]) == [("model.betas", ([0.9, 0.99], [0.5, 0.9]))]
    with pytest.raises(InvalidInputError, match="twice"):
        parse_sweep(["steps=1,1"])
    sweep = parse_sweep(["model.beta=1,2", "steps=10,20,30"])
    assert sweep_points(sweep)[:4] == [{"model.beta": 1, "steps": 10}, {"model.beta": 1, "steps": 20},
                                       {"model.beta": 1, "steps": 30}, {"model.beta": 2, "steps": 10}]  # fmt: skip
    assert len(sweep_points(sweep)) == 6 and sweep_points([]) == [{}]


def test_preset_validates_and_converts():
    preset = load_preset("beta_vae")
    prof = preset.resolve_profile("quick", {"steps": 7, "model": {"beta": 8}})
    assert prof["steps"] == 7 and prof["model"]["beta"] == 8.0 and isinstance(prof["model"]["beta"], float)
    assert preset.changes("quick", {"steps": 7, "model": {"beta": 8}}) == ({"beta": 8.0}, {"steps": 7})
    own = preset.profile("quick")
    assert preset.changes("quick", {"steps": own["steps"], "model": {"beta": own["model"]["beta"]}}) == ({}, {})
    with pytest.raises(UnknownConfigKeyError, match=r"unknown model key 'bta' for BetaVAEConfig; valid keys: .*beta"):
        preset.resolve_profile("quick", {"model": {"bta": 1}})
    with pytest.raises(UnknownConfigKeyError, match="valid keys: steps, .*model.beta"):
        preset.resolve_profile("quick", {"stepz": 1})
    with pytest.raises(InvalidInputError, match="steps must be a positive int"):
        preset.resolve_profile("quick", {"steps": 2.5})
    with pytest.raises(InvalidInputError, match="model key 'beta' must be float"):
        preset.resolve_profile("quick", {"model": {"beta": "high"}})


def test_set_names_the_run_and_int_equals_float():
    plain = runner.plan_runs(["beta_vae"], sanity=False)[0]
    eight = runner.plan_runs(["beta_vae"], sanity=False, overrides={"model.beta": 8, "steps": 20})[0]
    assert eight["run_id"].startswith("beta_vae+beta=8,steps=20-dsprites-quick-s0-")
    assert eight["display_name"] == "β-VAE (beta=8,steps=20)"
    assert (eight["variant"], eight["settings"]) == ({"beta": 8.0}, {"steps": 20})
    assert eight["config"]["steps"] == 20 and eight["config"]["model"]["beta"] == 8.0
    assert {k: v for k, v in eight["config"].items() if k not in ("steps", "model")} == \
        {k: v for k, v in plain["config"].items() if k not in ("steps", "model")}  # fmt: skip
    again = runner.plan_runs(["beta_vae"], sanity=False, overrides={"model.beta": 8.0, "steps": 20})[0]
    assert again["run_id"] == eight["run_id"]  # 8 and 8.0 are one setting: one run
    own = runner.plan_runs(["beta_vae"], sanity=False, overrides={"model.beta": plain["config"]["model"]["beta"]})[0]
    assert own["run_id"] == plain["run_id"]  # setting the profile's own value changes nothing
    # the same run a study's grid point plans
    study = plan_study("unsupervised_study_v1", ["beta_vae"], seeds=[0])
    at8 = [s for s in study.specs if s["variant"] == {"beta": 8.0}][0]
    assert at8["run_id"] == runner.plan_runs(["beta_vae"], sanity=False, overrides={"model.beta": 8})[0]["run_id"]
    # what training resolves from the spec is the planned config
    config = resolve_config("beta_vae", overrides={**eight["settings"], "model": eight["variant"]})
    assert config["steps"] == 20 and config["hparams"]["beta"] == 8.0
    assert config["overrides"] == {"steps": 20, "model": {"beta": 8.0}}


def test_run_set_resumes_the_same_run_and_labels_the_row(presets, fakes, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "res"
    args = ["run", "--models", "good", "--no-sanity", "--no-progress", "--out", str(out), "--set", "model.beta=8",
            "--set", "steps=3"]  # fmt: skip
    assert main(args) == 0
    assert main(args) == 0
    assert "skipping 1 completed run(s)" in capsys.readouterr().out
    (rid,) = [r.run_id for r in ResultsStore(out).records()]
    assert rid.startswith("good+beta=8,steps=3-dsprites-quick-s0-")
    assert fakes.overrides[rid] == {"steps": 3, "model": {"beta": 8.0}}
    run_json = json.loads((out / "runs" / rid / "run.json").read_text())
    assert run_json["settings"] == {"steps": 3} and run_json["config"]["steps"] == 3
    assert "Good (beta=8,steps=3)" in (out / "leaderboard.md").read_text()
    assert main([*args[:-1], "steps=x y"]) == 2
    assert main(["run", "--models", "good", "--set", "model.bta=1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and "valid keys" in err


def test_sweep_is_an_adhoc_study(presets, fakes, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "res"
    args = ["run", "--models", "good", "okay", "--no-sanity", "--no-progress", "--out", str(out),
            "--sweep", "model.beta=1,2", "--sweep", "steps=3,4", "--seeds", "0", "1"]  # fmt: skip
    assert main(args) == 0
    records = ResultsStore(out).records()
    assert len(records) == 2 * 2 * 2 * 2  # models × β × steps × seeds
    names = {r.spec["display_name"] for r in records}
    assert "Good (beta=1,steps=3)" in names and "Okay (beta=2,steps=4)" in names
    plan = plan_sweep(["good", "okay"], seeds=[0, 1], sweep=parse_sweep(["model.beta=1,2", "steps=3,4"]))
    assert set(plan.grid["run_id"]) == {r.run_id for r in records}
    assert set(plan.grid["key"]) == {"beta,steps"} and "beta=2,steps=4" in set(plan.grid["value"])
    assert (out / "studies" / plan.study.name / "plan.json").is_file()
    assert (out / "studies" / plan.study.name / "quick" / "analysis.html").is_file()
    found = [p for p, _ in find_studies(records, out) if p.study.name == plan.study.name]
    assert found and found[0].study.name.startswith("sweep+")
    # one key: numeric values, as a study's grid
    one = plan_sweep(["good"], sweep=parse_sweep(["model.beta=1,2"]))
    assert one.grid["key"].tolist() == ["beta", "beta"] and one.grid["value"].tolist() == [1.0, 2.0]


def test_study_set_and_sweep_multiply_the_grid():
    base = plan_study("unsupervised_study_v1", ["beta_vae"], seeds=[0])
    plan = plan_study("unsupervised_study_v1", ["beta_vae"], seeds=[0], overrides={"steps": 5},
                      sweep=parse_sweep(["model.lr=1e-4,3e-4"]))  # fmt: skip
    assert len(plan.specs) == 2 * len(base.specs)
    assert {s["config"]["steps"] for s in plan.specs} == {5}
    assert plan.study.name.startswith("unsupervised_study_v1+") and plan.definition["set"] == {"steps": 5}
    assert set(plan.grid["key"]) == {"beta,lr"}
    assert base.definition is None and base.study.name == "unsupervised_study_v1"


def test_train_set_and_steps_alias(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "beta_vae", "--set", "model.beta=8", "--steps", "3", "--quiet"]) == 0
    run_dir = tmp_path / "results" / "runs" / "beta_vae+beta=8,steps=3-dsprites-quick-s0"
    config = json.loads((run_dir / "config.json").read_text())
    assert config["steps"] == 3 and config["hparams"]["beta"] == 8.0
    assert config["overrides"] == {"steps": 3, "model": {"beta": 8}}
    assert json.loads((run_dir / "status.json").read_text())["state"] == "completed"
    mtime = (run_dir / "checkpoints" / "last.pt").stat().st_mtime_ns
    assert main(["train", "beta_vae", "--set", "steps=3", "--set", "model.beta=8.0", "--quiet"]) == 0
    assert (run_dir / "checkpoints" / "last.pt").stat().st_mtime_ns == mtime  # the same run, left as it is
    assert main(["train", "beta_vae", "--steps", "3", "--set", "steps=4"]) == 2
    assert "disagree" in capsys.readouterr().err
