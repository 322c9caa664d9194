"""The downstream, reduced/strong downstream, unfairness and unified scores on representations whose
answer is known (hand-computed totals, disentangled vs entangled codes), their errors, and
their place in ``evaluate`` and on the board. Parity with disentanglement_lib:
``tests/test_dlib_scores_parity.py``."""

import numpy as np
import pytest
from metrics_helpers import FactorCodes, NoiseCodes, TinyDataset, random_rotation

from disbench.errors import InvalidInputError, UnknownNameError
from disbench.leaderboard import METRIC_LABELS, lower_is_better
from disbench.metrics import evaluate
from disbench.metrics.downstream import (
    check_split,
    downstream_gbt,
    downstream_lr,
    downstream_task_from_codes,
    fit_predictor,
)
from disbench.metrics.fairness import fairness, fairness_from_codes, fairness_scores, inter_group_fairness
from disbench.metrics.reduced_downstream import reduced_downstream, reduced_downstream_task_from_codes
from disbench.metrics.strong_downstream import intervene, strong_downstream, strong_downstream_task_from_codes
from disbench.metrics.unified import (
    pr_curve_values,
    precision_count,
    unified_from_matrix,
    unified_scores_from_codes,
)

DATA = TinyDataset((3, 4, 5))
SMALL = {"num_train": (60, 300), "num_test": 200}


def test_inter_group_fairness_by_hand():
    # predictions copy the sensitive class: P(ŷ | s=c) = one-hot c, pooled (1/2, 1/2): TV 1/2 each
    assert inter_group_fairness([[2, 0], [0, 2]]) == (0.5, 0.5)
    # the same distribution in every class: fair
    assert inter_group_fairness([[3, 6], [1, 2]]) == (0.0, 0.0)
    # classes of 4 and 2 points: pooled (4/6, 2/6); TVs |3/4 - 2/3| = 1/12 and |1/2 - 2/3| = 1/6
    mean, worst = inter_group_fairness([[3, 1], [1, 1]])
    assert mean == pytest.approx((4 * 1 / 12 + 2 * 1 / 6) / 6) and worst == pytest.approx(1 / 6)


def test_fairness_scores_reductions():
    m = np.array([[0.0, 0.1, 0.3], [0.2, 0.0, 0.4], [0.5, 0.6, 0.0]])
    out = fairness_scores(m, "f")
    assert out["f:pred0:mean_sens"] == pytest.approx(0.2) and out["f:sens2:max_pred"] == pytest.approx(0.4)
    assert out["f:mean_pred:mean_sens"] == pytest.approx((0.2 + 0.3 + 0.55) / 3)
    assert out["f:max_pred:max_sens"] == out["f:max_sens:max_pred"] == pytest.approx(0.6)
    assert out["f:mean_sens:mean_pred"] == pytest.approx(np.mean([0.35, 0.35, 0.35]))


def test_downstream_sampling_layer_perfect_and_noise_codes():
    perfect = downstream_gbt(DATA, FactorCodes(DATA), random_state=0, n_jobs=1, **SMALL)
    assert perfect["score"] == 1.0 == perfect["test_accuracy_300"]
    assert set(perfect["per_size"]) == {"60", "300"} and "sample_efficiency" not in perfect
    noise = downstream_lr(DATA, NoiseCodes(DATA), random_state=0, **SMALL)
    assert noise["score"] < 0.6  # chance is 1/3, 1/4, 1/5
    again = downstream_gbt(DATA, FactorCodes(DATA), random_state=0, n_jobs=1, **SMALL)
    assert again == perfect  # seeded


def test_single_class_factor_is_predicted_constant():
    x = np.arange(6.0).reshape(6, 1)
    y = np.stack([[0, 1, 0, 1, 0, 1], [2] * 6], axis=1)
    out = downstream_task_from_codes(x, y, x, np.stack([y[:, 0], [2, 2, 2, 1, 1, 1]], axis=1), n_jobs=1)
    assert out["single_class_factors"] == [1] and out["test_accuracy_per_factor"][1] == 0.5


def test_reduced_downstream_removes_the_factors_own_code():
    out = reduced_downstream(DATA, FactorCodes(DATA), random_state=0, n_jobs=1, num_train=(300,), num_test=200)
    per = out["per_size"]["300"]
    assert per["removed_codes"] == [[0], [1], [2]]  # identity codes: factor k lives in code k alone
    assert out["mean_test_accuracy_other_factors"] == 1.0  # the others keep their codes
    assert out["score"] < 0.6  # the removed factor is left to chance


def test_strong_downstream_disentangled_vs_entangled():
    dis = strong_downstream(DATA, FactorCodes(DATA), random_state=0, n_jobs=1, num_train=(300,), num_test=200,
                            n_experiment=2)
    assert dis["score"] == 1.0 and dis["strong_generalization_gap"] == 0.0
    mixed = FactorCodes(DATA, matrix=random_rotation(3, seed=1))
    ent = strong_downstream(DATA, mixed, random_state=0, n_jobs=1, num_train=(300,), num_test=200, n_experiment=2)
    assert ent["strong_generalization_gap"] > 0.05 and ent["score"] < dis["score"]


def test_fairness_sampling_layer():
    fair = fairness(DATA, FactorCodes(DATA), random_state=0, num_train=300, num_test_points_per_class=40, n_jobs=1)
    assert fair["score"] == 0.0  # perfect classifiers: the prediction is the target, whatever s is
    assert np.isnan(fair["mean_fairness"][0][0]) and len(fair["max_fairness"]) == 3
    # factors 0 and 1 summed into one code: the prediction of either moves with the other
    summed = FactorCodes(DATA, matrix=[[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    unfair = fairness(DATA, summed, random_state=0, num_train=300, num_test_points_per_class=40, n_jobs=1)
    m = np.array(unfair["mean_fairness"])
    assert min(m[0, 1], m[1, 0]) > 0.05 and m[2, 0] == m[2, 1] == 0.0  # factor 2 keeps its own code
    assert unfair["score"] > 0.03


def test_evaluate_flattens_and_the_board_knows_the_direction():
    out = evaluate(DATA, FactorCodes(DATA), ["downstream_gbt", "fairness"], n_jobs=1,
                   settings={"downstream_gbt": {"num_train": (50,), "num_test": 50},
                             "fairness": {"num_train": 100, "num_test_points_per_class": 10}})  # fmt: skip
    assert out["downstream_gbt"] == 1.0 and out["fairness"] == 0.0
    assert out["fairness.mean_fairness:mean_pred:mean_sens"] == 0.0
    for name in ("downstream_lr", "downstream_gbt", "reduced_downstream", "strong_downstream", "fairness"):
        assert name in METRIC_LABELS
    assert lower_is_better("fairness") and lower_is_better("reduced_downstream")
    assert not lower_is_better("downstream_gbt") and not lower_is_better("strong_downstream")


def test_errors():
    x, y = np.zeros((4, 2)), np.zeros((4, 2), dtype=int)
    with pytest.raises(UnknownNameError, match="predictor"):
        fit_predictor("svm", x, [0, 1, 0, 1])
    with pytest.raises(InvalidInputError, match="disagree"):
        check_split(x, y, np.zeros((4, 3)), y, "t")
    with pytest.raises(InvalidInputError, match="codes"):
        downstream_task_from_codes(np.full((4, 2), np.nan), y, x, y)
    with pytest.raises(InvalidInputError, match="num_train"):
        downstream_gbt(DATA, FactorCodes(DATA), num_train=(0,))
    with pytest.raises(InvalidInputError, match="empty column|at least one prediction"):
        inter_group_fairness([[1, 0], [2, 0]])
    with pytest.raises(InvalidInputError, match="non-negative"):
        inter_group_fairness([[-1, 0]])
    with pytest.raises(InvalidInputError, match="square"):
        fairness_scores(np.zeros((2, 3)), "m")
    with pytest.raises(InvalidInputError, match="no test rows"):
        fairness_from_codes(x, y, {}, lambda f: np.zeros((len(f), 2)), (2, 2))
    with pytest.raises(InvalidInputError, match="more than"):
        reduced_downstream_task_from_codes(x, y, x, y, num_factors_to_remove=2)
    with pytest.raises(InvalidInputError, match="at least 2 values"):
        intervene(y, y, 0, (2, 1))
    with pytest.raises(InvalidInputError, match="no intervention"):
        strong_downstream_task_from_codes(x, y, x, y, [])
    with pytest.raises(InvalidInputError, match="n_experiment"):
        strong_downstream(DATA, FactorCodes(DATA), n_experiment=0)


def test_unified_precision_and_aggregations_by_hand():
    eye = np.eye(2)
    assert precision_count(eye, 0.5) == 2 and precision_count([[1.0, 1.0], [0.0, 0.0]], 0.5) == 1
    assert precision_count([[0.2, 0.9], [0.0, 0.0]], 0.5) == 1  # the 0.2 edge is cut
    # thresholds 1, 1, 0, 0: two components down to 0 (zeros are never edges): area 2 x 1
    assert pr_curve_values(eye) == {"area_precision": 2.0, "max_precision": 2.0}
    factors = np.array([[0, 0], [1, 1], [0, 1], [1, 0]])  # each factor: entropy log 2
    out = unified_from_matrix(eye, factors)
    assert out["mig"] == pytest.approx(1 / np.log(2)) and out["sap"] == 1.0 and out["modularity"] == 1.0
    assert out["dci_disentanglement"] == pytest.approx(1.0) and out["dci"] == out["dci_disentanglement"]
    with pytest.raises(InvalidInputError):
        unified_from_matrix(np.full((2, 2), np.nan), factors)
    with pytest.raises(UnknownNameError, match="matrix"):
        unified_scores_from_codes(eye, factors[:2], eye, factors[:2], matrices=["pearson"])
