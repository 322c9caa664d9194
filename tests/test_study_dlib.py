"""unsupervised_study_v1 as disentanglement_lib runs it (issue 21): FactorVAE's update count, the
TF initialisation, the published-file-first data choice, dlib's model numbers, and the smaller
points (discriminator clipping, β-TCVAE's logged tc, strict float32).

Reference: google-research/disentanglement_lib at commit 76f41e39cdeff8517f7fba9d57b09f35703efca9."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from fixtures.data_files import write_dsprites
from test_beta_vae import squares

from disbench import data
from disbench.cli import main
from disbench.data import ProceduralFallbackWarning
from disbench.data.manifest import data_files
from disbench.device import PRECISIONS, effective_precision, precision_context
from disbench.models import DatasetInfo
from disbench.models.beta_tc_vae import BetaTCVAE, BetaTCVAEConfig
from disbench.models.beta_vae import BetaVAE, BetaVAEConfig
from disbench.models.factor_vae import FactorVAE, FactorVAEConfig, clipped_probs
from disbench.presets import load_preset
from disbench.study import load_study, plan_study
from disbench.study.grid import parse_model_nums
from disbench.train import resolve_config, train_run

INFO = DatasetInfo("dsprites", (1, 64, 64), ("shape", "scale", "orientation", "posX", "posY"), (3, 6, 40, 32, 32))
STUDY_PRESETS = ["beta_vae", "vae", "factor_vae", "dip_vae_i", "dip_vae_ii", "beta_tc_vae", "annealed_vae"]
DLIB_TRAINING_STEPS = 300_000  # model_configs/shared.gin: model.training_steps


@pytest.fixture(autouse=True)
def data_home(tmp_path, monkeypatch, one_torch_thread):
    home = tmp_path / "data"
    monkeypatch.setenv("DISBENCH_DATA", str(home))
    monkeypatch.setattr(data, "_warned", set())  # one warning per dataset and process: fresh per test
    return home


# --- 1. FactorVAE's update count ----------------------------------------------------------------
def test_factor_vae_study_steps_are_half_of_dlibs_global_steps():
    # both minimize() calls of dlib's FactorVAE.model_fn advance the global step (vae.py 255-262)
    assert load_preset("factor_vae").profile("study")["steps"] == DLIB_TRAINING_STEPS // 2 == 150_000
    for name in STUDY_PRESETS:
        if name != "factor_vae":  # one minimize() per iteration: training_steps updates
            assert load_preset(name).profile("study")["steps"] == DLIB_TRAINING_STEPS, name


def test_factor_vae_steps_both_optimisers_once_per_step(tmp_path):
    steps = 3
    run = train_run("factor_vae", profile="quick", seed=0, out_dir=tmp_path / "run", device="cpu", progress=False,
                    overrides={"steps": steps, "checkpoint_every": steps, "log_every": 1})
    ckpt = torch.load(run / "checkpoints" / "last.pt", map_location="cpu", weights_only=True)
    for name in ("vae", "discriminator"):
        counts = {int(s["step"]) for s in ckpt["optimizers"][name]["state"].values()}
        assert counts == {steps}, (name, counts)


# --- 2. init ---------------------------------------------------------------------------------------
def tf_fans(m: torch.nn.Module) -> tuple[int, int]:
    """TF's (fan_in, fan_out) from TF's kernel layouts: dense (in, out); conv2d (kh, kw, in, out);
    conv2d_transpose (kh, kw, out, in) — fan_in = kh·kw·shape[-2], fan_out = kh·kw·shape[-1]."""
    if isinstance(m, torch.nn.Linear):
        return m.in_features, m.out_features
    rf = m.kernel_size[0] * m.kernel_size[1]
    if isinstance(m, torch.nn.ConvTranspose2d):  # TF kernel (kh, kw, filters=out, in)
        return rf * m.out_channels, rf * m.in_channels
    return rf * m.in_channels, rf * m.out_channels


def layers(model):
    return [m for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear))]


@pytest.mark.parametrize("arch", ["conv_dlib", "fc"])
def test_tf_default_init_is_glorot_uniform_with_zero_biases(arch):
    torch.manual_seed(0)
    model = FactorVAE(INFO, 10, FactorVAEConfig(arch=arch, init="tf_default"))
    seen = {torch.nn.Conv2d: 0, torch.nn.ConvTranspose2d: 0, torch.nn.Linear: 0}
    for m in layers(model):  # encoder, decoder and the discriminator (dlib's tf.layers.dense: TF defaults too)
        seen[type(m)] += 1
        assert torch.count_nonzero(m.bias) == 0
        fan_in, fan_out = tf_fans(m)
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        w = m.weight.detach()
        assert w.abs().max().item() <= limit
        if w.numel() >= 2000:  # U(-l, l): std l/√3, and the extremes come close to ±l
            assert w.std().item() == pytest.approx(limit / math.sqrt(3), rel=0.05)
            assert w.abs().max().item() > 0.95 * limit
    assert seen[torch.nn.Linear] >= 7 + 3  # D's 7 + the VAE's
    if arch == "conv_dlib":
        assert seen[torch.nn.Conv2d] == 4 and seen[torch.nn.ConvTranspose2d] == 4


def test_torch_init_is_the_default_and_differs():
    torch.manual_seed(0)
    default = BetaVAE(INFO, 10, BetaVAEConfig())
    assert BetaVAEConfig().init == "torch"
    assert any(torch.count_nonzero(m.bias) > 0 for m in layers(default))
    from disbench.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="init must be one of"):
        BetaVAEConfig(init="glorot")


def test_every_study_profile_is_dlibs_and_recorded_in_config():
    for name in STUDY_PRESETS:
        config = resolve_config(name, profile="study")
        assert config["hparams"]["init"] == "tf_default", name
        assert load_preset(name).profile("study")["data_source"] == "auto", name
    assert resolve_config("beta_vae", profile="quick")["hparams"]["init"] == "torch"


# --- 3. data: the published file first, procedural with one warning -------------------------------
def test_study_falls_back_to_procedural_with_one_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plan = plan_study("unsupervised_study_v1", ["beta_vae", "factor_vae"], ["dsprites"], [0, 1], "study")
        resolve_config("beta_vae", profile="study")  # the same process: no second warning
    fallback = [w for w in caught if issubclass(w.category, ProceduralFallbackWarning)]
    assert len(fallback) == 1 and "disbench datasets download dsprites" in str(fallback[0].message)
    assert {s["config"]["data_source"] for s in plan.specs} == {"procedural"}


def test_study_uses_the_published_file_when_present(data_home):
    data_home.mkdir(parents=True, exist_ok=True)
    write_dsprites(data_home / data_files("dsprites")[0].name)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ProceduralFallbackWarning)
        plan = plan_study("unsupervised_study_v1", ["beta_vae"], ["dsprites", "color_dsprites"], [0], "study")
        config = resolve_config("beta_vae", profile="study")
    assert {s["config"]["data_source"] for s in plan.specs} == {"file"}
    assert config["data_source"] == "file"
    # the quick profile keeps the dataset's default; its run id does not change
    assert resolve_config("beta_vae", profile="quick")["data_source"] is None
    quick = plan_study("unsupervised_study_v1", ["beta_vae"], ["dsprites"], [0], "quick")
    assert "data_source" not in quick.specs[0]["config"]


def test_file_and_procedural_runs_have_different_ids(data_home):
    before = plan_study("unsupervised_study_v1", ["beta_vae"], ["dsprites"], [0], "study").specs[0]["run_id"]
    data_home.mkdir(parents=True, exist_ok=True)
    write_dsprites(data_home / data_files("dsprites")[0].name)
    after = plan_study("unsupervised_study_v1", ["beta_vae"], ["dsprites"], [0], "study").specs[0]["run_id"]
    assert before != after


# --- 4. dlib's model numbers ----------------------------------------------------------------------
# (dataset, method, value index, seed) -> model_num, by hand: dataset×1800 + method×300 + value×50 + seed
HAND = [
    ("dsprites", "beta_vae", 0, 0, 0),
    ("dsprites", "beta_vae", 5, 49, 299),
    ("dsprites", "factor_vae", 0, 0, 300),
    ("dsprites", "dip_vae_i", 0, 0, 600),
    ("dsprites", "dip_vae_ii", 1, 3, 953),
    ("dsprites", "beta_tc_vae", 0, 0, 1200),
    ("dsprites", "annealed_vae", 0, 0, 1500),
    ("color_dsprites", "beta_vae", 0, 0, 1800),
    ("noisy_dsprites", "factor_vae", 2, 7, 4007),
    ("scream_dsprites", "beta_tc_vae", 4, 10, 6810),
    ("smallnorb", "annealed_vae", 0, 0, 8700),
    ("cars3d", "dip_vae_i", 3, 1, 9751),
    ("shapes3d", "annealed_vae", 5, 49, 12599),
]


@pytest.mark.parametrize("dataset,method,value,seed,num", HAND)
def test_model_num_matches_the_hand_table(dataset, method, value, seed, num):
    numbering = load_study("unsupervised_study_v1").model_num
    assert numbering.number(dataset, method, value, seed) == num
    assert numbering.decode(num) == (dataset, method, value, seed)


def test_model_num_outside_the_grid():
    numbering = load_study("unsupervised_study_v1").model_num
    assert numbering.size == 12_600  # 7 datasets × 1800
    assert numbering.number("dsprites", "beta_vae", 0, 50) is None  # dlib has seeds 0..49
    assert numbering.number("mpi3d_toy", "beta_vae", 0, 0) is None
    from disbench.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="outside 0-12599"):
        numbering.decode(12_600)
    assert parse_model_nums(["0-2", "1200,5"]) == [0, 1, 2, 5, 1200]
    with pytest.raises(InvalidInputError, match="--model-num"):
        parse_model_nums(["3-1"])


def test_plan_selects_runs_by_model_num_and_records_it():
    plan = plan_study("unsupervised_study_v1", profile="study", model_nums=[0, 299, 1200, 4007])
    got = sorted(zip(plan.grid["model_num"], plan.grid["method"], plan.grid["dataset"], plan.grid["value"],
                     plan.grid["seed"]))
    assert got == [(0, "beta_vae", "dsprites", 1.0, 0), (299, "beta_vae", "dsprites", 16.0, 49),
                   (1200, "beta_tc_vae", "dsprites", 1.0, 0), (4007, "factor_vae", "noisy_dsprites", 30.0, 7)]
    assert sorted(s["model_num"] for s in plan.specs) == [0, 299, 1200, 4007]
    # every value of a method's sweep is in dlib's order: the value index is its place there
    assert load_preset("factor_vae").studies["unsupervised_study_v1"].values[2] == 30.0


def test_cli_model_num(tmp_path, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # whatever filters the test run sets
        code = main(["study", "unsupervised_study_v1", "--profile", "study", "--model-num", "0-1", "1200",
                     "--no-train", "--no-progress", "--out", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr()
    assert "3 runs" in out.out
    # the fallback to the procedural render is said once, on one line
    assert out.err.count("disbench: warning: dsprites: the published file is not in the data cache") == 1
    assert main(["study", "unsupervised_study_v1", "--model-num", "x"]) == 2


# --- smaller points -------------------------------------------------------------------------------
def test_discriminator_probabilities_are_clipped_as_dlib():
    p = clipped_probs(torch.tensor([[50.0, -50.0], [0.0, 0.0]]))
    assert p[0].tolist() == pytest.approx([1 - 1e-6, 1e-6], abs=2e-8)  # float32
    assert p[1].tolist() == pytest.approx([0.5, 0.5])
    torch.manual_seed(0)
    model = FactorVAE(INFO, 10, FactorVAEConfig())

    class Fixed(torch.nn.Module):  # D certain of the wrong class for every sample
        def forward(self, z):
            return torch.tensor([[-50.0, 50.0]]).repeat(len(z), 1)

    model.discriminator = Fixed()
    z = torch.zeros(4, 10)
    # real samples get p(real) = 1e-6, permuted ones p(permuted) = 1 - 1e-6 (clipped, not 1e-22)
    want = -0.5 * math.log(1e-6) - 0.5 * math.log(1 - 1e-6)
    assert model.discriminator_loss(z, z).item() == pytest.approx(want, rel=1e-4)


def test_beta_tc_vae_logs_dlibs_tc():
    torch.manual_seed(0)
    model = BetaTCVAE(INFO, 10, BetaTCVAEConfig(beta=6.0))
    model.set_generator(torch.Generator().manual_seed(1))
    loss, terms, _ = model.vae_loss(squares(16), 0)
    # dlib's total_correlation drops the log-B normalisers: tc = tc_mws − (d − 1)·log B
    assert terms["tc"].item() == pytest.approx(terms["tc_mws"].item() - 9 * math.log(16), abs=1e-4)
    assert loss.item() == pytest.approx((terms["recon"] + terms["kl"] + 5.0 * terms["tc"]).item(), rel=1e-6)


def test_float32_strict_precision():
    assert "float32_strict" in PRECISIONS
    cpu = torch.device("cpu")
    assert effective_precision(cpu, "float32_strict") == "float32"
    with precision_context(cpu, "float32_strict"):
        pass
    if not torch.cuda.is_available():
        pytest.skip("TF32 switch needs CUDA")
    gpu = torch.device("cuda")
    assert effective_precision(gpu, "float32_strict") == "float32 (TF32 off)"
    with precision_context(gpu, "float32_strict"):
        assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32


def test_reproduction_defaults_to_the_file_and_states_the_source(data_home):
    from disbench.reproduce import comparison_table, to_markdown
    from disbench.results import RunRecord
    from disbench.runner import train_spec

    preset = load_preset("beta_vae")
    with pytest.warns(ProceduralFallbackWarning):
        assert train_spec(preset, "dsprites", "paper", 0, data_source="auto")["config"]["data_source"] == "procedural"
    assert "data_source" not in train_spec(preset, "dsprites", "paper", 0)["config"]  # `disbench run`: unchanged
    data_home.mkdir(parents=True, exist_ok=True)
    write_dsprites(data_home / data_files("dsprites")[0].name)
    assert train_spec(preset, "dsprites", "paper", 0, data_source="auto")["config"]["data_source"] == "file"
    entry = {"paper": "p", "preset": "beta_vae", "display_name": "β-VAE", "dataset": "dsprites", "metric": "mig",
             "value": 0.5, "source": "Table 1"}
    record = RunRecord(run_id="r", kind="train", name="beta_vae", model="beta_vae", dataset="dsprites",
                       profile="paper", seed=0, state="completed",
                       metrics={"mig": 0.4, "dataset.source": "procedural"})
    table = comparison_table([entry], [record])
    assert table["data_source"].tolist() == ["procedural render"]
    assert "procedural render" in to_markdown(table)
