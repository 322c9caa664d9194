"""PNG image grids (samples, reconstructions, latent traversals, dataset factor grids)."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from disbench.errors import InvalidInputError
from disbench.io import atomic_path


def to_numpy_images(images) -> np.ndarray:
    """float32 numpy view of a tensor or array of images in [0, 1]."""
    if hasattr(images, "detach"):
        images = images.detach().float().cpu().numpy()
    return np.asarray(images, dtype=np.float32)


def grid_array(images, pad: int = 2, pad_value: float = 0.5) -> np.ndarray:
    """Tile images into one uint8 picture.

    Args:
        images: float in [0, 1], shape ``(rows, cols, C, H, W)`` or ``(N, C, H, W)``
            (laid out as one row); C is 1 (grey) or 3 (RGB).
        pad: pixels between tiles; ``pad_value`` their grey level.

    Returns:
        uint8 array ``(rows*(H+pad)+pad, cols*(W+pad)+pad, 3)``.

    Raises:
        InvalidInputError: wrong rank or channel count.
    """
    x = to_numpy_images(images)
    if x.ndim == 4:
        x = x[None]
    if x.ndim != 5 or x.shape[2] not in (1, 3):
        raise InvalidInputError(f"images must be (rows, cols, C, H, W) or (N, C, H, W) with C in (1, 3), got {x.shape}")
    rows, cols, c, h, w = x.shape
    if c == 1:
        x = np.repeat(x, 3, axis=2)
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, 3), pad_value, dtype=np.float32)
    for r in range(rows):
        for col in range(cols):
            y0, x0 = pad + r * (h + pad), pad + col * (w + pad)
            out[y0 : y0 + h, x0 : x0 + w] = x[r, col].transpose(1, 2, 0)
    return (np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)


def save_grid(images, path: str | os.PathLike, pad: int = 2, scale: int = 1) -> None:
    """Save a grid of images (see :func:`grid_array`) as a PNG, atomically.

    ``scale`` enlarges the picture by an integer factor (nearest neighbour) for viewing.
    """
    arr = grid_array(images, pad=pad)
    img = Image.fromarray(arr)
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    with atomic_path(path, suffix=".png") as tmp:
        img.save(tmp, format="PNG")
