"""The β-VAE metric (Higgins et al. 2017, "β-VAE: Learning Basic Visual Concepts with a
Constrained Variational Framework", ICLR 2017, Section 3 and Appendix A.4).

One training point: choose a factor ``y`` uniformly, draw ``batch_size`` pairs of factor
combinations that share factor ``y`` (all other factors drawn independently), encode both
halves and average ``|z1 - z2|`` over the pairs; a linear classifier then predicts ``y``
from that feature. The score is its accuracy on a fresh evaluation set.

Defaults are disentanglement_lib's ``unsupervised_study_v1`` (``beta_vae_sklearn``):
batch 64, 10,000 training and 5,000 evaluation points, a scikit-learn
``LogisticRegression`` with its default settings — lbfgs multinomial today
(``classifier="current"``), liblinear one-vs-rest in the scikit-learn of the study
(``classifier="study"``; :data:`disbench.metrics.utils.CLASSIFIERS`). (The paper used batch
64 too, and a linear classifier trained with Adagrad.)
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from disbench.errors import InvalidInputError
from disbench.metrics.codes import CodeCache, cache_and_rng
from disbench.metrics.spec import metric
from disbench.metrics.utils import check_codes, logistic_regression, require_classes
from disbench.rng import as_generator


def beta_vae_features(codes1, codes2) -> np.ndarray:
    """The β-VAE metric feature: ``mean_b |z1_b - z2_b|`` (Higgins et al. 2017, Appendix A.4).

    Args:
        codes1, codes2: float ``(num_points, batch_size, num_codes)`` codes of the paired halves.

    Returns:
        float64 ``(num_points, num_codes)``.
    """
    codes1, codes2 = np.asarray(codes1, dtype=np.float64), np.asarray(codes2, dtype=np.float64)
    if codes1.shape != codes2.shape or codes1.ndim != 3:
        raise InvalidInputError(
            f"codes1 and codes2 must both be (num_points, batch_size, num_codes), got {codes1.shape}, {codes2.shape}"
        )
    return np.abs(codes1 - codes2).mean(axis=1)


def beta_vae_from_features(train_features, train_labels, eval_features, eval_labels, *,
                           random_state=0, classifier: str = "current") -> dict:
    """Fit the logistic regression on the features and score it.

    Args:
        train_features, eval_features: float ``(n, num_codes)`` from :func:`beta_vae_features`.
        train_labels, eval_labels: int ``(n,)`` index of the fixed factor.
        random_state: seed for the classifier.
        classifier: ``"current"`` or ``"study"`` (:data:`disbench.metrics.utils.CLASSIFIERS`).

    Returns:
        ``{"score": eval accuracy, "train_accuracy", "eval_accuracy"}`` (fractions in [0, 1])
        and ``"classifier"``.

    Raises:
        UnknownNameError: unknown ``classifier``.
        InvalidInputError: bad shapes, NaN/inf, or a training set with a single class.
    """
    x_train = check_codes(train_features, name="train features", min_rows=2)
    x_eval = check_codes(eval_features, name="eval features")
    y_train, y_eval = np.asarray(train_labels).ravel(), np.asarray(eval_labels).ravel()
    if len(y_train) != len(x_train) or len(y_eval) != len(x_eval) or x_eval.shape[1] != x_train.shape[1]:
        raise InvalidInputError("β-VAE metric: features and labels disagree in length or feature size")
    require_classes(y_train, "β-VAE metric")
    model = logistic_regression(classifier, int(as_generator(random_state).integers(2**31 - 1)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # default max_iter as in the reference
        model.fit(x_train, y_train)
    train_acc = float(np.mean(model.predict(x_train) == y_train))
    eval_acc = float(np.mean(model.predict(x_eval) == y_eval))
    return {"score": eval_acc, "train_accuracy": train_acc, "eval_accuracy": eval_acc, "classifier": classifier}


def sample_beta_vae_features(cache: CodeCache, num_points: int, batch_size: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``num_points`` β-VAE training points: ``(features (n, num_codes), labels (n,))``."""
    dataset = cache.dataset
    k = dataset.num_factors
    labels = rng.integers(0, k, size=num_points)
    f1 = dataset.sample_factors(num_points * batch_size, rng).reshape(num_points, batch_size, k)
    f2 = dataset.sample_factors(num_points * batch_size, rng).reshape(num_points, batch_size, k)
    rows = np.arange(num_points)[:, None]
    f2[rows, np.arange(batch_size)[None, :], labels[:, None]] = f1[rows, np.arange(batch_size)[None, :], labels[:, None]]
    features = []
    for sl in cache.chunks(num_points, 2 * batch_size):
        n = sl.stop - sl.start
        both = np.concatenate([f1[sl].reshape(-1, k), f2[sl].reshape(-1, k)])
        z = cache.codes(both, rng).reshape(2, n, batch_size, -1)
        features.append(beta_vae_features(z[0], z[1]))
    return np.concatenate(features), labels


@metric("beta_vae", quick={"num_train": 250, "num_eval": 125})
def beta_vae_score(dataset, encode, *, random_state=0, batch_size: int = 64, num_train: int = 10_000,
                   num_eval: int = 5_000, classifier: str = "current") -> dict:
    """The β-VAE metric of a representation on a ground-truth dataset.

    Args:
        dataset: a :class:`disbench.data.GroundTruthDataset`.
        encode: observations float32 ``(N, C, H, W)`` -> codes ``(N, num_codes)`` (see
            :mod:`disbench.metrics.codes`), or a :class:`CodeCache`.
        random_state: Generator or int seed.
        batch_size: pairs averaged per point (64, ``unsupervised_study_v1``).
        num_train, num_eval: training / evaluation points (10,000 / 5,000, idem).
        classifier: ``"current"`` or ``"study"``.

    Returns:
        ``{"score": eval accuracy, "train_accuracy", "eval_accuracy"}``.

    Raises:
        InvalidInputError: non-positive sizes, a bad encoder output, too few points.
    """
    for name, v in (("batch_size", batch_size), ("num_train", num_train), ("num_eval", num_eval)):
        if int(v) < 1:
            raise InvalidInputError(f"β-VAE metric: {name} must be positive, got {v}")
    cache, rng = cache_and_rng(dataset, encode, random_state)
    x_train, y_train = sample_beta_vae_features(cache, int(num_train), int(batch_size), rng)
    x_eval, y_eval = sample_beta_vae_features(cache, int(num_eval), int(batch_size), rng)
    return beta_vae_from_features(x_train, y_train, x_eval, y_eval, random_state=rng, classifier=classifier)
