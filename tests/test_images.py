"""GIF latent traversals: frame order, tiling, and what Pillow reads back."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageSequence

from disbench.errors import InvalidInputError
from disbench.images import save_traversal_gif, traversal_frames


def _traversals(codes=3, steps=4, size=2):
    # tile (code i, step t) is a constant grey (10 * (4 i + t) + 20) / 255, all distinct
    x = np.zeros((codes, steps, 1, size, size), dtype=np.float32)
    for i in range(codes):
        for t in range(steps):
            x[i, t] = (10 * (4 * i + t) + 20) / 255
    return x


def test_frames_ping_pong_and_tile_every_code_at_one_step():
    x = _traversals()
    frames = traversal_frames(x, pad=1)
    assert len(frames) == 2 * 4 - 2  # steps 0 1 2 3 2 1
    # 3 codes -> a 2 x 2 grid of 2-px tiles with 1-px padding: 7 x 7 px; the 4th tile stays grey
    assert frames[0].size == (7, 7)
    for f, t in zip(frames, [0, 1, 2, 3, 2, 1]):
        a = np.asarray(f)[..., 0]
        tiles = [a[1:3, 1:3], a[1:3, 4:6], a[4:6, 1:3], a[4:6, 4:6]]
        assert [int(tile.mean()) for tile in tiles[:3]] == [10 * (4 * i + t) + 20 for i in range(3)]
        assert int(tiles[3].mean()) == 128 and a[0, 0] == 128  # padding and the empty tile: grey 0.5


def test_gif_reads_back_animated_and_looping(tmp_path):
    path = tmp_path / "traversals.gif"
    save_traversal_gif(_traversals(), path, frame_ms=80, scale=2)
    with Image.open(path) as im:
        assert im.format == "GIF" and im.n_frames == 6 and im.info["loop"] == 0 and im.size == (20, 20)  # 2 x 2 tiles of 2 px, padding 2, x2
        frames = [np.asarray(f.convert("L")) for f in ImageSequence.Iterator(im)]
        assert im.info["duration"] == 80
    assert frames[1][5, 5] == 10 * 1 + 20 and frames[3][5, 5] == 10 * 3 + 20  # code 0 at steps 1 and 3
    assert not list(tmp_path.glob("*.tmp*"))  # written atomically


def test_traversal_frames_reject_other_shapes():
    with pytest.raises(InvalidInputError, match="codes, steps, C, H, W"):
        traversal_frames(np.zeros((4, 1, 8, 8)))
