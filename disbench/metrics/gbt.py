"""Gradient-boosted trees for classification: the estimator behind DCI, compiled with numba.

DCI as disentanglement_lib computes it takes its importance matrix from scikit-learn's
``GradientBoostingClassifier()`` with default settings, which fits one tree per class and
stage, node by node, sorting the node's samples for every feature. :class:`GradientBoostedTrees`
is the same estimator — Friedman (2001), "Greedy Function Approximation: A Gradient
Boosting Machine", Algorithm 6 (K-class logistic gradient boosting), with scikit-learn's
conventions — grown level by level from one presorted order per feature (no sorting inside
the boosting loop) and with the trees of a stage grown in parallel:

* log-loss; initial raw scores from the class priors (log-odds for two classes, centred
  log-probabilities for more); 100 stages, learning rate 0.1;
* each stage fits one regression tree per class (one in all for two classes) to the
  negative gradient ``y_k - p_k``: depth 3, exhaustive ("best") splits over every feature,
  squared-error criterion (proxy ``S_L^2/n_L + S_R^2/n_R``), a split only between two
  values of the node more than 1e-7 apart, threshold at their midpoint, a node split only
  when it holds >= 2 samples and its impurity exceeds machine epsilon;
* leaf values by one Newton step, ``sum(y - p) / sum(p (1 - p))``, times ``(K - 1) / K``
  for K > 2 classes (Algorithm 6, line 7; scikit-learn keeps that factor);
* features are float32 (scikit-learn casts them so), sums float64;
* ``feature_importances_``: per tree, each split's weighted impurity decrease
  ``n_t i_t - n_L i_L - n_R i_R`` added to its feature and divided by the sample count;
  averaged over the trees that split at all, normalised to sum 1 (scikit-learn's
  definition, the "Gini importance").

Exactly tied splits on different features (duplicated or integer-valued codes, small
nodes where several features isolate the same samples) go to the feature first in a random
per-node order, as in scikit-learn, which visits the features of each node in a random
order — a fixed order would favour low feature indices in the importances. The random
streams differ, so on ties the two pick different but equally good splits; without ties
trees, importances and predictions agree with scikit-learn to float rounding
(``tests/test_gbt.py``: whole classifiers of stumps; depth-3 trees on continuous targets,
every node and the importances to 1e-14).
"""

from __future__ import annotations

import numba
import numpy as np

from disbench.errors import InvalidInputError
from disbench.rng import as_generator

FEATURE_THRESHOLD = 1e-7  # values of a node closer than this are not split apart (scikit-learn)
EPSILON = float(np.finfo(np.float64).eps)  # a node with impurity <= EPSILON is a leaf


class GradientBoostedTrees:
    """Gradient-boosted regression trees for classification (see the module docstring).

    Args:
        n_estimators: boosting stages (scikit-learn's default 100).
        learning_rate: shrinkage of each stage (0.1).
        max_depth: depth of each regression tree (3).
        random_state: seed (int or Generator) for the order in which exactly tied splits on
            different features are preferred, one random feature order per node, as
            scikit-learn draws one (any seed gives an equally valid fit).
        n_jobs: threads growing the trees of a stage (default: numba's, all usable cores).

    Attributes (after :meth:`fit`):
        classes_: the sorted class labels ``(K,)``.
        feature_importances_: float64 ``(num_features,)`` summing to 1 (zeros if no tree split).

    Raises:
        InvalidInputError: non-positive settings.
    """

    def __init__(self, n_estimators: int = 100, learning_rate: float = 0.1, max_depth: int = 3,
                 random_state=0, n_jobs: int | None = None):
        if n_estimators < 1 or not learning_rate > 0 or not 1 <= max_depth <= 20:
            raise InvalidInputError("gradient boosting needs n_estimators >= 1, learning_rate > 0, 1 <= max_depth <= 20")
        self.n_estimators = int(n_estimators)
        self.learning_rate = float(learning_rate)
        self.max_depth = int(max_depth)
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, x, y) -> GradientBoostedTrees:
        """Fit on features ``x`` float ``(N, D)`` (cast to float32) and labels ``y`` ``(N,)``.

        Raises:
            InvalidInputError: shapes disagree, N < 2, non-finite features, fewer than 2 classes.
        """
        x = np.ascontiguousarray(x, dtype=np.float32)
        y = np.asarray(y)
        if x.ndim != 2 or y.ndim != 1 or len(x) != len(y) or len(x) < 2 or x.shape[1] < 1:
            raise InvalidInputError(f"gradient boosting needs x (N, D) and y (N,) with N >= 2; got {x.shape}, {y.shape}")
        if not np.isfinite(x).all():
            raise InvalidInputError("gradient boosting: features contain NaN or inf")
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        k = len(self.classes_)
        if k < 2:
            raise InvalidInputError(f"gradient boosting needs at least 2 classes, got {k}")
        n, d = x.shape
        onehot = np.zeros((n, k))
        onehot[np.arange(n), y_enc.reshape(-1)] = 1.0
        prior = np.clip(onehot.mean(0), EPSILON, 1 - EPSILON)
        if k == 2:  # one tree per stage on the log-odds of the second class
            self._init = np.log(prior[1:] / (1 - prior[1:]))
            target = onehot[:, 1:]
        else:
            self._init = np.log(prior) - np.log(prior).mean()
            target = onehot
        scale = (k - 1) / k if k > 2 else 1.0
        num_nodes = 2 ** (self.max_depth + 1) - 1
        order = np.ascontiguousarray(np.argsort(x, axis=0, kind="stable").T.astype(np.int64))  # (D, N)
        raw = np.tile(self._init, (n, 1))
        rng = as_generator(self.random_state)
        features, thresholds, values = [], [], []
        importance_sum = np.zeros(d)
        relevant = 0
        old_threads = numba.get_num_threads()
        if self.n_jobs:
            numba.set_num_threads(max(1, min(int(self.n_jobs), numba.config.NUMBA_NUM_THREADS)))
        try:
            for _ in range(self.n_estimators):
                prob = _expit(raw) if k == 2 else _softmax(raw)
                grad = np.ascontiguousarray(target - prob)  # negative gradient (N, T)
                priority = rng.random((grad.shape[1], num_nodes, d)).argsort(2)  # a random permutation
                feature, threshold, leaf, importance = _grow_trees(
                    x, order, np.ascontiguousarray(grad.T), priority, self.max_depth, num_nodes, FEATURE_THRESHOLD, EPSILON)
                value = _leaf_values(grad, prob * (1 - prob), leaf, num_nodes) * scale
                raw += self.learning_rate * np.take_along_axis(value, leaf, axis=1).T
                features.append(feature)
                thresholds.append(threshold)
                values.append(value)
                split = feature[:, 0] >= 0
                relevant += int(split.sum())
                importance_sum += importance[split].sum(0) / n
        finally:
            numba.set_num_threads(old_threads)
        self._feature = np.stack(features)  # (S, T, nodes), -1 at leaves
        self._threshold = np.stack(thresholds)
        self._value = np.stack(values)
        self.feature_importances_ = np.zeros(d)
        if relevant and importance_sum.sum() > 0:
            avg = importance_sum / relevant
            self.feature_importances_ = avg / avg.sum()
        return self

    def decision_function(self, x) -> np.ndarray:
        """Raw scores float64 ``(N, T)`` (T = 1, the log-odds, for two classes; else K)."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        d = len(self.feature_importances_)
        if x.ndim != 2 or x.shape[1] != d:
            raise InvalidInputError(f"expected features of shape (N, {d}), got {x.shape}")
        raw = np.tile(self._init, (len(x), 1))
        return raw + self.learning_rate * _tree_sum(x, self._feature, self._threshold, self._value, self.max_depth)

    def predict(self, x) -> np.ndarray:
        """Class labels ``(N,)``: argmax of the raw scores (log-odds > 0 for two classes)."""
        raw = self.decision_function(x)
        enc = (raw[:, 0] > 0).astype(np.int64) if raw.shape[1] == 1 else raw.argmax(1)
        return self.classes_[enc]


def _expit(raw):
    return 1.0 / (1.0 + np.exp(-raw))


def _softmax(raw):
    e = np.exp(raw - raw.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _leaf_values(grad, hess, leaf, num_nodes):
    """Newton step per (tree, leaf): sum(grad) / sum(hess); 0 where the hessian vanishes."""
    t = grad.shape[1]
    index = (leaf + num_nodes * np.arange(t)[:, None]).ravel()  # leaf is (T, N)
    num = np.bincount(index, grad.T.ravel(), minlength=t * num_nodes).reshape(t, num_nodes)
    den = np.bincount(index, hess.T.ravel(), minlength=t * num_nodes).reshape(t, num_nodes)
    safe = np.abs(den) >= 1e-150
    return np.where(safe, num / np.where(safe, den, 1.0), 0.0)


@numba.njit(parallel=True, cache=True)
def _grow_trees(x, order, grad, priority, max_depth, num_nodes, feature_threshold, epsilon):  # pragma: no cover
    """One regression tree per row of ``grad`` (T, N) on ``x`` (N, D) float32.

    ``priority`` (T, nodes, D), a random permutation of the features per node, breaks exact
    ties: the lower priority wins (as the feature visited first in scikit-learn's random order).

    Nodes are in heap order (children of i: 2i+1, 2i+2). Returns ``feature`` (T, nodes)
    (-1 at leaves), ``threshold`` (T, nodes) float64, ``leaf`` (T, N) int64 (the leaf of
    each sample) and ``importance`` (T, D) (summed weighted impurity decreases).
    """
    n_trees, n = grad.shape
    d = x.shape[1]
    feature = np.full((n_trees, num_nodes), -1, dtype=np.int64)
    threshold = np.zeros((n_trees, num_nodes))
    leaf = np.zeros((n_trees, n), dtype=np.int64)
    importance = np.zeros((n_trees, d))
    for t in numba.prange(n_trees):
        g = grad[t]
        node = leaf[t]
        active = np.ones(n, dtype=np.bool_)
        for level in range(max_depth):
            m = 2**level
            first = m - 1
            count = np.zeros(m)
            s_sum = np.zeros(m)
            q_sum = np.zeros(m)
            for s in range(n):
                if active[s]:
                    j = node[s] - first
                    count[j] += 1.0
                    s_sum[j] += g[s]
                    q_sum[j] += g[s] * g[s]
            impurity = np.zeros(m)
            splittable = np.zeros(m, dtype=np.bool_)
            any_split = False
            for j in range(m):
                if count[j] > 0:
                    impurity[j] = q_sum[j] / count[j] - (s_sum[j] / count[j]) ** 2
                if count[j] >= 2 and impurity[j] > epsilon:
                    splittable[j] = True
                    any_split = True
            if not any_split:
                break
            best = np.full(m, -np.inf)
            best_f = np.full(m, -1, dtype=np.int64)
            best_thr = np.zeros(m)
            s_left = np.zeros(m)
            n_left = np.zeros(m)
            last = np.zeros(m)
            for f in range(d):
                s_left[:] = 0.0
                n_left[:] = 0.0
                for r in range(n):
                    s = order[f, r]
                    if not active[s]:
                        continue
                    j = node[s] - first
                    if not splittable[j]:
                        continue
                    v = np.float64(x[s, f])
                    if n_left[j] > 0.0 and v > last[j] + feature_threshold:
                        right = s_sum[j] - s_left[j]
                        proxy = s_left[j] * s_left[j] / n_left[j] + right * right / (count[j] - n_left[j])
                        if proxy > best[j] or (proxy == best[j] and priority[t, first + j, f] < priority[t, first + j, best_f[j]]):
                            best[j] = proxy
                            best_f[j] = f
                            thr = last[j] / 2.0 + v / 2.0
                            if thr == v or np.isinf(thr):
                                thr = last[j]
                            best_thr[j] = thr
                    s_left[j] += g[s]
                    n_left[j] += 1.0
                    last[j] = v
            # the children's statistics; a split whose impurity decrease is negative
            # beyond rounding is dropped (scikit-learn's min_impurity_decrease = 0 test)
            c_count = np.zeros(2 * m)
            c_sum = np.zeros(2 * m)
            c_q = np.zeros(2 * m)
            for s in range(n):
                if active[s]:
                    j = node[s] - first
                    if best_f[j] >= 0:
                        c = 2 * j + (1 if np.float64(x[s, best_f[j]]) > best_thr[j] else 0)
                        c_count[c] += 1.0
                        c_sum[c] += g[s]
                        c_q[c] += g[s] * g[s]
            for j in range(m):
                if best_f[j] < 0:
                    continue
                weighted = count[j] * impurity[j]
                for c in (2 * j, 2 * j + 1):
                    weighted -= c_count[c] * (c_q[c] / c_count[c] - (c_sum[c] / c_count[c]) ** 2)
                if weighted / n + epsilon < 0.0:
                    best_f[j] = -1
                    continue
                feature[t, first + j] = best_f[j]
                threshold[t, first + j] = best_thr[j]
                importance[t, best_f[j]] += weighted
            for s in range(n):  # partition: x <= threshold goes left; samples of leaves stop
                if active[s]:
                    j = node[s] - first
                    if best_f[j] < 0:
                        active[s] = False
                    else:
                        node[s] = 2 * node[s] + (2 if np.float64(x[s, best_f[j]]) > best_thr[j] else 1)
    return feature, threshold, leaf, importance


@numba.njit(parallel=True, cache=True)
def _tree_sum(x, feature, threshold, value, max_depth):  # pragma: no cover - compiled
    """Sum over stages of each tree's leaf value: ``(N, T)`` for ``x`` (N, D) float32."""
    n_stages, n_trees, _ = feature.shape
    n = x.shape[0]
    out = np.zeros((n, n_trees))
    for i in numba.prange(n):
        for s in range(n_stages):
            for t in range(n_trees):
                nd = 0
                for _ in range(max_depth):
                    f = feature[s, t, nd]
                    if f < 0:
                        break
                    nd = 2 * nd + (2 if np.float64(x[i, f]) > threshold[s, t, nd] else 1)
                out[i, t] += value[s, t, nd]
    return out
