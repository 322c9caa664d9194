"""Baseline presets (disbench.presets, baselines/*.toml)."""

from __future__ import annotations

import pytest

from disbench.errors import DataFileError, MissingFileError, UnknownNameError
from disbench.models import DatasetInfo, get_model_class
from disbench.presets import SUPERVISION_KINDS, list_presets, load_preset

DSPRITES = DatasetInfo("dsprites", (1, 64, 64), ("shape", "scale", "orientation", "posX", "posY"), (3, 6, 40, 32, 32))
MINE = ("beta_vae", "vae", "dcign")


def test_list_presets_has_the_vae_family():
    names = list_presets()
    assert set(MINE) <= set(names) and names == sorted(names)


@pytest.mark.parametrize("name", MINE)
def test_preset_is_complete_and_builds_its_model(name):
    p = load_preset(name)
    assert p.name == name and p.supervision in SUPERVISION_KINDS and p.citation and p.paper
    assert {"quick", "paper"} <= set(p.profiles)
    for prof_name in p.profiles:
        prof = p.profile(prof_name)
        assert prof["steps"] >= 1 and prof["batch_size"] >= 1 and prof["checkpoint_every"] >= 1
        model = get_model_class(p.model)(DSPRITES, prof["steps"], p.model_config(prof_name))
        assert model.num_codes == 10 and model.supervision == p.supervision
    assert p.reported, "presets store the numbers the paper reports"
    for r in p.reported:
        assert {"paper", "dataset", "metric", "value", "source", "metric_settings"} <= set(r)
        assert 0 <= r["value"] <= 1


def test_vae_is_beta_vae_with_beta_one():
    vae, beta = load_preset("vae"), load_preset("beta_vae")
    assert vae.model == beta.model == "beta_vae"
    assert vae.profile("quick")["model"]["beta"] == 1.0 and beta.profile("quick")["model"]["beta"] == 4.0
    assert load_preset("dcign").supervision == "clamped batches"


def test_profile_is_a_copy_with_defaults(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(
        'name = "p"\nmodel = "beta_vae"\ndisplay_name = "P"\nsupervision = "none"\nrepresentation = "r"\n'
        'citation = "c"\npaper = "x"\n[profiles.quick]\nsteps = 5\nbatch_size = 2\n'
    )
    p = load_preset(str(path))
    prof = p.profile("quick")
    assert prof == {"steps": 5, "batch_size": 2, "checkpoint_every": 1000, "log_every": 50, "precision": "float32",
                    "model": {}}
    prof["model"]["beta"] = 9
    assert p.profile("quick")["model"] == {}


def test_unknown_names():
    with pytest.raises(UnknownNameError, match="unknown preset 'nope'; valid presets: .*beta_vae"):
        load_preset("nope")
    with pytest.raises(UnknownNameError, match="unknown profile 'gpu'; valid profiles: paper, quick"):
        load_preset("beta_vae").profile("gpu")
    with pytest.raises(MissingFileError):
        load_preset("/nonexistent/preset.toml")


@pytest.mark.parametrize("text, match", [
    ("name = ", "not valid TOML"),
    ('name = "p"\n', "misses required keys"),
    ('name = "p"\nmodel = "m"\ndisplay_name = "P"\nsupervision = "labels"\nrepresentation = "r"\n'
     'citation = "c"\npaper = "x"\n[profiles.quick]\nsteps = 5\nbatch_size = 2\n', "supervision must be"),
    ('name = "p"\nmodel = "m"\ndisplay_name = "P"\nsupervision = "none"\nrepresentation = "r"\n'
     'citation = "c"\npaper = "x"\n[profiles.quick]\nsteps = 0\nbatch_size = 2\n', "positive integer"),
    ('name = "p"\nmodel = "m"\ndisplay_name = "P"\nsupervision = "none"\nrepresentation = "r"\n'
     'citation = "c"\npaper = "x"\n[profiles.quick]\nbatch_size = 2\n', "misses \\['steps'\\]"),
])
def test_bad_preset_files(tmp_path, text, match):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(DataFileError, match=match):
        load_preset(str(path))
