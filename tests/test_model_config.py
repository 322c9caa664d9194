"""Per-baseline config dataclasses (disbench.models.config) and how presets reach them."""

from __future__ import annotations

import dataclasses
import json

import pytest

from disbench.cli import main
from disbench.errors import InvalidInputError, UnknownConfigKeyError
from disbench.models import builtin_models, get_model_class
from disbench.models.beta_vae import BetaVAEConfig
from disbench.models.config import BaselineConfig, param
from disbench.models.dcign import DCIGNConfig
from disbench.models.gan_common import GanConfig
from disbench.presets import list_presets, load_preset
from disbench.train import resolve_config

BUILTIN = ("acgan", "beta_vae", "dcign", "infogan", "lsgan", "sgan")


@dataclasses.dataclass(frozen=True)
class Toy(BaselineConfig):
    width: int = param(3, "units")
    rate: float = param(0.5, "per step")
    name: str | None = param(None, "optional")
    pair: tuple[float, float] = param((1.0, 2.0), "two numbers")
    names: tuple[str, ...] = param(("a",), "any number of names")
    flag: bool = param(False, "switch")


def test_unknown_key_names_the_key_the_place_and_the_valid_keys():
    with pytest.raises(UnknownConfigKeyError) as err:
        Toy.from_table({"widht": 4}, where="preset 'p' profile 'quick'")
    assert str(err.value) == ("preset 'p' profile 'quick': unknown model key 'widht' for Toy; "
                              "valid keys: width, rate, name, pair, names, flag")


def test_values_are_checked_against_the_field_types():
    cfg = Toy.from_table({"width": 4, "rate": 1, "pair": [3, 4.5], "names": ["x", "y"], "flag": True})
    assert cfg == Toy(4, 1.0, None, (3.0, 4.5), ("x", "y"), True)
    assert type(cfg.rate) is float and type(cfg.pair[0]) is float  # ints widened where a float is due
    assert Toy.from_table({"name": None}).name is None and Toy.from_table({"name": "s"}).name == "s"
    for bad, match in [({"width": 4.0}, "'width' must be int"), ({"width": True}, "'width' must be int"),
                       ({"rate": "fast"}, "'rate' must be float"), ({"pair": [1.0]}, "list of 2 values"),
                       ({"names": "x"}, "must be a list"), ({"flag": 1}, "'flag' must be bool")]:
        with pytest.raises(InvalidInputError, match=match):
            Toy.from_table(bad)


def test_to_dict_is_plain_json_and_round_trips():
    cfg = Toy(pair=(0.25, 4.0), names=("p", "q"))
    d = cfg.to_dict()
    assert d == {"width": 3, "rate": 0.5, "name": None, "pair": [0.25, 4.0], "names": ["p", "q"], "flag": False}
    assert Toy.from_table(json.loads(json.dumps(d))) == cfg


def test_configs_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        BetaVAEConfig().beta = 2.0


def test_builtin_models_are_found_by_module_name():
    assert set(BUILTIN) <= set(builtin_models())
    for name in BUILTIN:
        cls = get_model_class(name)
        assert cls.name == name and cls.__module__ == f"disbench.models.{name}"


@pytest.mark.parametrize("name", BUILTIN)
def test_every_field_is_documented_and_the_defaults_are_valid(name):
    config_class = get_model_class(name).config_class
    assert config_class is not BaselineConfig and dataclasses.is_dataclass(config_class)
    for field_name, _type, _default, doc in config_class.describe():
        assert doc, f"{config_class.__name__}.{field_name} has no doc"
    assert config_class.from_table({}) == config_class()


def test_gan_configs_share_the_common_fields():
    for name in ("acgan", "infogan", "infogan_cr", "lsgan", "sgan"):
        assert issubclass(get_model_class(name).config_class, GanConfig)
    # DC-IGN's default: Adam(0.9, 0.99), the reference code's rmsprop.lua; the VAE family's: Adam(0.9, 0.999)
    assert DCIGNConfig().betas == (0.9, 0.99) and BetaVAEConfig().betas == (0.9, 0.999)


@pytest.mark.parametrize("preset", list_presets())
def test_every_preset_profile_builds_its_config(preset):
    p = load_preset(preset)
    for profile in p.profiles:
        cfg = p.model_config(profile)
        assert cfg.to_dict().items() >= {k: list(v) if isinstance(v, tuple) else v
                                          for k, v in p.profile(profile)["model"].items()}.items()


def test_config_json_records_the_resolved_config():
    config = resolve_config("beta_vae", profile="quick")
    assert config["hparams"] == {**BetaVAEConfig().to_dict(), **load_preset("beta_vae").profile("quick")["model"]}
    assert config["hparams"]["eps"] == 1e-8  # a default the preset does not write


def test_override_with_an_unknown_model_key():
    with pytest.raises(UnknownConfigKeyError, match="preset 'vae' profile 'quick': unknown model key 'bta'"):
        resolve_config("vae", overrides={"model": {"bta": 2.0}})


def test_typo_in_a_preset_exits_2_with_one_line(tmp_path, capsys):
    text = load_preset("vae").path.read_text().replace("beta = 1.0", "bta = 1.0", 1)
    path = tmp_path / "typo.toml"
    path.write_text(text)
    out = tmp_path / "run"
    assert main(["train", str(path), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"preset {path} profile 'quick': unknown model key 'bta' for BetaVAEConfig; valid keys: arch," in err
    assert not out.exists()


def test_unknown_model_in_a_preset_names_the_file(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(load_preset("vae").path.read_text().replace('model = "beta_vae"', 'model = "beta_vea"'))
    with pytest.raises(Exception, match=f"preset {path}: unknown model 'beta_vea'; valid models: acgan, (\\w+, )*beta_vae, "):
        load_preset(str(path))
