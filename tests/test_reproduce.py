"""disbench reproduce: runs what a paper's reported numbers need and puts them side by side."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from disbench.cli import main
from disbench.errors import UnknownNameError
from disbench.io import write_json_atomic
from disbench.reproduce import papers, reproduce

PRESET = """
name = "{name}"
model = "beta_vae"
display_name = "{name}"
supervision = "none"
representation = "z"
citation = "Someone 2020"
paper = "{paper}"
[profiles.quick]
steps = 10
batch_size = 8
[profiles.paper]
steps = 1000
batch_size = 8
[[reported]]
paper = "{paper}"
dataset = "dsprites"
metric = "mig"
value = {value}
std = 0.05
source = "Table 2"
metric_settings = "MIG with 10,000 points"
"""


@pytest.fixture
def setup(tmp_path, monkeypatch):
    d = tmp_path / "baselines"
    d.mkdir()
    (d / "a.toml").write_text(PRESET.format(name="a", paper="smith2020", value=0.4))
    (d / "b.toml").write_text(PRESET.format(name="b", paper="smith2020", value=0.2))
    (d / "c.toml").write_text(PRESET.format(name="c", paper="jones2021", value=0.9))
    monkeypatch.setattr("disbench.presets.presets_dir", lambda: d)
    trained = []

    def train_run(preset, *, dataset, profile, seed, out_dir, device, progress, overrides=None):
        trained.append((preset, profile, seed))
        write_json_atomic(Path(out_dir) / "status.json", {"state": "completed", "step": 10, "error": None})

    def evaluate_run(run_dir, metrics=None, preset="default", device="auto", random_state=0, noise_seeds=0):
        spec = json.loads((Path(run_dir) / "run.json").read_text())
        assert metrics == ["mig"]
        score = {"a": 0.35, "b": 0.3}[spec["name"]] + 0.02 * random_state
        write_json_atomic(Path(run_dir) / "metrics.json", {"mig": score, "metric_preset": preset})

    monkeypatch.setattr("disbench.train.train_run", train_run)
    monkeypatch.setattr("disbench.metrics.evaluate_run", evaluate_run)
    return trained


def test_reproduce_side_by_side(setup, tmp_path):
    assert papers() == ["jones2021", "smith2020"]
    table, files = reproduce("smith2020", profile="quick", seeds=[0, 1], out=tmp_path / "res", progress=False,
                             echo=lambda m: None)  # fmt: skip
    assert sorted(setup) == [("a", "quick", 0), ("a", "quick", 1), ("b", "quick", 0), ("b", "quick", 1)]
    rows = table.set_index("preset")
    assert rows.loc["a", "paper_value"] == 0.4 and rows.loc["a", "paper_std"] == 0.05
    assert rows.loc["a", "disbench_mean"] == pytest.approx(0.36)
    assert rows.loc["a", "disbench_std"] == pytest.approx(0.02 / math.sqrt(2))
    assert rows.loc["b", "delta"] == pytest.approx(0.31 - 0.2)
    assert (rows["n_seeds"] == 2).all() and (rows["source"] == "Table 2").all()
    assert (rows["metric_preset"] == "quick").all()
    csv = pd.read_csv(files["csv"]).set_index("preset")
    assert csv.loc["b", "delta"] == pytest.approx(0.11)
    md = files["md"].read_text()
    assert "| a " in md and "0.36 ± 0.014" in md and "+0.11" in md


def test_unknown_paper(setup, tmp_path, capsys):
    with pytest.raises(UnknownNameError, match="valid papers: jones2021, smith2020"):
        reproduce("nobody", out=tmp_path / "res")
    assert main(["reproduce", "nobody", "--out", str(tmp_path / "res")]) == 2
    assert "unknown paper 'nobody'" in capsys.readouterr().err


def test_an_entry_can_name_another_output_of_a_metric(setup, tmp_path, monkeypatch):
    # "mig.gap" is not a headline score: the run scores "mig" and the table reads "mig.gap"
    d = tmp_path / "baselines"
    (d / "a.toml").write_text(PRESET.format(name="a", paper="smith2020", value=0.4).replace('"mig"', '"mig.gap"'))
    (d / "b.toml").unlink()

    def evaluate_run(run_dir, metrics=None, preset="default", device="auto", random_state=0, noise_seeds=0):
        assert metrics == ["mig"]
        write_json_atomic(Path(run_dir) / "metrics.json", {"mig": 0.1, "mig.gap": 0.25, "metric_preset": preset})

    monkeypatch.setattr("disbench.metrics.evaluate_run", evaluate_run)
    table, _ = reproduce("smith2020", profile="quick", out=tmp_path / "res", progress=False, echo=lambda m: None)
    row = table.set_index("preset").loc["a"]
    assert row["metric"] == "mig.gap" and row["disbench_mean"] == 0.25 and row["delta"] == pytest.approx(-0.15)


def test_entries_not_rechecked_say_so_in_the_table(setup, tmp_path):
    d = tmp_path / "baselines"
    text = PRESET.format(name="a", paper="smith2020", value=0.4) + 'note = "not re-checked: from memory"\n'
    (d / "a.toml").write_text(text)
    table, files = reproduce("smith2020", profile="quick", out=tmp_path / "res", progress=False, echo=lambda m: None)
    assert table.set_index("preset").loc["a", "note"] == "not re-checked: from memory"
    md = files["md"].read_text()
    assert "Table 2 (not re-checked)" in md and md.count("not re-checked") == 1  # b's entry has no note


def _record(name, dataset, seed, metrics, profile="paper"):
    from disbench.results import RunRecord

    return RunRecord(run_id=f"{name}-{dataset}-{seed}", kind="train", name=name, model="beta_vae", dataset=dataset,
                     profile=profile, seed=seed, state="completed", spec={}, metrics=metrics)  # fmt: skip


def test_runs_of_another_dataset_are_never_pooled_into_a_paper_row():
    # issue 26.6: one preset reports MIG on two datasets; each row reads only its own dataset's runs
    from disbench.reproduce import comparison_table

    entries = [{"paper": "p", "preset": "a", "display_name": "A", "dataset": d, "metric": "mig", "value": v,
                "std": 0.05, "profile_steps": {"paper": 1000}} for d, v in (("dsprites", 0.4), ("shapes3d", 0.6))]
    records = ([_record("a", "dsprites", s, {"mig": m, "metric_preset": "default"}) for s, m in enumerate([0.30, 0.32])]
               + [_record("a", "shapes3d", s, {"mig": m, "metric_preset": "default"})
                  for s, m in enumerate([0.70, 0.74, 0.78])]
               + [_record("b", "dsprites", 0, {"mig": 0.9, "metric_preset": "default"})]  # another preset
               + [_record("a", "dsprites", 9, {"mig": 0.9, "metric_preset": "quick"}, profile="quick")])  # fmt: skip
    table = comparison_table(entries, records, profile="paper").set_index("dataset")
    assert table.loc["dsprites", "disbench_mean"] == pytest.approx(0.31) and table.loc["dsprites", "n_seeds"] == 2
    assert table.loc["shapes3d", "disbench_mean"] == pytest.approx(0.74) and table.loc["shapes3d", "n_seeds"] == 3
    assert table.loc["shapes3d", "delta"] == pytest.approx(0.14)


def test_verdict_per_row():
    from disbench.reproduce import verdict

    e = {"value": 0.80, "std": 0.01, "profile_steps": {"quick": 10, "paper": 300000}}
    assert verdict(e, 0.815, "paper", "default").startswith("inside the paper's spread")  # |Δ| 0.015 <= 2σ = 0.02
    assert verdict(e, 0.83, "paper", "default").startswith("outside the paper's spread")
    assert verdict(e, 0.80, "quick", "quick") == "not comparable: quick profile (10 steps) vs the paper's (300000 steps)"
    assert verdict(e, 0.80, "paper", "quick").startswith("not comparable: the quick metric preset")
    assert verdict(e, math.nan, "", "") == "not comparable: no completed run scored this metric"
    assert verdict({**e, "not_comparable": "another DCI"}, 0.80, "paper", "default") == "not comparable: another DCI"
    assert verdict({"value": 0.8}, 0.9, "paper", "default") == "no spread reported"
    # "± 0.00" printed: the std is below the last digit's half, the spread at least 2 x 0.005
    zero = {"value": 0.82, "std": 0.0, "resolution": 0.005}
    assert verdict(zero, 0.829, "paper", "default").startswith("inside")
    assert verdict(zero, 0.84, "paper", "default").startswith("outside")


def test_the_table_prints_protocol_and_verdict_beside_each_delta(setup, tmp_path):
    d = tmp_path / "baselines"
    text = PRESET.format(name="a", paper="smith2020", value=0.4) + 'protocol = "disbench mig on 10,000 points"\n'
    (d / "a.toml").write_text(text)
    table, files = reproduce("smith2020", profile="quick", out=tmp_path / "res", progress=False, echo=lambda m: None)
    row = table.set_index("preset").loc["a"]
    assert row["protocol"] == "disbench mig on 10,000 points"
    assert row["verdict"] == "not comparable: quick profile (10 steps) vs the paper's (1000 steps)"
    md = files["md"].read_text()
    rows = [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in md.splitlines() if ln.startswith("|")]
    assert rows[0][-3:] == ["Δ", "Protocol", "Verdict"]
    a_row = next(r for r in rows if r[0] == "a")
    assert a_row[-2:] == ["disbench mig on 10,000 points", row["verdict"]] and a_row[-3] == "-0.05"


def test_shipped_entries_state_their_protocol_and_lin2020_scores_on_the_fitted_data():
    # issue 22.3: every [[reported]] entry says what disbench computes; Lin et al.'s metric.py fits and scores
    # explicitness, the β-VAE and the FactorVAE metric on the same data, so their rows read the train outputs
    from disbench.metrics.evaluate import SPECS
    from disbench.reproduce import reported_entries

    entries = reported_entries()
    assert entries and all(e.get("protocol") for e in entries), [e["preset"] for e in entries if not e.get("protocol")]
    assert not [e for e in entries if e.get("note", "").startswith("not re-checked")]  # verified or removed
    for e in entries:
        assert e["metric"].split(".")[0] in SPECS, e
    lin = {(e["preset"], e["metric"]) for e in reported_entries("lin2020")}
    for preset in ("infogan", "infogan_cr"):
        assert (preset, "modularity.explicitness_train") in lin and (preset, "modularity.explicitness") not in lin
        assert (preset, "beta_vae.train_accuracy") in lin and (preset, "factor_vae.train_accuracy") in lin
    not_comparable = {(e["preset"], e["metric"]) for e in reported_entries("lin2020") if e.get("not_comparable")}
    assert not_comparable == {(p, m) for p in ("infogan", "infogan_cr") for m in ("dci", "sap")}
