"""disbench.metrics.gbt against scikit-learn's GradientBoostingClassifier (the DCI reference)."""

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.tree import DecisionTreeRegressor

from disbench.errors import InvalidInputError
from disbench.metrics.gbt import EPSILON, FEATURE_THRESHOLD, GradientBoostedTrees, _grow_trees


def _data(n, d, k, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    y = (rng.integers(0, k, n) + (x[:, 0] > 0.3)) % k
    return x, y, rng.normal(size=(200, d))


def _heap_nodes(tree) -> dict:
    """Heap-indexed (feature, threshold) of the split nodes of a fitted scikit-learn ``tree_``."""
    nodes = {}

    def walk(i, h):
        if tree.children_left[i] != -1:
            nodes[h] = (int(tree.feature[i]), float(tree.threshold[i]))
            walk(tree.children_left[i], 2 * h + 1)
            walk(tree.children_right[i], 2 * h + 2)

    walk(0, 0)
    return nodes


def _sklearn_trees(model):
    """Heap-indexed (feature, threshold) of each tree of a fitted GradientBoostingClassifier."""
    return [_heap_nodes(est.tree_) for stage in model.estimators_ for est in stage]


@pytest.mark.parametrize("seed", range(6))
def test_depth_3_trees_and_importances_equal_sklearn_on_continuous_targets(seed):
    # the regression trees of a boosting stage at DCI's depth, on continuous targets (no
    # two candidate splits score exactly the same): every node's feature and threshold,
    # and the importances, must be scikit-learn's (DecisionTreeRegressor, squared error =
    # the boosting trees' friedman_mse ordering). Deeper, nodes of 2-3 samples tie again
    # (two features that cut off the same sample), so depth 5 is not exact.
    rng = np.random.default_rng(seed)
    depth = 3
    n, d, t, nodes = 500, 6, 3, 2 ** (depth + 1) - 1
    x = rng.normal(size=(n, d)).astype(np.float32)
    grad = rng.normal(size=(t, n)) + np.sin(3 * x[:, 0])[None]
    order = np.ascontiguousarray(np.argsort(x, axis=0, kind="stable").T.astype(np.int64))
    priority = rng.random((t, nodes, d)).argsort(2)
    feature, threshold, _, importance = _grow_trees(x, order, grad, priority, depth, nodes, FEATURE_THRESHOLD, EPSILON)
    for k in range(t):
        ref = DecisionTreeRegressor(max_depth=depth, random_state=seed).fit(x, grad[k])
        ours = {h: (int(feature[k, h]), float(threshold[k, h])) for h in range(nodes) if feature[k, h] >= 0}
        assert ours == _heap_nodes(ref.tree_)
        np.testing.assert_allclose(importance[k] / importance[k].sum(), ref.feature_importances_, rtol=0, atol=1e-14)


@pytest.mark.parametrize("n, d, k, depth", [(300, 1, 3, 1), (400, 4, 4, 1), (400, 4, 2, 1), (800, 10, 7, 1)])
def test_same_trees_importances_and_scores_as_sklearn_without_ties(n, d, k, depth):
    # stumps on large nodes meet no exactly tied splits, so every tree must be the same.
    # (Deeper, small nodes do tie: with two-valued stage-0 gradients, isolating one sample
    # at either end of a feature scores the same, and float rounding picks one.)
    x, y, x_test = _data(n, d, k, seed=n + d + k)
    ref = GradientBoostingClassifier(max_depth=depth, random_state=0).fit(x, y)
    ours = GradientBoostedTrees(max_depth=depth).fit(x, y)
    ours_trees = [{h: (int(f[h]), float(thr[h])) for h in range(len(f)) if f[h] >= 0}
                  for fs, ts in zip(ours._feature, ours._threshold) for f, thr in zip(fs, ts)]
    assert ours_trees == _sklearn_trees(ref)
    np.testing.assert_allclose(ours.feature_importances_, ref.feature_importances_, atol=1e-12)
    np.testing.assert_allclose(ours.decision_function(x_test), ref.decision_function(x_test).reshape(200, -1),
                               atol=1e-10)
    np.testing.assert_array_equal(ours.predict(x_test), ref.predict(x_test))


def test_default_depth_matches_sklearn_within_its_own_tie_breaking_spread():
    # the classifier's stage-0 gradients take two values (y - prior), so depth-3 trees meet
    # exact ties in small nodes, which each implementation breaks its own way (scikit-learn:
    # random feature order and rounding); the fits then differ about as much as
    # scikit-learn's own fits under different seeds. Measured on this case (numpy 2.4,
    # scikit-learn 1.9): importances 0.0095 from scikit-learn's mean (its own seeds spread
    # 0.0060), training accuracy 0.0042 (its seeds' range 0.0053), held-out agreement with
    # seed 0 0.745 against 0.780 between two scikit-learn seeds; the bounds are those
    # figures with about 25% room.
    x, y, x_test = _data(1500, 6, 6, seed=3)
    refs = [GradientBoostingClassifier(random_state=s).fit(x, y) for s in range(3)]
    ours = GradientBoostedTrees(random_state=0).fit(x, y)
    imp = np.stack([r.feature_importances_ for r in refs])
    np.testing.assert_allclose(ours.feature_importances_, imp.mean(0), atol=0.012)
    train_acc = [np.mean(r.predict(x) == y) for r in refs]
    assert abs(np.mean(ours.predict(x) == y) - np.mean(train_acc)) <= 0.0055
    sk_agree = np.mean(refs[1].predict(x_test) == refs[0].predict(x_test))
    assert np.mean(ours.predict(x_test) == refs[0].predict(x_test)) >= sk_agree - 0.045


def test_labels_of_any_type_and_reproducible():
    x, y, x_test = _data(200, 3, 3, seed=5)
    labels = np.array(["a", "b", "c"])[y]
    a = GradientBoostedTrees(n_estimators=20, random_state=1).fit(x, labels)
    b = GradientBoostedTrees(n_estimators=20, random_state=1).fit(x, labels)
    assert set(a.predict(x_test)) <= set(labels)
    np.testing.assert_array_equal(a.feature_importances_, b.feature_importances_)
    assert a.feature_importances_.sum() == pytest.approx(1.0)


def test_constant_features_give_zero_importances():
    x = np.ones((50, 3))
    y = np.arange(50) % 2
    model = GradientBoostedTrees(n_estimators=5).fit(x, y)
    np.testing.assert_array_equal(model.feature_importances_, np.zeros(3))
    assert len(set(model.predict(x))) == 1


@pytest.mark.parametrize("x, y", [(np.zeros((10, 2)), np.zeros(10)),  # one class
                                  (np.zeros((10, 2)), np.arange(9) % 2),  # length mismatch
                                  (np.full((4, 2), np.nan), np.arange(4) % 2)])
def test_bad_input_raises(x, y):
    with pytest.raises(InvalidInputError):
        GradientBoostedTrees().fit(x, y)
