"""The metrics of generated images as :func:`disbench.metrics.evaluate` runs them.

``fid`` and ``fid_inception`` are :func:`disbench.metrics.fid.fid` on the dataset's factor
classifier and on Inception-v3 features; ``kid`` is the KID that :func:`~disbench.metrics.fid.fid`
computes on the factor classifier (when ``fid`` is also requested, the evaluator reports
KID from that run instead of running ``kid``). Each takes ``sample(n) -> images`` and passes
further ``options`` (e.g. ``batch_size``) to :func:`~disbench.metrics.fid.fid`.

:mod:`disbench.metrics.fid` (torch, torchmetrics) is imported on first use, so that the
evaluator can read these presets without importing it.
"""

from __future__ import annotations

from disbench.metrics.spec import metric

# real and generated images: 10,000 each as in Heusel et al. 2017 Sec. 4 / the TTUR code
NUM_IMAGES = 10_000
_QUICK = {"num_real": 2_000, "num_fake": 2_000}


@metric("fid", inputs="samples", quick=_QUICK)
def fid_factor_net(dataset, sample, *, random_state=0, device=None, num_real: int = NUM_IMAGES,
                   num_fake: int = NUM_IMAGES, **options) -> dict:
    """FID (and KID) on the factor-classifier features; returns :func:`disbench.metrics.fid.fid`'s dict."""
    from disbench.metrics.fid import fid

    return fid(dataset, sample, feature="factor_net", random_state=random_state, device=device,
               num_real=num_real, num_fake=num_fake, **options)


@metric("kid", inputs="samples", quick={})
def kid(dataset, sample, *, random_state=0, device=None, **options) -> dict:
    """KID on the factor-classifier features as ``"score"``, with the rest of
    :func:`disbench.metrics.fid.fid`'s dict (its own FID included).

    Its presets set nothing, so both draw :func:`~disbench.metrics.fid.fid`'s default
    10,000 real and 10,000 generated images.
    """
    from disbench.metrics.fid import fid

    result = fid(dataset, sample, feature="factor_net", random_state=random_state, device=device, **options)
    return {"score": result["kid_mean"], **{k: v for k, v in result.items() if k != "score"}}


@metric("fid_inception", inputs="samples", quick=_QUICK)
def fid_inception(dataset, sample, *, random_state=0, device=None, num_real: int = NUM_IMAGES,
                  num_fake: int = NUM_IMAGES, **options) -> dict:
    """FID (and KID) on Inception-v3 pool3 features (``disbench[inception]``)."""
    from disbench.metrics.fid import fid

    return fid(dataset, sample, feature="inception", random_state=random_state, device=device,
               num_real=num_real, num_fake=num_fake, **options)
