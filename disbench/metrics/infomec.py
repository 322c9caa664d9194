"""InfoMEC: InfoM (modularity), InfoE (explicitness) and InfoC (compactness) from normalised
mutual information (Hsu et al. 2023, "Disentanglement via Latent Quantization", NeurIPS
2023, Section 5 "InfoMEC"), as the authors compute it (kylehkhsu/latent_quantization,
``disentangle/metrics/infomec.py``).

``NMI_ij = I(v_i; z_j) / H(v_i)`` for factor i and latent j; continuous latents are
standardised and their mutual information with the (discrete) factor estimated with the
k-nearest-neighbour estimator of Ross (2014, "Mutual Information between Discrete and
Continuous Data Sets", PLoS ONE, Eq. 2: ``I = psi(N) + <psi(k)> - <psi(N_v)> - <psi(m)>``),
``k = 10``, as the authors call it through scikit-learn's ``mutual_info_classif``; here
it is computed on sorted values (one latent is one-dimensional: the k-th neighbour lies
within k places on either side), with scikit-learn's scaling and 1e-10 jitter, which gives
``mutual_info_classif``'s values (``tests/test_metrics_field.py``) about 20x faster.
Discrete latents use the plug-in estimate. Latents whose range is at
most 1/20 of the largest range are inactive (for discrete latents: constant ones). Over the
K factors and the L active latents:

* ``InfoM = (mean_j max_i NMI_ij / sum_i NMI_ij - 1/K) / (1 - 1/K)``: each latent informs
  about one factor;
* ``InfoC = (mean_i max_j NMI_ij / sum_j NMI_ij - 1/L) / (1 - 1/L)``: each factor is
  captured by one latent;
* ``InfoE = mean_i (H_0 - H_i) / H_0``: the fraction of each factor's uncertainty a
  multinomial logistic regression (no penalty, balanced class weights, lbfgs, 100
  iterations) removes, ``H_i`` its training cross-entropy from all standardised latents
  and ``H_0`` that of the same classifier on constant inputs (discrete latents are
  one-hot encoded instead of standardised).

All three lie in [0, 1], higher is better; ``score`` is InfoM. Defaults: the authors'
(their evaluation sample is the whole dataset; here 10,000 sampled points). Two edge
cases the reference leaves NaN, defined here: a latent (factor) whose NMI row sum is 0
counts as spread uniformly (its normalised term is 0), and with a single active latent
InfoC is 1 (each factor's information is in that latent).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.special import digamma
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

from disbench.errors import InvalidInputError
from disbench.metrics.codes import cache_and_rng
from disbench.metrics.spec import metric
from disbench.metrics.utils import check_codes, check_factors, entropy, mutual_information, require_classes
from disbench.rng import as_generator


def _encode_columns(a: np.ndarray) -> np.ndarray:
    """Each column's values as 0..n-1 indices (scikit-learn's LabelEncoder per column)."""
    return np.stack([np.unique(a[:, j], return_inverse=True)[1].reshape(-1) for j in range(a.shape[1])], axis=1)


def _standardise(z: np.ndarray) -> np.ndarray:
    std = z.std(axis=0)
    return (z - z.mean(axis=0)) / np.where(std > 0, std, 1.0)


def knn_mutual_information(x, labels, *, n_neighbors: int = 10, random_state=0) -> float:
    """Ross (2014) k-NN estimate (nats) of ``I(x; label)`` for one continuous variable.

    As scikit-learn's ``mutual_info_classif(x[:, None], labels, n_neighbors=n_neighbors,
    random_state=seed)``: ``x`` is divided by its standard deviation and jittered by
    ``1e-10 * max(1, mean |x|)`` standard normal noise (``RandomState(seed)``); points whose
    label is unique are left out; the result is clipped at 0.

    Args:
        x: float ``(N,)``; labels: int ``(N,)``.
        n_neighbors: k (10).
        random_state: int seed of the jitter.
    """
    x = np.asarray(x, dtype=np.float64).copy()
    labels = np.asarray(labels)
    std = x.std()
    if std > 0:
        x /= std
    noise = np.random.RandomState(int(random_state)).standard_normal(size=(len(x), 1))[:, 0]
    x += 1e-10 * max(1.0, float(np.mean(np.abs(x)))) * noise
    radius = np.empty(len(x))
    count = np.empty(len(x))
    k_all = np.empty(len(x))
    for label in np.unique(labels):
        idx = np.flatnonzero(labels == label)
        count[idx] = len(idx)
        if len(idx) < 2:
            continue
        k = min(n_neighbors, len(idx) - 1)
        order = np.argsort(x[idx], kind="stable")
        v = x[idx][order]
        pos = np.arange(len(v))
        padded = np.concatenate([np.full(k, -np.inf), v, np.full(k, np.inf)])
        best = np.full(len(v), np.inf)
        for a in range(k + 1):  # a neighbours on the left, k - a on the right
            left = v - padded[pos + k - a]
            right = padded[pos + k + (k - a)] - v
            best = np.minimum(best, np.maximum(left, right))
        r = np.empty(len(v))
        r[order] = best
        radius[idx] = np.nextafter(r, 0)
        k_all[idx] = k
    keep = count > 1
    x, radius, count, k_all = x[keep], radius[keep], count[keep], k_all[keep]
    m = _count_within(np.sort(x), x, radius)
    mi = digamma(len(x)) + np.mean(digamma(k_all)) - np.mean(digamma(count)) - np.mean(digamma(m))
    return float(max(0.0, mi))


def _count_within(s: np.ndarray, x: np.ndarray, r: np.ndarray) -> np.ndarray:
    """For each i, how many values of sorted ``s`` satisfy ``|s_j - x_i| <= r_i`` (the
    difference is compared, as a tree search does; ``x_i +- r_i`` alone rounds at the edge)."""
    n = len(s)
    hi = np.searchsorted(s, x + r, side="right")  # first index past the window
    lo = np.searchsorted(s, x - r, side="left")
    for _ in range(4):  # the rounding of x +- r moves an edge by a place or two
        hi -= (hi > 0) & (s[np.maximum(hi - 1, 0)] - x > r)
        hi += (hi < n) & (s[np.minimum(hi, n - 1)] - x <= r)
        lo += (lo < n) & (x - s[np.minimum(lo, n - 1)] > r)
        lo -= (lo > 0) & (x - s[np.maximum(lo - 1, 0)] <= r)
    return hi - lo


def normalized_mutual_information(codes, factors, *, discrete_latents: bool = False, n_neighbors: int = 10,
                                  random_state=0) -> np.ndarray:
    """``NMI`` ``(num_factors, num_codes)``: ``I(v_i; z_j) / H(v_i)``.

    Args:
        codes: float ``(N, num_codes)``; factors: int ``(N, num_factors)``.
        discrete_latents: plug-in estimate on the latents' values instead of the kNN estimate.
        n_neighbors: neighbours of the kNN estimator (10, the authors').
        random_state: seed of the estimator's tie-breaking noise.
    """
    z = check_codes(codes)
    v = _encode_columns(check_factors(factors, len(z)))
    h = entropy(v)
    if discrete_latents:
        mi = mutual_information(_encode_columns(z), v).T
    else:
        zs = _standardise(z)
        seed = int(as_generator(random_state).integers(2**31 - 1))
        mi = np.array([[knn_mutual_information(zs[:, j], v[:, i], n_neighbors=n_neighbors, random_state=seed)
                        for j in range(z.shape[1])] for i in range(v.shape[1])])
    return mi / np.where(h > 0, h, 1.0)[:, None]


def _normalised_max_share(nmi: np.ndarray) -> float:
    """``(mean over columns of max/sum - 1/rows) / (1 - 1/rows)``; a zero column counts 1/rows."""
    rows = nmi.shape[0]
    total = nmi.sum(axis=0)
    share = np.where(total > 0, nmi.max(axis=0) / np.where(total > 0, total, 1.0), 1.0 / rows)
    return float((share.mean() - 1.0 / rows) / (1.0 - 1.0 / rows))


def _cross_entropy(x: np.ndarray, y: np.ndarray) -> float:
    model = LogisticRegression(C=np.inf, class_weight="balanced", max_iter=100, tol=1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x, y)
    return float(log_loss(y, model.predict_proba(x), labels=model.classes_))


def infoe_from_codes(codes, factors, *, discrete_latents: bool = False) -> dict:
    """InfoE: mean over factors of the normalised predictive information (see module docstring).

    Args:
        codes: float ``(N, num_codes)``, standardised (or one-hot encoded when
            ``discrete_latents``) before the regression; factors: int ``(N, num_factors)``.

    Returns:
        ``{"infoe": float, "infoe_per_factor": list}``.
    """
    z = check_codes(codes)
    if discrete_latents:
        enc = _encode_columns(z)
        z = np.concatenate([np.eye(int(c.max()) + 1)[c] for c in enc.T], axis=1)
    else:
        z = _standardise(z)
    v = _encode_columns(check_factors(factors, len(z)))
    per = []
    for i in range(v.shape[1]):
        require_classes(v[:, i], f"InfoE factor {i}")
        h = _cross_entropy(z, v[:, i])
        h0 = _cross_entropy(np.zeros_like(z), v[:, i])
        per.append((h0 - h) / h0)
    return {"infoe": float(np.mean(per)), "infoe_per_factor": per}


def infomec_from_codes(codes, factors, *, discrete_latents: bool = False, n_neighbors: int = 10,
                       random_state=0) -> dict:
    """InfoM, InfoE and InfoC of sampled codes and their factors.

    Args:
        codes: float ``(N, num_codes)``; factors: int ``(N, num_factors)``, at least 2 factors.
        discrete_latents, n_neighbors, random_state: see :func:`normalized_mutual_information`.

    Returns:
        ``{"score": InfoM, "infom", "infoe", "infoc", "infoe_per_factor",
        "nmi" (factors x codes nested list), "active_codes" (list of indices)}``.

    Raises:
        InvalidInputError: bad shapes/values, fewer than 2 factors, a factor with one value.
    """
    z = check_codes(codes, min_rows=2)
    v = check_factors(factors, len(z))
    if v.shape[1] < 2:
        raise InvalidInputError("InfoMEC needs at least 2 factors (InfoM normalises by 1 - 1/num_factors)")
    nmi = normalized_mutual_information(z, v, discrete_latents=discrete_latents, n_neighbors=n_neighbors,
                                        random_state=random_state)
    ranges = z.max(axis=0) - z.min(axis=0)
    active = ranges > 0 if discrete_latents else ranges > ranges.max() / 20
    pruned = nmi[:, active]
    if pruned.shape[1] == 0:
        infom = infoc = 0.0
    else:
        infom = _normalised_max_share(pruned)
        infoc = _normalised_max_share(pruned.T) if pruned.shape[1] > 1 else 1.0
    e = infoe_from_codes(z, v, discrete_latents=discrete_latents)
    return {"score": infom, "infom": infom, "infoe": e["infoe"], "infoc": infoc,
            "infoe_per_factor": e["infoe_per_factor"], "nmi": nmi.tolist(),
            "active_codes": np.flatnonzero(active).tolist()}


# quick keeps the default size: at 2,500 points InfoM moved by +0.12 (README, "quick vs default")
@metric("infomec", quick={}, by_default=False)
def infomec(dataset, encode, *, random_state=0, num_train: int = 10_000, n_neighbors: int = 10,
            discrete_latents: bool = False) -> dict:
    """InfoMEC of a representation on a ground-truth dataset.

    Args:
        dataset: a ground-truth dataset; encode: observations -> codes, or a :class:`CodeCache`.
        random_state: Generator or int seed.
        num_train: sampled points (10,000).
        n_neighbors, discrete_latents: see :func:`infomec_from_codes`.

    Returns:
        See :func:`infomec_from_codes`.
    """
    cache, rng = cache_and_rng(dataset, encode, random_state)
    codes, factors = cache.sample(int(num_train), rng)
    return infomec_from_codes(codes, factors, discrete_latents=discrete_latents, n_neighbors=n_neighbors,
                              random_state=rng)
