"""evaluate(), the code cache, the encoder adapter, evaluate_run, sanity representations, the CLI."""

import json

import numpy as np
import pytest
import torch
from metrics_helpers import FactorCodes, NoisyTinyDataset, TinyDataset

from disbench.cli import main
from disbench.errors import InvalidInputError, UnknownNameError
from disbench.metrics import CodeCache, evaluate, evaluate_run
from disbench.representations import make

TINY = {
    "beta_vae": {"batch_size": 8, "num_train": 100, "num_eval": 50},
    "factor_vae": {"batch_size": 8, "num_train": 100, "num_eval": 50, "num_variance_estimate": 200},
    "mig": {"num_train": 500},
    "dci": {"num_train": 150, "num_test": 60},
    "sap": {"num_train": 200, "num_test": 100},
    "modularity": {"num_train": 200, "num_test": 100},
}


class CountingEncoder:
    """numpy encoder reading the scaled factors off the image; records every observation it sees."""

    def __init__(self):
        self.seen = []

    def __call__(self, x):
        assert isinstance(x, np.ndarray) and x.dtype == np.float32 and x.ndim == 4
        self.seen.append(x.reshape(len(x), -1).copy())
        return x.reshape(len(x), -1)


class TinyModel(torch.nn.Module):
    """A torch module with ``encode``: a linear map of the flattened observation."""

    def __init__(self, k):
        super().__init__()
        self.lin = torch.nn.Linear(k, k)
        with torch.no_grad():
            self.lin.weight.copy_(torch.eye(k) * 2)
            self.lin.bias.zero_()

    def encode(self, x):
        assert isinstance(x, torch.Tensor) and x.device == self.lin.weight.device
        return self.lin(x.flatten(1))

    def sample(self, n, generator=None):
        return torch.rand(n, 1, 1, 4, generator=generator)


@pytest.fixture(scope="module")
def ds():
    return TinyDataset((3, 4, 5, 6))


@pytest.fixture(scope="module")
def tiny_result(ds):
    return evaluate(ds, CountingEncoder(), settings=TINY, n_jobs=1)


def test_evaluate_returns_one_flat_json_dict(tiny_result):
    r = tiny_result
    for m in TINY:
        assert f"{m}.seconds" in r
    # CountingEncoder's codes are the scaled factors themselves: the metrics' ceilings
    # (MIG: every factor fits in 20 bins; SAP: one linear SVM on a single code cannot split
    # 4-6 classes, so its gap stays well below 1 even here, but far above pure noise's ≈ 0.03)
    assert r["beta_vae"] == r["factor_vae"] == 1.0
    assert r["mig"] > 0.98 and r["dci"] > 0.999 and r["modularity"] > 0.99 and r["sap"] > 0.1
    assert r["metric_preset"] == "default+custom"
    assert isinstance(r["mig.per_factor"], list) and "dci.completeness" in r and "beta_vae.train_accuracy" in r
    assert r["factor_vae.num_active_codes"] == 4
    json.dumps(r)


def test_each_distinct_observation_encoded_once_per_evaluate(ds):
    enc = CountingEncoder()
    r = evaluate(ds, enc, settings=TINY, n_jobs=1)
    seen = np.concatenate(enc.seen)
    assert r["codes.cached"] and r["codes.num_requested"] > len(ds)  # more requests than observations
    assert len(seen) == r["codes.num_encoded"] == len(np.unique(seen, axis=0)) <= len(ds)


def test_same_seed_identical_results(ds, tiny_result):
    again = evaluate(ds, CountingEncoder(), settings=TINY, n_jobs=1)
    strip = lambda r: {k: v for k, v in r.items() if not k.endswith(".seconds")}  # noqa: E731
    assert strip(again) == strip(tiny_result)


def test_parallel_per_factor_work_matches_sequential(ds):
    settings = {"sap": TINY["sap"], "modularity": TINY["modularity"]}
    a = evaluate(ds, CountingEncoder(), ["sap", "modularity"], settings=settings, n_jobs=1)
    b = evaluate(ds, CountingEncoder(), ["sap", "modularity"], settings=settings, n_jobs=2)
    assert a["sap.score_matrix"] == b["sap.score_matrix"] and a["modularity.explicitness"] == b["modularity.explicitness"]


def test_torch_module_adapter_gets_tensors_on_its_device(ds):
    model = TinyModel(4)
    r1 = evaluate(ds, model, ["mig", "factor_vae"], settings={m: TINY[m] for m in ("mig", "factor_vae")})
    r2 = evaluate(ds, model.encode, ["mig", "factor_vae"], settings={m: TINY[m] for m in ("mig", "factor_vae")})
    r3 = evaluate(ds, CountingEncoder(), ["mig", "factor_vae"], settings={m: TINY[m] for m in ("mig", "factor_vae")})
    assert r1["mig"] == r2["mig"] == pytest.approx(r3["mig"])  # scaling by 2 changes nothing
    assert r1["factor_vae"] == r3["factor_vae"]


def test_uncached_paths_give_the_same_codes(ds):
    f = ds.sample_factors(300, 0)
    cached = CodeCache(ds, CountingEncoder()).codes(f, 0)
    uncached = CodeCache(ds, CountingEncoder(), max_cache_bytes=0, batch_size=7)
    np.testing.assert_array_equal(uncached.codes(f, 0), cached)
    assert not uncached.cached and uncached.num_encoded == 300
    noisy = CodeCache(NoisyTinyDataset((3, 4, 5, 6)), CountingEncoder())
    noisy.codes(f, 0)
    assert not noisy.cached


def test_quick_preset_is_labelled(ds):
    r = evaluate(ds, FactorCodes(ds), ["mig"], preset="quick")
    # MIG keeps its default size in quick (plug-in MI bias); the label still says quick
    assert r["metric_preset"] == "quick" and r["metric_settings"]["mig"]["num_train"] == 10_000


@pytest.mark.parametrize(
    "encode, match",
    [
        (lambda x: np.full((len(x), 3), np.nan), "NaN or inf"),
        (lambda x: np.zeros((len(x) + 1, 3)), "shape"),
        (lambda x: np.zeros(len(x)), "shape"),
        ("not callable", "callable"),
    ],
)
def test_bad_encoder_output_raises(ds, encode, match):
    with pytest.raises(InvalidInputError, match=match):
        evaluate(ds, encode, ["mig"], settings={"mig": TINY["mig"]})


def test_bad_names_and_missing_pieces_raise(ds):
    with pytest.raises(UnknownNameError, match="valid metrics"):
        evaluate(ds, CountingEncoder(), ["nope"])
    with pytest.raises(UnknownNameError, match="metric preset"):
        evaluate(ds, CountingEncoder(), ["mig"], preset="fast")
    with pytest.raises(InvalidInputError, match="sample"):
        evaluate(ds, CountingEncoder(), ["fid"])
    with pytest.raises(InvalidInputError, match="unknown setting"):
        evaluate(ds, CountingEncoder(), ["mig"], settings={"mig": {"bins": 3}})
    with pytest.raises(InvalidInputError, match="lacks num_factors, .*sample_factors"):
        evaluate(object(), CountingEncoder(), ["mig"])
    with pytest.raises(InvalidInputError, match="single value"):
        evaluate(TinyDataset((3, 1)), CountingEncoder(), ["mig"], settings={"mig": TINY["mig"]})
    with pytest.raises(InvalidInputError, match="positive"):
        evaluate(ds, CountingEncoder(), ["beta_vae"], settings={"beta_vae": {"num_train": 0}})


def test_evaluate_run_writes_metrics_json(ds, tmp_path, monkeypatch):
    from disbench.metrics.evaluate import PRESETS

    calls = {}

    def mixed_model():  # codes mix the factors, so the scores depend on the sampled points
        model = TinyModel(4)
        with torch.no_grad():
            model.lin.weight.copy_(torch.from_numpy(np.random.default_rng(0).normal(size=(4, 4))))
        return model.eval()

    def load_run(run_dir, device="auto"):
        calls["args"] = (run_dir, device)
        return mixed_model(), ds, {"model": "tiny"}

    monkeypatch.setattr("disbench.train.load_run", load_run)  # only the loader, not the whole module
    monkeypatch.setitem(PRESETS, "tiny", TINY)
    r = evaluate_run(tmp_path, ["mig", "factor_vae"], preset="tiny", device="cpu", random_state=3)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved == json.loads(json.dumps(r)) and saved["run_dir"] == str(tmp_path)
    assert saved["metric_preset"] == "tiny" and calls["args"] == (tmp_path, "cpu")
    # the scores are those of the loaded model's encoder at the preset's settings and the seed
    direct = evaluate(ds, mixed_model(), ["mig", "factor_vae"], preset="tiny", random_state=3)
    other_seed = evaluate(ds, mixed_model(), ["mig", "factor_vae"], preset="tiny", random_state=4)
    assert (saved["mig"], saved["factor_vae"]) == (direct["mig"], direct["factor_vae"])
    assert (saved["mig"], saved["factor_vae"]) != (other_seed["mig"], other_seed["factor_vae"])
    assert saved["metric_settings"]["mig"] == {**direct["metric_settings"]["mig"], **TINY["mig"]}


def test_sanity_representations(ds):
    gt = make("ground_truth", ds)
    np.testing.assert_allclose(gt.encode_factors(np.array([[2, 3, 4, 5]])), [[1, 1, 1, 1]])
    x = ds.sample_observations(20, 0)
    assert make("raw_pixels", ds)(x).shape == (20, 4)
    with pytest.raises(UnknownNameError):
        make("vae", ds)


def test_pca_and_ica_on_images():
    big = TinyDataset((3, 4, 5, 6, 2, 2, 3, 3, 2, 2, 2, 2))  # 12-d observations: PCA-10 is a projection
    x = big.sample_observations(50, 1)
    for name in ("pca", "ica"):
        codes = make(name, big, random_state=0, num_fit=500)(x)
        assert codes.shape == (50, 10) and np.isfinite(codes).all()  # what they compute: test_sanity_representations.py


def test_cli_prints_sanity_table(capsys):
    rc = main(["evaluate", "--representation", "ground_truth", "--metrics", "mig,factor_vae", "--preset", "quick"])
    out = capsys.readouterr().out
    assert rc == 0 and "ground_truth" in out and "factor_vae" in out and "quick" in out
    assert main(["evaluate", "--metrics", "mig"]) == 2
    assert "give one of RUN_DIR, --representation or --encoder" in capsys.readouterr().err


def test_fid_and_kid_come_from_one_fid_call(ds, monkeypatch):
    import disbench.metrics.fid as fid_module

    calls = []

    def fake_fid(dataset, sample, *, feature, random_state, device, num_real, num_fake):
        calls.append((feature, num_real, sample(3).shape))
        return {"score": 12.5, "kid_mean": 0.25, "kid_std": 0.01, "feature": feature}

    monkeypatch.setattr(fid_module, "fid", fake_fid)
    r = evaluate(ds, CountingEncoder(), ["fid", "kid"], sample=lambda n: np.zeros((n, 1, 1, 4), np.float32),
                 preset="quick")
    assert r["fid"] == 12.5 and r["kid"] == 0.25 and r["fid.kid_std"] == 0.01
    assert calls == [("factor_net", 2_000, (3, 1, 1, 4))]


def test_field_metrics_by_name_with_provenance_and_the_classifier_named(ds):
    small = {"irs": {"num_train": 400}, "unsupervised": {"num_train": 400}, "infomec": {"num_train": 400},
             "dci_es": {"num_train": 150, "num_test": 60, "depths": (1, 3)}, **TINY}
    names = ["irs", "unsupervised", "infomec", "dci_es", "beta_vae", "modularity"]
    r = evaluate(ds, FactorCodes(ds), names, settings={k: small[k] for k in names}, classifier="study", n_jobs=1)
    for name in names:
        assert np.isfinite(r[name]), name
    assert r["irs"] == pytest.approx(1.0, abs=0.02) and r["dci_es.size"] == 1.0
    assert r["dci_es.variant"] == "paper" and r["dci_es"] == r["dci_es.explicitness_paper"]  # the JSON names it
    assert r["metric_settings"]["dci_es"]["variant"] == "paper"
    assert r["beta_vae.classifier"] == r["modularity.classifier"] == "study"
    assert r["metric_settings"]["beta_vae"]["classifier"] == "study"
    assert r["dataset.source"] == "procedural" and r["dataset.name"] == "tiny"
    assert r["codes.cache"] == "on" and r["env.scikit_learn"].count(".") >= 1
    with pytest.raises(InvalidInputError, match="several trained runs"):
        evaluate(ds, FactorCodes(ds), ["udr"])
    with pytest.raises(UnknownNameError, match="classifier"):
        evaluate(ds, FactorCodes(ds), ["mig"], classifier="newest")
