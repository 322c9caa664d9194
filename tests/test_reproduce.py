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
