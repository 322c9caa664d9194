"""Outside models, presets, encoders and generators (disbench.plugins), the contract checker
(disbench.testing) and the runnable example under examples/ — nothing installed globally:
the example's directory goes on sys.path, entry points come from a dist-info folder in tmp."""

from __future__ import annotations

import csv
import importlib
import json
import re
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from disbench.cli import main
from disbench.errors import DisbenchError
from disbench.models import Baseline, builtin_models, get_model_class
from disbench.plugins import PluginError, load_encoder
from disbench.presets import load_preset
from disbench.testing import ContractError, check_model

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(autouse=True)
def quiet(monkeypatch, tmp_path, one_torch_thread):
    monkeypatch.setenv("DISBENCH_DATA", str(tmp_path / "data"))
    monkeypatch.syspath_prepend(str(EXAMPLES))
    yield
    for name in [m for m in sys.modules if m.split(".")[0] in ("my_method", "broken")]:
        del sys.modules[name]


def few_steps(src: Path, dst: Path, steps: int = 3) -> Path:
    """A copy of preset ``src`` whose quick profile trains ``steps`` steps."""
    text = src.read_text()
    head, sep, rest = text.partition("[profiles.quick]")
    lines = [f"steps = {steps}" if ln.startswith("steps =") else
             f"checkpoint_every = {steps}" if ln.startswith("checkpoint_every =") else ln
             for ln in rest.splitlines()]
    dst.write_text(head + sep + "\n".join(lines) + "\n")
    return dst


# --- the example, through the CLI ----------------------------------------------------------------
def test_example_model_on_the_board_beside_beta_vae(tmp_path, capsys):
    mine = few_steps(EXAMPLES / "my_method" / "my_method.toml", tmp_path / "my_method.toml")
    beta = few_steps(load_preset("beta_vae").path, tmp_path / "beta_vae.toml")
    out = tmp_path / "results"
    code = main(["run", "--models", str(mine), str(beta), "--encoders", "centroid=my_method.encoders:centroid",
                 "--metrics", "mig", "--no-sanity", "--no-progress", "--device", "cpu", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    with open(out / "leaderboard.csv") as f:
        rows = {r["name"]: r for r in csv.DictReader(f)}
    assert set(rows) == {"my_method", "beta_vae", "centroid"}
    assert rows["my_method"]["model"] == "TinyVAE (mine)" and rows["centroid"]["supervision"] == "external"
    assert all(0 <= float(r["mig"]) <= 1 for r in rows.values())


def test_check_model_cli_passes_on_the_example(capsys):
    assert main(["check-model", "my_method.model:TinyVAE"]) == 0
    assert "follows the Baseline contract" in capsys.readouterr().out


def test_evaluate_an_encoder_function_and_a_generator(tmp_path, capsys, monkeypatch):
    from disbench.metrics import feature_net, fid

    tiny = feature_net.FeatureNetConfig(steps=2, batch_size=8, num_heldout=16)  # the default trains for minutes
    monkeypatch.setattr(fid, "load_feature_net", lambda dataset, seed=0: feature_net.train_feature_net(
        dataset, seed=seed, config=tiny, progress=False))
    out = tmp_path / "scores.json"
    code = main(["evaluate", "--encoder", "my_method.encoders:centroid", "--generator",
                 "my_method.encoders:blank_sampler", "--metrics", "mig,fid", "--preset", "quick", "--json", str(out)])
    assert code == 0, capsys.readouterr().err
    table = capsys.readouterr().out
    assert "my_method.encoders:centroid" in table
    scores = json.loads(out.read_text())["my_method.encoders:centroid"]
    assert 0 <= scores["mig"] <= 1 and scores["fid"] > 0  # black images are far from dSprites


def test_evaluate_a_torchscript_encoder(tmp_path, capsys):
    path = tmp_path / "encoder.pt"
    torch.jit.save(torch.jit.script(torch.nn.Sequential(torch.nn.AvgPool2d(16), torch.nn.Flatten())), str(path))
    assert main(["evaluate", "--encoder", str(path), "--metrics", "mig", "--preset", "quick"]) == 0
    assert str(path) in capsys.readouterr().out


# --- entry points ----------------------------------------------------------------------------------
def test_installed_package_registers_its_preset_and_model(tmp_path, monkeypatch):
    dist = tmp_path / "site" / "my_method-0.1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-method\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text(
        "[disbench.models]\nmy_method = my_method:PRESET\ntiny_vae = my_method.model:TinyVAE\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    importlib.invalidate_caches()
    preset = load_preset("my_method")
    assert preset.display_name == "TinyVAE (mine)"
    assert get_model_class("tiny_vae").__name__ == "TinyVAE"
    assert get_model_class(preset.model) is get_model_class("tiny_vae")


# --- the contract checker --------------------------------------------------------------------------
@pytest.mark.parametrize("name", builtin_models())
def test_contract_checker_passes_on_every_builtin(name):
    """With the quick profile's settings where a preset of that name has them (smaller nets)."""
    try:
        config = load_preset(name).model_config("quick")
    except DisbenchError:  # no preset of that name: the config's defaults
        config = None
    checks = check_model(name, batch_size=4, config=config)
    packable = get_model_class(name).packable()  # the VAE family: + the packing check
    assert checks[-1] == ("packing hooks" if packable else "state_dict round trip") and len(checks) == 7 + packable


class ForgetsTheGenerator(Baseline):
    """Keeps a step counter in a plain attribute that no checkpoint saves, so a resumed run differs."""

    name = "broken"
    representation = "a linear code"

    def __init__(self, info, total_steps, config=None):
        super().__init__(info, total_steps, config)
        self.lin = torch.nn.Linear(64 * 64, 2)
        self.seen = 0

    @property
    def num_codes(self):
        return 2

    def configure_optimizers(self):
        return {"sgd": torch.optim.SGD(self.parameters(), lr=0.1)}

    def training_step(self, batch, step, optimizers):
        self.seen += 1  # not a buffer: lost on resume
        loss = self.lin(batch["x"].flatten(1)).pow(2).mean() * self.seen
        self.optimize(optimizers["sgd"], loss)
        return {"loss": loss.detach()}

    def encode(self, x):
        return self.lin(x.flatten(1))

    def sample(self, n, generator=None):
        return torch.zeros(n, 1, 64, 64)

    def traverse(self, x, num_steps, generator=None):
        return torch.zeros(2, num_steps, 1, 64, 64)


def test_contract_checker_fails_clearly_on_a_broken_class():
    with pytest.raises(ContractError, match="resumed from its checkpoint differs .* keep all state in the module"):
        check_model(ForgetsTheGenerator)


def test_contract_checker_names_a_wrong_encode_shape(monkeypatch):
    monkeypatch.setattr(ForgetsTheGenerator, "training_step", lambda self, batch, step, opts: {"loss": 0.0})
    with pytest.raises(ContractError, match="parameter"):
        check_model(ForgetsTheGenerator)


# --- errors a newcomer can act on: exit 2, one line, results store untouched --------------------
BROKEN = {
    "broken/__init__.py": "",
    "broken/raises.py": "raise RuntimeError('my bug')\n",
    "broken/imports.py": "import not_a_module_anywhere\n",
    "broken/things.py": """
        import torch
        from disbench.models import Baseline

        class NotABaseline:
            pass

        class NoConfig(Baseline):
            config_class = dict

        def wrong_shape(x):
            return torch.zeros(len(x), 2, 2)

        def nan_codes(x):
            return torch.full((len(x), 3), float("nan"))

        def too_few(x):
            return torch.zeros(1, 3)

        def bright(n):
            return torch.full((n, 1, 64, 64), 2.0)
    """,
}


@pytest.fixture
def broken(tmp_path, monkeypatch):
    for rel, text in BROKEN.items():
        path = tmp_path / "pkgs" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(tmp_path / "pkgs"))
    importlib.invalidate_caches()


@pytest.mark.parametrize("model, match", [
    ("broken.raises:Model", r"importing broken.raises \(.*raises.py\) failed: RuntimeError: my bug; fix that module"),
    ("broken.imports:Model", r"importing broken.imports \(.*imports.py\) failed: ModuleNotFoundError: No module named "
                             "'not_a_module_anywhere'; install not_a_module_anywhere or fix that module"),
    ("nowhere.at_all:Model", "no module named 'nowhere'; install its package, run from the directory"),
    ("broken.things:Missing", r"things.py defines no 'Missing'; it has: .*NotABaseline"),
    ("broken.things:NotABaseline", "is a type, not a subclass of disbench.models.Baseline; subclass it"),
    ("broken.things:NoConfig", "config_class must be a subclass of disbench.models.BaselineConfig"),
])
def test_bad_model_reference_exits_2_and_writes_nothing(broken, tmp_path, capsys, model, match):
    preset = tmp_path / "p.toml"
    preset.write_text(few_steps(EXAMPLES / "my_method" / "my_method.toml", preset).read_text()
                      .replace('"my_method.model:TinyVAE"', f'"{model}"').replace("[profiles.quick.model]\n", "[x]\n"))
    out = tmp_path / "results"
    assert main(["run", "--models", str(preset), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("disbench: error: ")
    assert re.search(match, err), err
    assert not out.exists()


@pytest.mark.parametrize("encoder, match", [
    ("broken.things:wrong_shape", r"returned shape \(4, 2, 2\) for 4 images; it must return \(N, num_codes\)"),
    ("broken.things:nan_codes", "returned NaN or inf codes"),
    ("broken.things:too_few", r"returned shape \(1, 3\) for 4 images"),
    ("broken.things:NotABaseline", None),  # a class is callable: it fails on its output
    ("broken.raises:encode", "my bug"),
    ("missing.pt", "encoder file missing.pt not found"),
])
def test_bad_encoder_exits_2_and_writes_nothing(broken, tmp_path, capsys, encoder, match):
    out = tmp_path / "results"
    assert main(["run", "--encoders", f"mine={encoder}", "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and (match is None or re.search(match, err)), err
    assert not out.exists()
    assert main(["evaluate", "--encoder", encoder]) == 2


def test_bad_generator_is_named(broken):
    with pytest.raises(PluginError, match="outside \\[0, 1\\]"):
        main_raising(["evaluate", "--encoder", "my_method.encoders:centroid", "--generator", "broken.things:bright"])


def main_raising(argv):
    from disbench.cli import cli

    cli.main(args=argv, prog_name="disbench", standalone_mode=False)


def test_checked_encoder_keeps_checking(broken):
    encode = load_encoder("my_method.encoders:centroid", (1, 64, 64))
    assert encode(torch.rand(3, 1, 64, 64)).shape == (3, 4)
    with pytest.raises(DisbenchError, match="must return"):
        load_encoder("broken.things:too_few", (1, 64, 64))


def test_encoder_row_with_a_generator_gets_fid(tmp_path, monkeypatch):
    from disbench.metrics import feature_net, fid
    from disbench.runner import run_benchmark

    tiny = feature_net.FeatureNetConfig(steps=2, batch_size=8, num_heldout=16)
    monkeypatch.setattr(fid, "load_feature_net", lambda dataset, seed=0: feature_net.train_feature_net(
        dataset, seed=seed, config=tiny, progress=False))
    job = run_benchmark([], encoders={"centroid": "my_method.encoders:centroid"}, metrics=["mig", "fid"],
                        generators={"centroid": "my_method.encoders:blank_sampler"}, out=tmp_path / "res",
                        sanity=False, progress=False, export=False)
    (record,) = job.records
    assert record.state == "completed" and record.spec["supervision"] == "external"
    assert record.metrics["fid"] > 0 and 0 <= record.metrics["mig"] <= 1


def test_generator_without_its_encoder_row_exits_2(tmp_path, capsys):
    out = tmp_path / "res"
    assert main(["run", "--encoders", "a=my_method.encoders:centroid", "--generators",
                 "b=my_method.encoders:blank_sampler", "--out", str(out), "--no-progress"]) == 2
    assert "generator b=my_method.encoders:blank_sampler has no encoder row 'b'" in capsys.readouterr().err
    assert not out.exists()
