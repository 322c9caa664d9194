"""Unsupervised Disentanglement Ranking (Duan et al. 2020, "Unsupervised Model Selection for
Variational Disentangled Representation Learning", ICLR 2020, Section 3, Eqs. 1-2), as
disentanglement_lib computes it (``evaluation/udr/metrics/udr.py``, ``compute_udr_sklearn``).

UDR scores a *model among several trained models of one method* (different seeds or
hyper-parameters) by how similar its informative latents are to theirs, without labels.
For each ordered pair of models (a, b), on the same observations:

1. each model's codes are standardised and its uninformative latents (mean KL divergence
   to the prior <= ``kl_threshold``) zeroed;
2. the similarity matrix ``R`` (latents of a x latents of b) is ``|coef|`` of a Lasso
   regression (``alpha = 0.1``) of b's codes on a's, or ``|Spearman correlation|``;
3. restricted to informative latents, the pair's score is
   ``(mean_b r_b + mean_a r_a) / 2`` with ``r_b = max_a R_ab^2 / sum_a R_ab`` (the relative
   strength, Eq. 1; 0 where the sum is 0);
4. a model's UDR is the median of the scores of the pairs (other, model) (Eq. 2).

Defaults: disentanglement_lib (``config/tests/methods/udr/udr.gin``: 1,000 points, Lasso,
KL filter at 0.01). Two documented generalisations: the reference zeroes latents with
``kl > 0.01`` and filters with ``kl_filter_threshold``; here one threshold does both (equal
by default). An encoder without a Gaussian posterior (GANs, post-hoc representations) has
no KL; its latents then all count as informative (``"informative": "all"`` in the output).
A pair with no informative latent scores 0 (the reference gives NaN).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
from scipy.stats import rankdata
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso

from disbench.errors import InvalidInputError
from disbench.metrics.codes import as_encoder, as_ground_truth, default_batch_size
from disbench.metrics.spec import metric
from disbench.metrics.utils import check_codes
from disbench.rng import as_generator

CORRELATIONS = ("lasso", "spearman")


def relative_strength(matrix) -> float:
    """Relative-strength disentanglement of a similarity matrix ``(d_a, d_b)`` (Eq. 1).

    ``(mean over columns of max^2 / sum + mean over rows of max^2 / sum) / 2``; a row or
    column whose sum is 0 or that holds NaN contributes 0 (as ``numpy.nan_to_num`` there).
    """
    r = np.asarray(matrix, dtype=np.float64)
    if r.size == 0:
        return 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        x = np.nan_to_num(r.max(axis=0) ** 2 / r.sum(axis=0))
        y = np.nan_to_num(r.max(axis=1) ** 2 / r.sum(axis=1))
    return float((x.mean() + y.mean()) / 2)


def spearman_matrix(a, b) -> np.ndarray:
    """``|Spearman rank correlation|`` between every column of ``a`` (N, d_a) and of ``b`` (N, d_b).

    A constant column has no defined correlation: its row or column is NaN (as
    ``scipy.stats.spearmanr`` gives).
    """
    ra = rankdata(a, axis=0)
    rb = rankdata(b, axis=0)
    ra -= ra.mean(axis=0)
    rb -= rb.mean(axis=0)
    na, nb = np.sqrt((ra**2).sum(axis=0)), np.sqrt((rb**2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.abs((ra.T @ rb) / np.outer(na, nb))


def lasso_matrix(a, b, *, alpha: float = 0.1) -> np.ndarray:
    """``|coef|`` of a Lasso regression of ``b`` (N, d_b) on ``a`` (N, d_a): ``(d_a, d_b)``."""
    model = Lasso(alpha=alpha)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(a, b)
    return np.abs(np.atleast_2d(model.coef_)).T


def _standardise(z: np.ndarray) -> np.ndarray:
    std = z.std(axis=0)
    return (z - z.mean(axis=0)) / np.where(std > 0, std, 1.0)  # as sklearn's StandardScaler


def udr_from_codes(codes, kl=None, *, correlation: str = "lasso", kl_threshold: float = 0.01,
                   alpha: float = 0.1) -> dict:
    """UDR of several models from their codes of the same observations.

    Args:
        codes: a sequence of M >= 2 float arrays ``(N, d_m)``, one per model, row i of each
            the code of the same observation i.
        kl: None (every latent informative) or a sequence of M entries, each a float array
            ``(d_m,)`` of the latents' mean KL divergence to the prior (nats) or None (that
            model's latents all informative).
        correlation: ``"lasso"`` (default) or ``"spearman"``.
        kl_threshold: latents with mean KL <= this are uninformative (0.01).
        alpha: the Lasso's L1 weight (0.1).

    Returns:
        ``{"model_scores": list of M UDRs, "pairwise": (M x M) nested list, entry [a][b]
        the score of the pair (a, b), diagonal 0, "num_informative": list of M ints}``.

    Raises:
        InvalidInputError: fewer than 2 models, row counts that differ, bad ``kl`` shapes,
            unknown ``correlation``.
    """
    if correlation not in CORRELATIONS:
        raise InvalidInputError(f"UDR: correlation must be one of {CORRELATIONS}, got {correlation!r}")
    zs = [check_codes(z, name=f"codes of model {m}", min_rows=2) for m, z in enumerate(codes)]
    if len(zs) < 2:
        raise InvalidInputError("UDR compares models: pass the codes of at least 2 trained models of one method")
    if len({len(z) for z in zs}) != 1:
        raise InvalidInputError("UDR: every model must encode the same observations (equal row counts)")
    if kl is None:
        masks = [np.ones(z.shape[1], dtype=bool) for z in zs]
    else:
        if len(kl) != len(zs):
            raise InvalidInputError(f"UDR: {len(kl)} KL vectors for {len(zs)} models")
        masks = []
        for m, (k, z) in enumerate(zip(kl, zs)):
            if k is None:
                masks.append(np.ones(z.shape[1], dtype=bool))
                continue
            k = np.asarray(k, dtype=np.float64)
            if k.shape != (z.shape[1],):
                raise InvalidInputError(f"UDR: KL of model {m} has shape {k.shape}, expected ({z.shape[1]},)")
            masks.append(k > kl_threshold)
    zs = [_standardise(z) * mask for z, mask in zip(zs, masks)]
    m = len(zs)
    pairwise = np.zeros((m, m))
    for a in range(m):
        for b in range(m):
            if a != b:
                r = lasso_matrix(zs[a], zs[b], alpha=alpha) if correlation == "lasso" else spearman_matrix(zs[a], zs[b])
                pairwise[a, b] = relative_strength(r[masks[a]][:, masks[b]])
    scores = [float(np.median(np.delete(pairwise[:, i], i))) for i in range(m)]
    return {"model_scores": scores, "pairwise": pairwise.tolist(), "num_informative": [int(k.sum()) for k in masks]}


def codes_and_kl(encode, observations, *, batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Codes of ``observations`` and, for a model with a Gaussian posterior, each latent's KL.

    A torch module with ``posterior(x) -> (mu, logvar)`` (the VAE baselines) gives
    ``codes = mu`` and ``KL_j = mean 1/2 (mu_j^2 + exp(logvar_j) - logvar_j - 1)`` (the KL of
    ``N(mu, exp(logvar))`` to ``N(0, 1)``, as disentanglement_lib's UDR evaluation); any
    other encoder gives its codes and None.

    Returns:
        ``(codes float64 (N, d), kl float64 (d,) or None)``.
    """
    posterior = getattr(encode, "posterior", None)
    batch = batch_size or default_batch_size(encode)
    if posterior is None:
        fn = as_encoder(encode)
        codes = [np.asarray(_numpy(fn(observations[i:i + batch])), dtype=np.float64)
                 for i in range(0, len(observations), batch)]
        return np.concatenate(codes), None
    import torch

    device = next(encode.parameters()).device
    mus, kls = [], []
    with torch.no_grad():
        for i in range(0, len(observations), batch):
            x = torch.from_numpy(np.ascontiguousarray(observations[i:i + batch], dtype=np.float32)).to(device)
            mu, logvar = (t.double().cpu() for t in posterior(x))
            mus.append(mu.numpy())
            kls.append((0.5 * (mu**2 + logvar.exp() - logvar - 1)).numpy())
    return np.concatenate(mus), np.concatenate(kls).mean(axis=0)


def _numpy(codes):
    return codes.detach().cpu().double().numpy() if hasattr(codes, "detach") else codes


@metric("udr", quick={}, inputs="runs", by_default=False)
def udr(dataset, encoders, *, random_state=0, num_points: int = 1_000, correlation: str = "lasso",
        kl_threshold: float = 0.01) -> dict:
    """UDR of several trained models of one method on the same sampled observations.

    Args:
        dataset: a ground-truth dataset or a disentanglement_lib-style object (only its
            observations are used: UDR needs no labels).
        encoders: M >= 2 encoders (see :mod:`disbench.metrics.codes`); a model with a
            ``posterior`` also gives each latent's KL (see :func:`codes_and_kl`).
        random_state: Generator or int seed.
        num_points: sampled observations (1,000, ``udr.gin``).
        correlation, kl_threshold: see :func:`udr_from_codes`.

    Returns:
        :func:`udr_from_codes`'s dict plus ``"informative"``: ``"kl"`` or ``"all"`` per model.
    """
    data = as_ground_truth(dataset)
    rng = as_generator(random_state)
    observations = data.sample_observations_from_factors(data.sample_factors(int(num_points), rng), rng)
    pairs = [codes_and_kl(e, observations) for e in encoders]
    out = udr_from_codes([p[0] for p in pairs], [p[1] for p in pairs], correlation=correlation,
                         kl_threshold=kl_threshold)
    return {**out, "informative": ["all" if p[1] is None else "kl" for p in pairs]}


def udr_of_runs(root, run_ids, *, random_state=0, num_points: int = 1_000, correlation: str = "lasso",
                kl_threshold: float = 0.01, device: str = "auto") -> dict[str, float]:
    """UDR of a group of completed training runs in a results store, written into each run.

    The group is what UDR ranks: runs of one method on one dataset (seeds, or a
    hyper-parameter sweep of it — a ``disbench study`` group). Every run's model encodes the
    same ``num_points`` observations; each run's ``metrics.json`` gets ``"udr"`` (its score),
    ``"udr.group"`` (the run ids, in order), ``"udr.pairwise"`` (its row of the pairwise
    scores), ``"udr.informative"``, ``"udr.num_informative"`` and ``"udr.settings"``, and
    its index row is refreshed.

    Args:
        root: the results directory.
        run_ids: ids of >= 2 completed ``train`` runs on one dataset.
        random_state: seed of the sampled observations.
        num_points, correlation, kl_threshold: see :func:`udr`.
        device: where the models run.

    Returns:
        ``{run_id: UDR}``.

    Raises:
        InvalidInputError: fewer than 2 runs, a run that is not a completed training run,
            runs on different datasets.
        UnknownNameError: an unknown run id.
    """
    from disbench.errors import unknown_name
    from disbench.io import write_json_atomic
    from disbench.results import ResultsStore
    from disbench.train import load_run

    run_ids = list(dict.fromkeys(run_ids))
    if len(run_ids) < 2:
        raise InvalidInputError("UDR ranks runs of one method against each other: give at least 2 run ids")
    store = ResultsStore(root, create=False)
    records = []
    for rid in run_ids:
        record = store.get(rid)
        if record is None:
            raise unknown_name("run", rid, [r.run_id for r in store.records()])
        if record.kind != "train" or record.state != "completed":
            raise InvalidInputError(f"UDR needs completed training runs; run {rid} is a {record.state} {record.kind} run")
        records.append(record)
    if len({r.dataset for r in records}) != 1:
        raise InvalidInputError("UDR compares models on the same observations: the runs use different datasets")
    models, dataset = [], None
    for rid in run_ids:
        model, ds, _ = load_run(store.run_dir(rid), device=device)
        models.append(model)
        dataset = dataset or ds
    out = udr(dataset, models, random_state=random_state, num_points=num_points, correlation=correlation,
              kl_threshold=kl_threshold)
    settings = {"num_points": int(num_points), "correlation": correlation, "kl_threshold": kl_threshold,
                "random_state": random_state if isinstance(random_state, int) else None}
    for i, rid in enumerate(run_ids):
        path = store.run_dir(rid) / "metrics.json"
        metrics = json.loads(path.read_text()) if path.exists() else {}
        metrics.update({"udr": out["model_scores"][i], "udr.group": run_ids, "udr.pairwise": out["pairwise"][i],
                        "udr.informative": out["informative"][i], "udr.num_informative": out["num_informative"][i],
                        "udr.settings": settings})
        write_json_atomic(path, metrics)
        store.sync(rid)
    return dict(zip(run_ids, out["model_scores"]))
