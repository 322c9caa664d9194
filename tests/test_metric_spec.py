"""Metric declarations (disbench.metrics.spec) and the preset table built from them."""

import pytest

from disbench.metrics.evaluate import (
    ALL_METRICS,
    GROUP_METRICS,
    METRICS,
    PRESETS,
    SAMPLE_METRICS,
    SPECS,
    default_metrics,
)
from disbench.metrics.spec import metric

# disentanglement_lib, config/unsupervised_study_v1/metric_configs/*.gin (Locatello et al. 2019)
UNSUPERVISED_STUDY_V1 = {
    "beta_vae": {"batch_size": 64, "num_train": 10_000, "num_eval": 5_000},
    "factor_vae": {"batch_size": 64, "num_train": 10_000, "num_eval": 5_000, "num_variance_estimate": 10_000,
                   "prune_threshold": 0.05},
    "mig": {"num_train": 10_000, "num_bins": 20},
    "dci": {"num_train": 10_000, "num_test": 5_000},
    "sap": {"num_train": 10_000, "num_test": 5_000},
    "modularity": {"num_train": 10_000, "num_test": 5_000, "num_bins": 20},
}


def test_default_preset_is_unsupervised_study_v1_and_fid_uses_10k_images():
    for name, settings in UNSUPERVISED_STUDY_V1.items():
        # the logistic regressions are today's scikit-learn default unless classifier="study"
        # (the study's own, liblinear one-vs-rest) is asked for
        extra = {"classifier": "current"} if name in ("beta_vae", "modularity") else {}
        assert PRESETS["default"][name] == {**settings, **extra}
    # Heusel et al. 2017 Sec. 4: 10,000 real and 10,000 generated images
    assert PRESETS["default"]["fid"] == PRESETS["default"]["fid_inception"] == {"num_real": 10_000, "num_fake": 10_000}


def test_quick_preset_shrinks_only_the_sample_sizes():
    quick = PRESETS["quick"]
    assert quick["beta_vae"] == {"batch_size": 64, "num_train": 250, "num_eval": 125, "classifier": "current"}
    assert quick["factor_vae"]["num_variance_estimate"] == 1_000 and quick["factor_vae"]["prune_threshold"] == 0.05
    # MIG, modularity and the other plug-in MI / quantile scores keep their default sizes
    for name in ("mig", "modularity", "irs", "unsupervised", "infomec", "udr"):
        assert quick[name] == PRESETS["default"][name]
    assert quick["dci"] == quick["sap"] == {"num_train": 2_500, "num_test": 1_000}
    assert quick["fid"] == {"num_real": 2_000, "num_fake": 2_000}
    for name in UNSUPERVISED_STUDY_V1:  # same keys: the estimator's other settings stay
        assert quick[name].keys() == PRESETS["default"][name].keys()


def test_downstream_and_fairness_defaults_are_the_reference_configs():
    # config/{unsupervised,fairness}_study_v1/metric_configs/downstream_task_*.gin and fairness.gin
    for name in ("downstream_lr", "downstream_gbt"):
        assert PRESETS["default"][name] == {"num_train": (10, 100, 1000, 10_000), "num_test": 5_000}
        assert PRESETS["quick"][name] == {"num_train": (10, 100, 1000), "num_test": 1_000}
    assert PRESETS["default"]["fairness"] == {"num_train": 10_000, "num_test_points_per_class": 100}
    # no study config in the reference: its test config's removal count, the downstream sizes
    assert PRESETS["default"]["reduced_downstream"] == {"num_train": (10_000,), "num_test": 5_000,
                                                        "num_factors_to_remove": 1}
    assert PRESETS["default"]["strong_downstream"] == {"num_train": (10_000,), "num_test": 5_000, "n_experiment": 10}
    for name in ("downstream_lr", "downstream_gbt", "reduced_downstream", "strong_downstream", "fairness", "unified"):
        assert not SPECS[name].by_default and SPECS[name].runtime == {"random_state", "n_jobs"}


def test_registry_order_and_kinds():
    assert list(METRICS) == ["beta_vae", "factor_vae", "mig", "dci", "sap", "modularity", "irs", "unsupervised",
                             "dci_es", "infomec", "downstream_lr", "downstream_gbt", "reduced_downstream",
                             "strong_downstream", "fairness", "unified"]
    assert SAMPLE_METRICS == ("fid", "kid", "fid_inception")
    assert GROUP_METRICS == ("udr",)
    assert ALL_METRICS == (*METRICS, *SAMPLE_METRICS, *GROUP_METRICS)
    # the default set stays disentanglement_lib's six: the others run when named
    assert default_metrics() == list(UNSUPERVISED_STUDY_V1) and default_metrics(sample=print)[-1] == "fid"
    assert SPECS["dci"].runtime == {"random_state", "n_jobs"} and SPECS["fid"].runtime == {"random_state", "device"}


def test_decorator_reads_the_defaults_from_the_signature():
    @metric("toy", quick={"num_train": 5})
    def toy(dataset, encode, *, random_state=0, num_train: int = 100, num_bins: int = 20, n_jobs=None,
            device=None) -> dict:
        return {"score": 0.0}

    spec = toy.metric_spec
    assert spec.presets == {"default": {"num_train": 100, "num_bins": 20}, "quick": {"num_train": 5, "num_bins": 20}}
    assert spec.runtime == {"random_state", "n_jobs", "device"} and spec.inputs == "codes"
    assert spec.function is toy and not spec.open_settings


def test_decorator_rejects_what_is_not_a_setting():
    with pytest.raises(TypeError, match="num_tests"):
        metric("toy", quick={"num_tests": 5})(lambda dataset, encode, *, num_test=1: {})
    with pytest.raises(TypeError, match="random_state"):  # runtime keywords are not settings
        metric("toy", quick={"random_state": 1})(lambda dataset, encode, *, random_state=0: {})
    with pytest.raises(TypeError, match="inputs"):
        metric("toy", quick={}, inputs="images")
