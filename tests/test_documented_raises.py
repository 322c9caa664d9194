"""One test per documented ``Raises:`` entry that no other test covered (found with
``python tests/list_raises.py``): each calls the documented function with the documented
bad input and checks the error class and that the message says what to do."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from metrics_helpers import FactorCodes, TinyDataset

from disbench import data
from disbench.errors import (
    ChecksumError,
    DataFileError,
    InvalidInputError,
    MissingFileError,
    UnknownNameError,
)


@pytest.fixture(scope="module")
def tiny():
    return TinyDataset((3, 4, 5, 6))


# --- data ------------------------------------------------------------------------------------
def test_factors_of_index_out_of_range(tiny):
    np.testing.assert_array_equal(tiny.factors_of(np.array([0, len(tiny) - 1])), [[0, 0, 0, 0], [2, 3, 4, 5]])
    for bad in ([-1], [len(tiny)]):
        with pytest.raises(InvalidInputError, match=rf"index out of range \[0, {len(tiny)}\)"):
            tiny.factors_of(np.array(bad))
    with pytest.raises(InvalidInputError, match="1-d integer array"):
        tiny.factors_of(np.array([0.5]))


def test_dsprites_render_words_bad_shape_or_index():
    ds = data.load("dsprites")
    assert ds.render_words(np.zeros((2, 5), np.int64)).shape == (2, 64)
    with pytest.raises(InvalidInputError):
        ds.render_words(np.zeros((2, 4), np.int64))
    with pytest.raises(InvalidInputError):
        ds.render_words(np.array([[3, 0, 0, 0, 0]]))  # shape has 3 values: 0, 1, 2


def test_load_dsprites_file_missing_or_damaged(tmp_path, monkeypatch):
    monkeypatch.setenv("DISBENCH_DATA", str(tmp_path))
    with pytest.raises(MissingFileError, match="disbench datasets download dsprites"):
        data.load("dsprites", source="file")
    missing = tmp_path / "nothing.npz"
    with pytest.raises(MissingFileError):
        data.load("dsprites", source="file", path=missing)
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(b"PK\x03\x04 not really a zip archive")
    with pytest.raises(DataFileError, match="disbench datasets download dsprites"):
        data.load("dsprites", source="file", path=damaged)


def test_check_source_unknown_or_unlisted_source():
    from disbench.data.manifest import check_source

    check_source("dsprites", "file")
    with pytest.raises(UnknownNameError, match="valid sources"):
        check_source("dsprites", "ftp")
    with pytest.raises(UnknownNameError):
        check_source("mnist", "file")
    with pytest.raises(InvalidInputError, match="has no 'procedural' source"):
        check_source("shapes3d", "procedural")


# --- images, rng -------------------------------------------------------------------------------
def test_grid_array_wrong_rank_or_channels():
    from disbench.images import grid_array

    assert grid_array(np.zeros((2, 3, 1, 4, 4), np.float32), pad=1).shape == (2 * 5 + 1, 3 * 5 + 1, 3)
    for bad in (np.zeros((4, 4)), np.zeros((2, 2, 4, 4)), np.zeros((2, 3, 2, 4, 4))):
        with pytest.raises(InvalidInputError, match=r"C in \(1, 3\)"):
            grid_array(bad)


@pytest.mark.parametrize("bad", [None, 1.5, "0", True, -1])
def test_as_generator_refuses_global_or_odd_randomness(bad):
    from disbench.rng import as_generator

    with pytest.raises(InvalidInputError, match="seed"):
        as_generator(bad)


# --- metrics ---------------------------------------------------------------------------------
def test_beta_vae_from_features_errors():
    from disbench.metrics.beta_vae import beta_vae_from_features

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(20, 3)), np.arange(20) % 2
    assert 0 <= beta_vae_from_features(x, y, x, y)["score"] <= 1
    with pytest.raises(InvalidInputError):
        beta_vae_from_features(x[:, :, None], y, x, y)
    with pytest.raises(InvalidInputError, match="NaN or inf"):
        beta_vae_from_features(np.full_like(x, np.nan), y, x, y)
    with pytest.raises(InvalidInputError, match="single"):
        beta_vae_from_features(x, np.zeros(20, int), x, y)


def test_beta_vae_and_factor_vae_scores_reject_bad_sizes(tiny):
    from disbench.metrics import beta_vae_score, factor_vae_score

    codes = FactorCodes(tiny)
    for kwargs in ({"batch_size": 0}, {"num_train": 0}, {"num_eval": -1}):
        with pytest.raises(InvalidInputError, match="positive"):
            beta_vae_score(tiny, codes, **kwargs)
    for kwargs in ({"batch_size": 1}, {"num_variance_estimate": 1}, {"num_train": 0}, {"num_eval": 0}):
        with pytest.raises(InvalidInputError):
            factor_vae_score(tiny, codes, **kwargs)
    with pytest.raises(InvalidInputError, match="NaN or inf"):
        factor_vae_score(tiny, lambda x: np.full((len(x), 2), np.nan), batch_size=4, num_train=4, num_eval=4,
                         num_variance_estimate=8)  # fmt: skip


def test_dci_from_codes_errors():
    from disbench.metrics import dci_from_codes

    rng = np.random.default_rng(0)
    x, f = rng.normal(size=(30, 3)), np.stack([np.arange(30) % 2, np.arange(30) % 3], axis=1)
    with pytest.raises(InvalidInputError, match="fewer than 2 factors|disagree"):
        dci_from_codes(x, f[:, :1], x, f[:, :1])
    with pytest.raises(InvalidInputError):
        dci_from_codes(x, f, x[:, :2], f)  # test codes with other columns
    one_class = f.copy()
    one_class[:, 1] = 0
    with pytest.raises(InvalidInputError, match="DCI factor 1"):
        dci_from_codes(x, one_class, x, f)


def test_check_codes_and_check_factors():
    from disbench.metrics.utils import check_codes, check_factors

    with pytest.raises(InvalidInputError, match="2-d"):
        check_codes(np.zeros(5))
    with pytest.raises(InvalidInputError):
        check_codes(np.zeros((1, 3)), min_rows=2)
    with pytest.raises(InvalidInputError):
        check_codes(np.zeros((4, 1)), min_codes=2)
    with pytest.raises(InvalidInputError, match="NaN or inf"):
        check_codes(np.array([[0.0, np.inf]]))
    ok = check_factors(np.array([[0, 1], [2, 3]]), 2)
    assert ok.dtype.kind == "i"
    for bad, rows in ((np.array([0, 1]), 2), (np.array([[0, 1]]), 2), (np.array([[0.5, 1]]), 1), (np.array([[-1, 1]]), 1)):
        with pytest.raises(InvalidInputError):
            check_factors(bad, rows)


def test_as_encoder_needs_a_callable():
    from disbench.metrics.codes import as_encoder

    with pytest.raises(InvalidInputError, match="callable"):
        as_encoder(42)


def test_resolve_settings_errors():
    from disbench.metrics.evaluate import resolve_settings

    assert resolve_settings(["dci"], "quick")["dci"]["num_train"] == 2_500
    with pytest.raises(UnknownNameError, match="valid metrics"):
        resolve_settings(["nope"])
    with pytest.raises(UnknownNameError, match="metric preset"):
        resolve_settings(["mig"], "fast")
    with pytest.raises(InvalidInputError, match="not among"):
        resolve_settings(["mig"], settings={"dci": {"num_train": 10}})
    with pytest.raises(InvalidInputError, match="unknown setting"):
        resolve_settings(["mig"], settings={"mig": {"bins": 3}})


def test_evaluate_run_without_a_run_directory(tmp_path):
    from disbench.metrics import evaluate_run

    with pytest.raises(MissingFileError, match="disbench train"):
        evaluate_run(tmp_path / "absent", ["mig"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(MissingFileError, match="no config.json"):
        evaluate_run(tmp_path / "empty", ["mig"])


def test_feature_net_images_too_small_and_as_images():
    from disbench.metrics.feature_net import FactorClassifier, as_images

    with pytest.raises(InvalidInputError, match="at least 16 px"):
        FactorClassifier((1, 8, 8), (3, 4))
    with pytest.raises(InvalidInputError, match=r"must have shape \(2, 1, 4, 4\)"):
        as_images(np.zeros((3, 1, 4, 4), np.float32), (1, 4, 4), "images", num=2)
    with pytest.raises(InvalidInputError, match="float"):
        as_images(np.zeros((2, 1, 4, 4), np.uint8), (1, 4, 4), "images")
    with pytest.raises(InvalidInputError, match=r"\[0, 1\]"):
        as_images(np.full((2, 1, 4, 4), 2.0, np.float32), (1, 4, 4), "images")
    with pytest.raises(InvalidInputError, match="NaN"):
        as_images(np.full((2, 1, 4, 4), np.nan, np.float32), (1, 4, 4), "images")


def test_inception_features_missing_package_or_damaged_weights(tmp_path, monkeypatch):
    import importlib.util

    from disbench.metrics import inception

    with monkeypatch.context() as m:
        m.setattr(importlib.util, "find_spec", lambda name: None)
        with pytest.raises(MissingFileError, match=r"disbench\[inception\]"):
            inception.InceptionFeatures()
    damaged = tmp_path / "default_1.pt"
    damaged.write_bytes(b"not the weights")
    monkeypatch.setattr(inception, "weights_path", lambda: damaged)
    with pytest.raises(ChecksumError, match="reinstall"):
        inception.InceptionFeatures()


# --- models (through the preset path a user takes: resolve_config -> build_model) -----------------
def _build(preset: str, **overrides):
    from disbench.train import build_model, resolve_config

    return build_model(resolve_config(preset, overrides=overrides), data.load("dsprites"))


def test_get_model_class_unknown_name_lists_the_valid_ones():
    from disbench.models import get_model_class

    with pytest.raises(UnknownNameError, match="beta_vae"):
        get_model_class("resnet")


def test_acgan_unknown_generator_loss_or_label_factor():
    from disbench.models import get_model_class
    from disbench.models.acgan import ACGAN

    assert get_model_class("acgan") is ACGAN  # the preset below builds this class
    with pytest.raises(InvalidInputError, match="generator_loss"):
        _build("acgan", model={"generator_loss": "wasserstein"})
    with pytest.raises(InvalidInputError, match="colour"):
        _build("acgan", model={"label_factor": "colour"})


def test_stacked_gan_phases_leave_no_joint_step():
    from disbench.models import get_model_class
    from disbench.models.sgan import StackedGAN

    assert get_model_class("sgan") is StackedGAN
    with pytest.raises(InvalidInputError):
        _build("sgan", steps=5)


def test_posthoc_start_needs_one_gan_step():
    from disbench.models.posthoc import posthoc_start

    assert posthoc_start(10, 3) == 7 and posthoc_start(10, 0) == 10
    for bad in (10, 11, -1):
        with pytest.raises(InvalidInputError, match="posthoc_steps"):
            posthoc_start(10, bad)
    with pytest.raises(InvalidInputError, match="posthoc_steps"):
        _build("lsgan", steps=5)  # the preset's post-hoc phase is longer than 5 steps


def test_build_optimizer_and_make_encoder_unknown_names():
    from disbench.models.base import build_optimizer
    from disbench.models.nets import make_encoder

    params = [torch.nn.Parameter(torch.zeros(2))]
    assert isinstance(build_optimizer(params, "adagrad", lr=0.1), torch.optim.Adagrad)
    with pytest.raises(UnknownNameError, match="adam"):
        build_optimizer(params, "sgd-nesterov")
    with pytest.raises(UnknownNameError, match="conv"):
        make_encoder("transformer", (1, 64, 64), 10)


def test_gan_nets_need_their_image_side():
    from disbench.models.nets import GanDiscriminatorBody, GanGenerator

    assert GanGenerator(5, (1, 64, 64))(torch.zeros(2, 5)).shape == (2, 1, 64, 64)
    with pytest.raises(InvalidInputError):
        GanGenerator(5, (1, 32, 32))
    with pytest.raises(InvalidInputError):
        GanDiscriminatorBody((1, 48, 48))


# --- store, runner, training, reproduce, leaderboard --------------------------------------------
def test_run_record_from_a_directory_without_run_json(tmp_path):
    from disbench.results import ResultsStoreError, RunRecord

    with pytest.raises(ResultsStoreError, match="not a disbench run directory"):
        RunRecord.from_dir(tmp_path)
    (tmp_path / "run.json").write_text("{ not json")
    with pytest.raises(ResultsStoreError, match="not a disbench run directory"):
        RunRecord.from_dir(tmp_path)


def test_plan_runs_and_run_benchmark_negative_seed_and_unknown_names(tmp_path):
    from disbench.runner import plan_runs, run_benchmark

    with pytest.raises(InvalidInputError, match="non-negative"):
        plan_runs(["beta_vae"], seeds=[0, -1])
    quiet = {"out": tmp_path / "res", "progress": False, "echo": lambda m: None}
    with pytest.raises(InvalidInputError, match="non-negative"):
        run_benchmark(["beta_vae"], seeds=[-3], **quiet)
    with pytest.raises(UnknownNameError, match="unknown model 'nope'"):
        run_benchmark(["nope"], **quiet)
    assert not (tmp_path / "res").exists()  # nothing written before the plan is valid


def test_run_benchmark_refuses_a_damaged_index(tmp_path):
    from disbench.results import INDEX_NAME, ResultsStoreError
    from disbench.runner import run_benchmark

    (tmp_path / "runs").mkdir()
    (tmp_path / INDEX_NAME).write_bytes(b"not a database" * 100)
    with pytest.raises(ResultsStoreError, match="disbench results repair"):
        run_benchmark(["beta_vae"], out=tmp_path, progress=False, echo=lambda m: None)


def test_load_run_with_a_missing_checkpoint(tmp_path):
    from disbench.train import load_run

    (tmp_path / "config.json").write_text(json.dumps({"preset": "beta_vae", "dataset": "dsprites", "seed": 0}))
    (tmp_path / "status.json").write_text(json.dumps({"state": "completed", "step": 10}))
    with pytest.raises(MissingFileError, match=r"checkpoints/last\.pt is missing; retrain"):
        load_run(tmp_path, device="cpu")


def test_fit_raises_training_failed_on_a_non_finite_loss(tmp_path, monkeypatch):
    from disbench.train import TrainingFailed, fit

    model = _build("beta_vae", steps=3, batch_size=4)
    monkeypatch.setattr(type(model), "training_step", lambda self, batch, step, opt: {"loss": float("nan")})
    with pytest.raises(TrainingFailed, match="non-finite loss") as info:
        fit(model, data.load("dsprites"), steps=3, batch_size=4, seed=0, out_dir=tmp_path, device="cpu",
            progress=False)  # fmt: skip
    assert info.value.step == 1
    assert json.loads((tmp_path / "status.json").read_text())["state"] == "failed"


def test_reported_entries_unknown_paper():
    from disbench.reproduce import reported_entries

    assert reported_entries("higgins2017")
    with pytest.raises(UnknownNameError, match="higgins2017"):
        reported_entries("nobody2099")


def test_export_leaderboard_unknown_format(tmp_path):
    from disbench.leaderboard import build_leaderboard, export_leaderboard
    from disbench.results import RunRecord

    board = build_leaderboard([RunRecord(run_id="a", kind="train", name="a", model="a", dataset="dsprites",
                                         profile="quick", seed=0, state="completed", metrics={"mig": 0.5})])  # fmt: skip
    with pytest.raises(UnknownNameError, match="csv"):
        export_leaderboard(board, tmp_path / "lb.xlsx", "xlsx")
    assert not (tmp_path / "lb.xlsx").exists()


# --- added with the model configs, presets validation and statistics module -------------------
def test_cache_and_rng_other_dataset_or_bad_random_state(tiny):
    from disbench.metrics import CodeCache
    from disbench.metrics.codes import cache_and_rng

    cache, rng = cache_and_rng(tiny, FactorCodes(tiny), 0)
    assert isinstance(cache, CodeCache) and isinstance(rng, np.random.Generator)
    with pytest.raises(InvalidInputError):
        cache_and_rng(TinyDataset((2, 3)), CodeCache(tiny, FactorCodes(tiny)), 0)
    with pytest.raises(InvalidInputError, match="seed"):
        cache_and_rng(tiny, FactorCodes(tiny), None)


def test_baseline_refuses_another_models_config_and_gan_an_unknown_label_factor():
    from disbench.models import DatasetInfo
    from disbench.models.base import Baseline
    from disbench.models.beta_vae import BetaVAE
    from disbench.models.gan_common import GanBaseline
    from disbench.models.lsgan import LSGAN, LSGANConfig

    info = DatasetInfo.of(data.load("dsprites"))
    assert issubclass(BetaVAE, Baseline) and issubclass(LSGAN, GanBaseline)
    with pytest.raises(InvalidInputError, match="BetaVAE takes a BetaVAEConfig, got LSGANConfig"):
        BetaVAE(info, 10, LSGANConfig())
    with pytest.raises(InvalidInputError, match="colour"):
        LSGAN(info, 10, LSGANConfig(label_factor="colour"))


def test_preset_model_config_unknown_profile_and_load_preset_bad_model_tables(tmp_path):
    from disbench.errors import UnknownConfigKeyError
    from disbench.presets import load_preset
    from disbench.resources import presets_dir

    with pytest.raises(UnknownNameError, match="profile"):
        load_preset("beta_vae").model_config("huge")
    text = (presets_dir() / "beta_vae.toml").read_text()
    unknown = tmp_path / "unknown_key.toml"
    unknown.write_text(text.replace("[profiles.quick.model]\n", "[profiles.quick.model]\nbetta = 4.0\n", 1))
    with pytest.raises(UnknownConfigKeyError, match="betta"):
        load_preset(str(unknown))
    wrong_type = tmp_path / "wrong_type.toml"
    wrong_type.write_text(text.replace("num_latents = 10", 'num_latents = "ten"', 1))
    with pytest.raises(InvalidInputError, match="num_latents"):
        load_preset(str(wrong_type))


def test_rank_summary_needs_three_models_and_two_blocks():
    import pandas as pd

    from disbench.stats import rank_summary

    with pytest.raises(InvalidInputError):
        rank_summary(pd.DataFrame({"a": [0.1, 0.2], "b": [0.3, 0.1]}))  # two models
    with pytest.raises(InvalidInputError):
        rank_summary(pd.DataFrame({"a": [0.1], "b": [0.3], "c": [0.2]}))  # one block


# --- added with the data integrity records, train_spec and studies ----------------------------------
def test_recorded_checksums_catch_a_changed_file(tmp_path, monkeypatch):
    from fixtures.data_files import DSPRITES_SMALL, MPI3D_SMALL, write_dsprites, write_mpi3d

    from disbench.data.dsprites_file import DSpritesFile
    from disbench.data.integrity import check_recorded, record_path
    from disbench.data.manifest import DataFile, manifest
    from disbench.data.mpi3d import MPI3D
    from disbench.errors import ChecksumError

    monkeypatch.setenv("DISBENCH_DATA", str(tmp_path))
    path = tmp_path / "blob.bin"
    path.write_bytes(b"first bytes")
    spec = DataFile(name="blob.bin", urls=())
    check_recorded("blob", spec, path)  # first use: recorded
    assert record_path(path).is_file()
    path.write_bytes(b"other bytes!")
    with pytest.raises(ChecksumError, match="blob"):
        check_recorded("blob", spec, path)

    cached = manifest("dsprites").files[0].path()
    write_dsprites(cached)
    DSpritesFile(factors_num_values=DSPRITES_SMALL)  # records the sha256 on first use
    write_dsprites(cached, compressed=False)  # the same arrays, other bytes: the file changed
    with pytest.raises(ChecksumError):
        DSpritesFile(factors_num_values=DSPRITES_SMALL)

    cached = manifest("mpi3d_toy").files[0].path()
    write_mpi3d(cached)
    MPI3D("toy", factors_num_values=MPI3D_SMALL)
    write_mpi3d(cached, compressed=True)
    with pytest.raises(ChecksumError):
        MPI3D("toy", factors_num_values=MPI3D_SMALL)


def test_verify_unknown_dataset_or_missing_file(tmp_path, monkeypatch):
    from disbench.data.integrity import verify

    monkeypatch.setenv("DISBENCH_DATA", str(tmp_path))
    with pytest.raises(UnknownNameError, match="dsprites"):
        verify("mnist")
    with pytest.raises(MissingFileError, match="disbench datasets download"):
        verify("shapes3d")


def test_train_spec_unknown_profile():
    from disbench.presets import load_preset
    from disbench.runner import train_spec

    assert train_spec(load_preset("beta_vae"), "dsprites", "quick", 0)["profile"] == "quick"
    with pytest.raises(UnknownNameError, match="profile"):
        train_spec(load_preset("beta_vae"), "dsprites", "huge", 0)


def test_load_study_unknown_missing_or_bad_file(tmp_path):
    from disbench.study.grid import load_study

    with pytest.raises(UnknownNameError, match="unsupervised_study_v1"):
        load_study("nostudy")
    with pytest.raises(MissingFileError, match="not found"):
        load_study(str(tmp_path / "absent.toml"))
    bad = tmp_path / "bad.toml"
    bad.write_text("name = [unclosed")
    with pytest.raises(DataFileError, match="not valid TOML"):
        load_study(str(bad))
    partial = tmp_path / "partial.toml"
    partial.write_text('name = "partial"\n')
    with pytest.raises(DataFileError, match="misses required keys"):
        load_study(str(partial))


def test_run_study_refuses_a_damaged_index(tmp_path):
    from disbench.results import INDEX_NAME, ResultsStoreError
    from disbench.study import run_study
    from disbench.study.grid import plan_study

    plan = plan_study("unsupervised_study_v1", seeds=[0])
    (tmp_path / "runs").mkdir()
    (tmp_path / INDEX_NAME).write_bytes(b"not a database" * 100)
    with pytest.raises(ResultsStoreError, match="disbench results repair"):
        run_study(plan, out=tmp_path, progress=False, echo=lambda m: None)


def test_verify_a_dataset_without_files(monkeypatch):
    import types

    from disbench.data import manifest as manifest_module
    from disbench.data.integrity import verify

    # no shipped manifest is procedural-only today: a stand-in manifest without files
    monkeypatch.setattr(manifest_module, "manifest", lambda name: types.SimpleNamespace(files=(), base=None))
    with pytest.raises(InvalidInputError, match="no published file"):
        verify("procedural_only")


def test_infogan_cr_regulariser_must_start_before_the_last_step():
    from disbench.models import get_model_class
    from disbench.models.infogan_cr import InfoGANCR

    assert get_model_class("infogan_cr") is InfoGANCR
    with pytest.raises(InvalidInputError, match="cr_start_step"):
        _build("infogan_cr", steps=10, model={"cr_start_step": 10})
    with pytest.raises(InvalidInputError, match="cr_start_step"):
        _build("infogan_cr", model={"cr_start_step": -1})
