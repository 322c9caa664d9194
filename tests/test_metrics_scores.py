"""The sampling layer on known representations: ground truth, a rotation of it, pure noise."""

import math

import numpy as np
import pytest
from metrics_helpers import FactorCodes, NoiseCodes, TinyDataset, random_rotation

from disbench.metrics import beta_vae_score, dci, factor_vae_score, mig, modularity_explicitness, sap_score

SMALL = {"batch_size": 16, "num_train": 300, "num_eval": 150}


@pytest.fixture(scope="module")
def ds():
    return TinyDataset((3, 4, 5, 6))


def test_ground_truth_scores_at_the_ceiling(ds):
    gt = FactorCodes(ds)
    assert beta_vae_score(ds, gt, **SMALL)["score"] > 0.97
    fv = factor_vae_score(ds, gt, **SMALL, num_variance_estimate=500)
    assert fv["score"] == 1.0 and fv["num_active_codes"] == 4
    assert mig(ds, gt, num_train=3000)["score"] > 0.95  # every factor <= 20 values: ceiling 1
    d = dci(ds, gt, num_train=400, num_test=200, n_jobs=1)
    assert d["score"] > 0.9 and d["completeness"] > 0.9 and d["informativeness"] > 0.95
    assert modularity_explicitness(ds, gt, num_train=1000, num_test=500, n_jobs=1)["score"] > 0.95


def test_mig_ceiling_for_20_bins_on_dsprites_factor_sizes():
    # dSprites sizes: shape 3 and scale 6 fit in 20 bins (ratio 1); orientation's 40 values
    # fall 2 per bin (log 20 / log 40); posX/posY's 32 values fall 2 per bin in 12 bins and
    # 1 per bin in 8 (equal-width bins of width 31/20).
    p32 = np.array([2] * 12 + [1] * 8) / 32
    h32 = -np.sum(p32 * np.log(p32))
    ceiling = np.mean([1, 1, math.log(20) / math.log(40), h32 / math.log(32), h32 / math.log(32)])
    ds = TinyDataset((3, 6, 40, 32, 32))
    out = mig(ds, FactorCodes(ds), num_train=10_000)
    assert out["score"] == pytest.approx(ceiling, abs=0.02)
    assert out["score"] <= ceiling + 1e-9


def test_rotated_ground_truth_scores_clearly_lower(ds):
    gt, rot = FactorCodes(ds), FactorCodes(ds, matrix=random_rotation(4, seed=1))
    assert factor_vae_score(ds, rot, **SMALL, num_variance_estimate=500)["score"] < 0.85
    assert mig(ds, rot, num_train=3000)["score"] < mig(ds, gt, num_train=3000)["score"] - 0.3
    assert dci(ds, rot, num_train=400, num_test=200, n_jobs=1)["score"] < 0.7
    assert sap_score(ds, rot, num_train=600, num_test=300, n_jobs=1)["score"] < \
        sap_score(ds, gt, num_train=600, num_test=300, n_jobs=1)["score"] - 0.1


def test_pure_noise_scores_at_chance(ds):
    noise = NoiseCodes(ds)
    k = ds.num_factors
    assert beta_vae_score(ds, noise, batch_size=16, num_train=1000, num_eval=1000)["score"] == \
        pytest.approx(1 / k, abs=0.06)
    assert factor_vae_score(ds, noise, batch_size=16, num_train=1000, num_eval=1000,
                            num_variance_estimate=500)["score"] == pytest.approx(1 / k, abs=0.08)
    assert mig(ds, noise, num_train=5000)["score"] < 0.03


def test_factor_vae_prunes_collapsed_codes_and_reports_them(ds):
    matrix = np.concatenate([np.eye(4), np.zeros((4, 2))], axis=1)  # codes 4, 5 constant
    out = factor_vae_score(ds, FactorCodes(ds, matrix=matrix), **SMALL, num_variance_estimate=500)
    assert out["num_active_codes"] == 4 and out["code_to_factor"][4:] == [-1, -1]
    assert out["score"] == 1.0


def test_factor_vae_invariant_to_code_permutation_and_scaling(ds):
    a = factor_vae_score(ds, FactorCodes(ds, noise=0.3), **SMALL, num_variance_estimate=500)
    b = factor_vae_score(ds, _permuted(ds, [2, 0, 3, 1], [3.0, 0.5, 2.0, 7.0]), **SMALL, num_variance_estimate=500)
    assert a["score"] == pytest.approx(b["score"])
    assert a["train_accuracy"] == pytest.approx(b["train_accuracy"])


def _permuted(ds, perm, scale):
    base = FactorCodes(ds, noise=0.3)

    class Permuted:
        def encode_factors(self, factors):
            return base.encode_factors(factors)[:, perm] * scale

    return Permuted()


def test_same_seed_same_result_other_seed_differs(ds):
    rep = FactorCodes(ds, matrix=random_rotation(4, seed=2), noise=0.1)
    a = beta_vae_score(ds, rep, random_state=5, **SMALL)
    b = beta_vae_score(ds, rep, random_state=5, **SMALL)
    c = beta_vae_score(ds, rep, random_state=6, **SMALL)
    assert a == b and a != c


def test_factor_vae_all_codes_collapsed_scores_zero_and_says_so(ds):
    out = factor_vae_score(ds, FactorCodes(ds, matrix=np.full((4, 3), 1e-3)), **SMALL, num_variance_estimate=500)
    assert out["score"] == 0.0 and out["num_active_codes"] == 0 and out["code_to_factor"] == [-1, -1, -1]
