"""Every disentanglement metric on a dataset object with disentanglement_lib's interface only."""

import numpy as np
import pytest

from disbench.errors import InvalidInputError
from disbench.metrics import (
    CodeCache,
    beta_vae_score,
    dci,
    dci_es,
    factor_vae_score,
    infomec,
    irs,
    mig,
    modularity_explicitness,
    sap_score,
    unsupervised,
)
from disbench.metrics.udr import udr


class MinimalGroundTruth:
    """disentanglement_lib's GroundTruthData interface and nothing else: it draws with the
    legacy RandomState methods (randint, normal), and its observations are (N, H, W, C)."""

    def __init__(self, sizes=(3, 4, 5)):
        self._sizes = sizes

    @property
    def num_factors(self):
        return len(self._sizes)

    @property
    def factors_num_values(self):
        return list(self._sizes)

    @property
    def observation_shape(self):
        return [1, 1, len(self._sizes)]

    def sample_factors(self, num, random_state):
        return np.stack([random_state.randint(s, size=num) for s in self._sizes], axis=1)

    def sample_observations_from_factors(self, factors, random_state):
        scaled = factors / (np.array(self._sizes) - 1.0)
        return (scaled + random_state.normal(0, 0.02, scaled.shape))[:, None, None, :]


def encode(x):
    return x.reshape(len(x), -1) @ np.array([[1.0, 0.0, 0.0, 0.1], [0.0, 1.0, 0.0, 0.1], [0.0, 0.0, 1.0, 0.0]])


RUNS = {
    "beta_vae": lambda d: beta_vae_score(d, encode, batch_size=8, num_train=80, num_eval=40),
    "factor_vae": lambda d: factor_vae_score(d, encode, batch_size=8, num_train=80, num_eval=40,
                                             num_variance_estimate=200),
    "mig": lambda d: mig(d, encode, num_train=400),
    "dci": lambda d: dci(d, encode, num_train=200, num_test=100, n_jobs=1),
    "sap": lambda d: sap_score(d, encode, num_train=200, num_test=100, n_jobs=1),
    "modularity": lambda d: modularity_explicitness(d, encode, num_train=200, num_test=100, n_jobs=1),
    "irs": lambda d: irs(d, encode, num_train=400),
    "unsupervised": lambda d: unsupervised(d, encode, num_train=400),
    "infomec": lambda d: infomec(d, encode, num_train=400),
    "dci_es": lambda d: dci_es(d, encode, num_train=200, num_test=100, depths=(1, 2, 3), n_jobs=1),
}


@pytest.mark.parametrize("name", list(RUNS))
def test_every_metric_runs_on_a_minimal_ground_truth_object(name):
    out = RUNS[name](MinimalGroundTruth())
    assert np.isfinite(out["score"])
    # the codes are the factors plus a little noise (and a mixed fourth code)
    if name in ("beta_vae", "factor_vae", "dci", "irs", "infomec", "modularity"):
        assert out["score"] > 0.6, out["score"]
    again = RUNS[name](MinimalGroundTruth())
    assert again["score"] == out["score"]  # the seeded legacy RandomState makes it reproducible


def test_udr_runs_on_a_minimal_ground_truth_object():
    out = udr(MinimalGroundTruth(), [encode, lambda x: encode(x)[:, [1, 0, 2, 3]]], num_points=200)
    assert out["informative"] == ["all", "all"] and out["model_scores"][0] == pytest.approx(out["model_scores"][1])


def test_the_code_cache_is_off_and_says_why():
    cache = CodeCache(MinimalGroundTruth(), encode)
    cache.sample(50, 0)
    assert not cache.cached and cache.cache_status.startswith("off: dataset MinimalGroundTruth has no index_of")
    assert cache.num_encoded == 50


def test_an_object_lacking_the_interface_is_refused():
    class NoFactors:
        observation_shape = (1, 1, 1)

    with pytest.raises(InvalidInputError, match="lacks num_factors"):
        mig(NoFactors(), encode)


def test_evaluate_says_the_cache_is_off_and_where_the_data_came_from():
    from disbench.metrics import evaluate

    r = evaluate(MinimalGroundTruth(), encode, ["mig", "irs"], settings={"mig": {"num_train": 300},
                                                                          "irs": {"num_train": 300}})
    assert r["codes.cached"] is False and r["codes.cache"].startswith("off: dataset MinimalGroundTruth")
    assert r["dataset.source"] == "object" and r["dataset.class"].endswith("MinimalGroundTruth")
    assert r["codes.num_encoded"] == 600  # nothing cached: both metrics' points encoded
