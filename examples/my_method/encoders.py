"""Encoders without training: plain functions images -> codes that disbench can score.

Contract (``disbench evaluate --encoder my_method.encoders:centroid``): a float32 torch
tensor ``(N, C, H, W)`` in [0, 1] in, ``(N, num_codes)`` real numbers out (tensor or array).
"""

from __future__ import annotations

import torch


def centroid(x) -> torch.Tensor:
    """Intensity moments of each image: centroid row and column, total mass and spread
    (4 codes; float32 ``(N, 4)``). A hand-made representation of position and scale.
    ``x``: images ``(N, C, H, W)`` as a torch tensor (the CLI passes one) or a numpy array
    (``disbench.metrics.evaluate`` passes plain functions numpy)."""
    img = torch.as_tensor(x).float().sum(1)  # (N, H, W)
    n, h, w = img.shape
    mass = img.sum((1, 2)).clamp_min(1e-6)
    rows = torch.arange(h, dtype=img.dtype)[None, :, None]
    cols = torch.arange(w, dtype=img.dtype)[None, None, :]
    cy = (img * rows).sum((1, 2)) / mass
    cx = (img * cols).sum((1, 2)) / mass
    spread = (img * ((rows - cy[:, None, None]) ** 2 + (cols - cx[:, None, None]) ** 2)).sum((1, 2)) / mass
    return torch.stack([cy / h, cx / w, mass / (h * w), spread.sqrt() / h], 1)


def blank_sampler(n: int) -> torch.Tensor:
    """A (deliberately poor) generator for FID: ``n`` black 64×64 images."""
    return torch.zeros(n, 1, 64, 64)
