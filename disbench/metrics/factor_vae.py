"""The FactorVAE metric (Kim & Mnih 2018, "Disentangling by Factorising", ICML 2018, Section 4).

Codes are normalised by their global standard deviation (estimated on
``num_variance_estimate`` random observations); codes whose global std is below
``prune_threshold`` are collapsed and pruned. One point: choose a factor ``k``, draw
``batch_size`` combinations sharing a value of ``k``, and take the (active) code with the
smallest normalised variance ``Var_batch(z_j) / Var_global(z_j)``; a majority-vote
classifier maps each code to the factor it most often wins for. The score is that
classifier's accuracy on a fresh evaluation set.

Defaults: disentanglement_lib ``unsupervised_study_v1`` (``factor_vae_score``): batch 64,
10,000 variance-estimate points, 10,000 training and 5,000 evaluation points, pruning
threshold 0.05 (``prune_dims.threshold``); variances use ``ddof=1`` as there.
"""

from __future__ import annotations

import numpy as np

from disbench.errors import InvalidInputError
from disbench.metrics.codes import CodeCache, cache_and_rng
from disbench.metrics.spec import metric
from disbench.metrics.utils import check_codes


def factor_vae_votes(global_variance, local_variances, labels, num_factors: int, active) -> np.ndarray:
    """Vote matrix ``(num_factors, num_codes)``: ``votes[k, j]`` counts points whose fixed
    factor is ``k`` and whose smallest normalised variance (over active codes) is code ``j``."""
    local = np.asarray(local_variances, dtype=np.float64)
    active_idx = np.flatnonzero(active)
    winner = active_idx[np.argmin(local[:, active_idx] / global_variance[active_idx], axis=1)]
    votes = np.zeros((num_factors, len(global_variance)), dtype=np.int64)
    np.add.at(votes, (np.asarray(labels, dtype=np.int64), winner), 1)
    return votes


def factor_vae_from_variances(global_variance, train_variances, train_labels, eval_variances, eval_labels,
                              num_factors: int, *, prune_threshold: float = 0.05) -> dict:
    """FactorVAE metric from code variances.

    Args:
        global_variance: float ``(num_codes,)`` variance of each code over random observations.
        train_variances, eval_variances: float ``(n, num_codes)`` per-point within-batch variances.
        train_labels, eval_labels: int ``(n,)`` fixed factor of each point.
        num_factors: number of ground-truth factors.
        prune_threshold: codes with global std below it are collapsed (Kim & Mnih 2018).

    Returns:
        ``{"score": eval accuracy, "train_accuracy", "eval_accuracy", "num_active_codes",
        "active_codes" (list of code indices), "code_to_factor" (majority vote per code,
        -1 for pruned codes)}``. With no active code both accuracies are 0 (as in
        disentanglement_lib) and ``num_active_codes`` is 0.
    """
    gvar = check_codes(np.asarray(global_variance)[None, :], name="global variance")[0]
    train = check_codes(train_variances, name="train variances")
    evals = check_codes(eval_variances, name="eval variances")
    if train.shape[1] != gvar.size or evals.shape[1] != gvar.size:
        raise InvalidInputError("FactorVAE metric: variances disagree in the number of codes")
    active = np.sqrt(gvar) >= prune_threshold
    if not active.any():
        return {"score": 0.0, "train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_codes": 0,
                "active_codes": [], "code_to_factor": [-1] * gvar.size}
    train_votes = factor_vae_votes(gvar, train, train_labels, num_factors, active)
    eval_votes = factor_vae_votes(gvar, evals, eval_labels, num_factors, active)
    classifier = np.argmax(train_votes, axis=0)  # majority vote: code -> factor
    cols = np.arange(gvar.size)
    train_acc = train_votes[classifier, cols].sum() / train_votes.sum()
    eval_acc = eval_votes[classifier, cols].sum() / eval_votes.sum()
    return {"score": float(eval_acc), "train_accuracy": float(train_acc), "eval_accuracy": float(eval_acc),
            "num_active_codes": int(active.sum()), "active_codes": np.flatnonzero(active).tolist(),
            "code_to_factor": np.where(active, classifier, -1).tolist()}


def _sample_variances(cache: CodeCache, num_points: int, batch_size: int, rng) -> tuple[np.ndarray, np.ndarray]:
    dataset = cache.dataset
    k = dataset.num_factors
    labels = rng.integers(0, k, size=num_points)
    factors = dataset.sample_factors(num_points * batch_size, rng).reshape(num_points, batch_size, k)
    rows = np.arange(num_points)
    factors[rows[:, None], np.arange(batch_size)[None, :], labels[:, None]] = factors[rows, 0, labels][:, None]
    out = []
    for sl in cache.chunks(num_points, batch_size):
        z = cache.codes(factors[sl].reshape(-1, k), rng).reshape(sl.stop - sl.start, batch_size, -1)
        out.append(z.var(axis=1, ddof=1))
    return np.concatenate(out), labels


@metric("factor_vae", quick={"num_train": 250, "num_eval": 125, "num_variance_estimate": 1_000})
def factor_vae_score(dataset, encode, *, random_state=0, batch_size: int = 64, num_train: int = 10_000,
                     num_eval: int = 5_000, num_variance_estimate: int = 10_000,
                     prune_threshold: float = 0.05) -> dict:
    """The FactorVAE metric of a representation on a ground-truth dataset.

    Args:
        dataset: a :class:`disbench.data.GroundTruthDataset`.
        encode: observations -> codes (see :mod:`disbench.metrics.codes`), or a :class:`CodeCache`.
        random_state: Generator or int seed.
        batch_size: combinations per point (64); num_train / num_eval (10,000 / 5,000);
        num_variance_estimate: points for the global variances (10,000); prune_threshold
            (0.05) — all ``unsupervised_study_v1``.

    Returns:
        See :func:`factor_vae_from_variances`.

    Raises:
        InvalidInputError: ``batch_size`` or ``num_variance_estimate`` below 2, other sizes
            below 1, or a bad encoder output.
    """
    if int(batch_size) < 2 or int(num_variance_estimate) < 2:
        raise InvalidInputError("FactorVAE metric: batch_size and num_variance_estimate must be at least 2 "
                                "(variances need two points)")
    if int(num_train) < 1 or int(num_eval) < 1:
        raise InvalidInputError("FactorVAE metric: num_train and num_eval must be positive")
    cache, rng = cache_and_rng(dataset, encode, random_state)
    z, _ = cache.sample(int(num_variance_estimate), rng)
    global_variance = z.var(axis=0, ddof=1)
    if not (np.sqrt(global_variance) >= prune_threshold).any():  # all collapsed: nothing to vote with
        return factor_vae_from_variances(global_variance, global_variance[None], [0], global_variance[None], [0],
                                         dataset.num_factors, prune_threshold=prune_threshold)
    train, y_train = _sample_variances(cache, int(num_train), int(batch_size), rng)
    evals, y_eval = _sample_variances(cache, int(num_eval), int(batch_size), rng)
    return factor_vae_from_variances(global_variance, train, y_train, evals, y_eval, dataset.num_factors,
                                     prune_threshold=prune_threshold)
