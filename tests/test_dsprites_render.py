"""Procedural dSprites rendering: factor grid, determinism, geometry conventions."""

import numpy as np
import pytest

from disbench.data.dsprites import SHAPE_NAMES, DSprites
from disbench.errors import InvalidInputError


@pytest.fixture(scope="module")
def ds():
    return DSprites(cache=False)


def _images(ds, rows):
    return ds.render(np.asarray(rows))[:, 0].astype(bool)


def _centroid(img):
    ys, xs = np.nonzero(img)
    return xs.mean() + 0.5, ys.mean() + 0.5


def test_factor_grid_matches_published_file(ds):
    assert SHAPE_NAMES == ("square", "ellipse", "heart")
    assert ds.factors_num_values == (3, 6, 40, 32, 32)
    np.testing.assert_array_equal(ds.factor_values[0], [1, 2, 3])
    np.testing.assert_allclose(ds.factor_values[1], [0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    assert ds.factor_values[2][0] == 0 and ds.factor_values[2][-1] == pytest.approx(2 * np.pi)
    np.testing.assert_allclose(np.diff(ds.factor_values[2]), 2 * np.pi / 39)
    for pos in ds.factor_values[3:]:
        np.testing.assert_allclose(pos, np.arange(32) / 31)


def test_on_demand_rendering_is_deterministic_and_binary(ds):
    f = ds.sample_factors(200, random_state=5)
    a = ds.sample_observations_from_factors(f, random_state=0)
    b = ds.sample_observations_from_factors(f, random_state=1)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32 and a.shape == (200, 1, 64, 64)
    assert set(np.unique(a)) <= {0.0, 1.0}
    assert (a.reshape(200, -1).sum(1) > 0).all()  # every sprite is visible
    # rendering one image alone or inside a mixed batch gives the same pixels
    np.testing.assert_array_equal(ds.render(f[7:8]), a[7:8])


def test_axis_aligned_square_is_20_scale_pixels_wide(ds):
    for k, scale in enumerate(ds.factor_values[1]):
        img = _images(ds, [[0, k, 0, 0, 0]])[0]
        side = round(20 * scale)
        assert img.sum() == side * side
        rows, cols = np.nonzero(img)
        assert rows.min() == 16 - side // 2 and cols.max() == 16 + side // 2 - 1


def test_shapes_distinct_areas_square_gt_ellipse_gt_heart(ds):
    for k in range(6):
        area = _images(ds, [[s, k, 0, 15, 15] for s in range(3)]).sum(axis=(1, 2))
        assert area[0] > area[1] > area[2] > 0
    # the ellipse is wider than tall at orientation 0
    cols = np.nonzero(_images(ds, [[1, 5, 0, 15, 15]])[0].any(axis=0))[0]
    rows = np.nonzero(_images(ds, [[1, 5, 0, 15, 15]])[0].any(axis=1))[0]
    assert cols.size > 1.6 * rows.size


def test_orientation_ends_coincide_and_rotation_mirrors(ds):
    rng = np.random.default_rng(0)
    for shape in range(3):
        for k in rng.integers(0, 40, 6):
            a = _images(ds, [[shape, 5, 0, 0, 0], [shape, 5, 39, 0, 0]])
            np.testing.assert_array_equal(a[0], a[1])  # 0 and 2π
            # shapes are mirror-symmetric about their vertical axis, so rotating by -θ is
            # the mirror image of rotating by θ (centre x = 16 at posX = 0: column c <-> 31 - c)
            pos, neg = _images(ds, [[shape, 5, k, 0, 7], [shape, 5, 39 - k, 0, 7]])
            mirrored = np.zeros_like(pos)
            mirrored[:, :32] = pos[:, 31::-1]
            np.testing.assert_array_equal(neg, mirrored)


def test_quarter_turn_symmetry(ds):
    # Turning the image a quarter about the sprite centre (16, 16) maps orientation θ to
    # θ + π/2. The axis-aligned square is invariant under it. The ellipse at θ = 0 turned
    # a quarter is the ellipse at π/2 = 9.75 grid steps: close to step 10, far from step 5.
    for k in range(6):
        patch = _images(ds, [[0, k, 0, 0, 0]])[0][:32, :32]
        np.testing.assert_array_equal(patch, np.rot90(patch))
    ell = _images(ds, [[1, 5, 0, 0, 0], [1, 5, 10, 0, 0], [1, 5, 5, 0, 0]])
    turned = np.rot90(ell[0][:32, :32])
    iou = [(turned & e[:32, :32]).sum() / (turned | e[:32, :32]).sum() for e in ell[1:]]
    assert iou[0] > 0.85 > iou[1]


def test_positions_subpixel_steps_and_axes(ds):
    xs = [_centroid(_images(ds, [[0, 5, 0, i, 0]])[0])[0] for i in range(32)]
    ys = [_centroid(_images(ds, [[0, 5, 0, 0, j]])[0])[1] for j in range(32)]
    # posX moves along columns, posY along rows (row 0 at the top), 32/31 px per step
    np.testing.assert_allclose(np.polyfit(np.arange(32), xs, 1)[0], 32 / 31, atol=0.03)
    np.testing.assert_allclose(np.polyfit(np.arange(32), ys, 1)[0], 32 / 31, atol=0.03)
    assert xs[0] == pytest.approx(16) and ys[-1] == pytest.approx(48)
    # moving by a whole grid span (32 px) is an exact shift
    a, b = _images(ds, [[2, 3, 11, 0, 4], [2, 3, 11, 31, 4]])
    np.testing.assert_array_equal(b[:, 32:], a[:, :32])


def test_heart_points_down_and_turns_counter_clockwise(ds):
    upright, quarter = _images(ds, [[2, 5, 0, 0, 0], [2, 5, 10, 0, 0]])
    centre = 16.0
    cx, cy = _centroid(upright)
    assert cy < centre - 1 and abs(cx - centre) < 1e-9  # lobes up, tip down, symmetric
    # 10 steps ≈ 92°: counter-clockwise on screen brings the tip to the right, lobes left
    cx, cy = _centroid(quarter)
    assert cx < centre - 1 and abs(cy - centre) < 0.5


def test_bad_cache_option():
    with pytest.raises(InvalidInputError, match="cache"):
        DSprites(cache="sometimes")
