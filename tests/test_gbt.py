"""disbench.metrics.gbt against scikit-learn's GradientBoostingClassifier (the DCI reference)."""

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingClassifier

from disbench.errors import InvalidInputError
from disbench.metrics.gbt import GradientBoostedTrees


def _data(n, d, k, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    y = (rng.integers(0, k, n) + (x[:, 0] > 0.3)) % k
    return x, y, rng.normal(size=(200, d))


def _sklearn_trees(model):
    """Heap-indexed (feature, threshold) of each tree of a fitted GradientBoostingClassifier."""
    out = []
    for stage in model.estimators_:
        for est in stage:
            tree, nodes = est.tree_, {}

            def walk(i, h, tree=tree, nodes=nodes):
                if tree.children_left[i] != -1:
                    nodes[h] = (int(tree.feature[i]), float(tree.threshold[i]))
                    walk(tree.children_left[i], 2 * h + 1)
                    walk(tree.children_right[i], 2 * h + 2)

            walk(0, 0)
            out.append(nodes)
    return out


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
    # depth-3 trees meet exact ties in small nodes, which each implementation breaks its own
    # way (scikit-learn: random feature order and rounding); the fits then differ about as
    # much as scikit-learn's own fits under different seeds
    x, y, x_test = _data(1500, 6, 6, seed=3)
    refs = [GradientBoostingClassifier(random_state=s).fit(x, y) for s in range(3)]
    ours = GradientBoostedTrees(random_state=0).fit(x, y)
    imp = np.stack([r.feature_importances_ for r in refs])
    np.testing.assert_allclose(ours.feature_importances_, imp.mean(0), atol=0.02)
    train_acc = [np.mean(r.predict(x) == y) for r in refs]
    assert abs(np.mean(ours.predict(x) == y) - np.mean(train_acc)) <= 0.015
    # on held-out points these noisy labels leave room to disagree: as much as two sklearn fits
    sk_agree = np.mean(refs[1].predict(x_test) == refs[0].predict(x_test))
    assert np.mean(ours.predict(x_test) == refs[0].predict(x_test)) >= sk_agree - 0.05


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
