"""PNG image grids (samples, reconstructions, latent traversals, dataset factor grids) and GIF traversals."""

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


def traversal_frames(traversals, pad: int = 2, scale: int = 1) -> list[Image.Image]:
    """The frames of an animated latent traversal, ping-pong (there and back).

    Args:
        traversals: float in [0, 1], shape ``(codes, steps, C, H, W)``: row ``i`` varies code
            ``i`` over ``steps`` values (what :meth:`disbench.models.Baseline.traverse` returns).
        pad, scale: as :func:`save_grid`.

    Returns:
        ``2 * steps - 2`` RGB frames (``steps`` for ``steps < 3``); frame ``t`` tiles every
        code's image at step ``t`` in a near-square grid, so each tile animates its code's
        traversal (the layout of disentanglement_lib's ``animated_traversals``).

    Raises:
        InvalidInputError: not a 5-d array with C in (1, 3).
    """
    x = to_numpy_images(traversals)
    if x.ndim != 5 or x.shape[2] not in (1, 3):
        raise InvalidInputError(f"traversals must be (codes, steps, C, H, W) with C in (1, 3), got {x.shape}")
    codes, steps = x.shape[:2]
    cols = int(np.ceil(np.sqrt(codes)))
    rows = int(np.ceil(codes / cols))
    order = list(range(steps)) + list(range(steps - 2, 0, -1))
    frames = []
    for t in order:
        tiles = np.full((rows * cols, *x.shape[2:]), 0.5, dtype=np.float32)
        tiles[:codes] = x[:, t]
        img = Image.fromarray(grid_array(tiles.reshape(rows, cols, *x.shape[2:]), pad=pad))
        frames.append(img.resize((img.width * scale, img.height * scale), Image.NEAREST) if scale > 1 else img)
    return frames


def save_traversal_gif(traversals, path: str | os.PathLike, *, frame_ms: int = 120, pad: int = 2,
                       scale: int = 1) -> None:  # fmt: skip
    """Save an animated latent traversal (see :func:`traversal_frames`) as a looping GIF
    (Pillow), ``frame_ms`` milliseconds per frame, atomically."""
    frames = traversal_frames(traversals, pad=pad, scale=scale)
    with atomic_path(path, suffix=".gif") as tmp:
        frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:], duration=frame_ms, loop=0)
