"""disbench's pure metric functions against disentanglement_lib's outputs on the same arrays.

The fixture ``tests/fixtures/golden/disentanglement_lib.npz`` was made once, outside this
repository, by running disentanglement_lib's own metric functions on fixed arrays (see
``tests/fixtures/README.md``: reference commit, environment, what each entry is). Nothing
of the reference is imported here.
"""

from pathlib import Path

import numpy as np
import pytest

from disbench.metrics import (
    dci_from_importance,
    irs_from_codes,
    mig_from_codes,
    modularity_explicitness_from_codes,
    sap_from_codes,
    sap_from_score_matrix,
    udr_from_codes,
    unsupervised_from_codes,
)
from disbench.metrics.utils import entropy, histogram_discretize, mutual_information

TOL = 1e-9
N_TRAIN = 600
G = dict(np.load(Path(__file__).parent / "fixtures" / "golden" / "disentanglement_lib.npz"))
TRAIN = G["codes"][:N_TRAIN], G["factors"][:N_TRAIN]
TEST = G["codes"][N_TRAIN:], G["factors"][N_TRAIN:]


def close(got, want):
    np.testing.assert_allclose(np.asarray(got, dtype=float), want, rtol=0, atol=TOL)


def test_mig():
    codes, factors = TRAIN
    close(mutual_information(histogram_discretize(codes, 20), factors), G["mig_mi"])
    close(entropy(factors), G["mig_entropy"])
    out = mig_from_codes(codes, factors)
    close(out["mutual_information"], G["mig_mi"])
    close(out["score"], G["mig_score"])


def test_sap():
    close(sap_from_score_matrix(G["sap_matrix"])["score"], G["sap_score"])
    out = sap_from_codes(*TRAIN, *TEST, n_jobs=1)
    close(out["score_matrix"], G["sap_matrix"])
    close(out["score"], G["sap_score"])


def test_modularity_and_explicitness():
    out = modularity_explicitness_from_codes(*TRAIN, *TEST, n_jobs=1, classifier="current")
    close(out["modularity"], G["modularity"])
    close(out["explicitness_train"], G["explicitness_train"])
    close(out["explicitness_test"], G["explicitness_test"])


def test_dci_from_importance():
    out = dci_from_importance(G["importance"])
    close(out["disentanglement"], G["dci_disentanglement"])
    close(out["completeness"], G["dci_completeness"])
    close(out["disentanglement_per_code"], G["dci_disentanglement_per_code"])
    close(out["completeness_per_factor"], G["dci_completeness_per_factor"])


def test_irs():
    out = irs_from_codes(*TRAIN)
    close(out["score"], G["irs_score"])
    close(out["irs_matrix"], G["irs_matrix"])
    close(out["max_deviations"], G["irs_max_deviations"])
    close(irs_from_codes(*TRAIN, diff_quantile=1.0)["score"], G["irs_score_q1"])


def test_unsupervised_scores():
    out = unsupervised_from_codes(TRAIN[0])
    for key in ("gaussian_total_correlation", "gaussian_wasserstein_correlation",
                "gaussian_wasserstein_correlation_norm", "mutual_info_score"):
        close(out[key], G["unsupervised_" + key])


@pytest.mark.parametrize("correlation", ["lasso", "spearman"])
def test_udr(correlation):
    out = udr_from_codes(list(G["udr_codes"]), list(G["udr_kl"]), correlation=correlation)
    close(out["pairwise"], G[f"udr_{correlation}_pairwise"])
    close(out["model_scores"], G[f"udr_{correlation}_model_scores"])
