"""Bit-packed cache of the procedural dSprites grid: equality, atomicity, staleness."""

import pickle

import numpy as np
import pytest

import disbench.data.dsprites as dsprites
from disbench.data.dsprites import DSprites
from disbench.errors import DataFileError


@pytest.fixture
def small_grid(monkeypatch, tmp_path):
    """A reduced factor grid (3·2·3·4·5 = 360 images) so caches stay tiny in tests."""
    monkeypatch.setenv("DISBENCH_DATA", str(tmp_path))
    full = DSprites.factor_values
    monkeypatch.setattr(DSprites, "factors_num_values", (3, 2, 3, 4, 5))
    monkeypatch.setattr(
        DSprites,
        "factor_values",
        (full[0], full[1][[0, 5]], full[2][[0, 7, 21]], full[3][[0, 9, 20, 31]], full[4][[0, 3, 11, 30, 31]]),
    )
    return tmp_path


def test_cache_equals_on_demand(small_grid):
    ds = DSprites(cache=False)
    path = ds.prepare(progress=False)
    assert path.is_file() and path.is_relative_to(small_grid)
    assert path.stat().st_size == 4096 + 360 * 512
    cached = DSprites()
    assert cached.uses_cache and not ds.uses_cache
    f = cached.factors_of(np.arange(len(cached)))
    np.testing.assert_array_equal(cached.sample_observations_from_factors(f, 0), ds.render(f))
    # random batches read through the memory map agree too
    g = cached.sample_factors(50, random_state=3)
    np.testing.assert_array_equal(cached.sample_observations_from_factors(g, 0), ds.render(g))
    # a dataset pickled for DataLoader workers reopens its cache
    clone = pickle.loads(pickle.dumps(cached))
    assert clone.uses_cache
    np.testing.assert_array_equal(clone.sample_observations_from_factors(g, 0), ds.render(g))


def test_prepare_is_idempotent(small_grid):
    ds = DSprites()
    path = ds.prepare(progress=False)
    assert ds.uses_cache
    mtime = path.stat().st_mtime_ns
    assert DSprites(cache=True).prepare(progress=False) == path
    assert path.stat().st_mtime_ns == mtime  # a valid cache is not rewritten


def test_interrupted_prepare_leaves_nothing_complete(small_grid, monkeypatch):
    calls = []
    real = DSprites._block_words

    def failing(self, shape, scale, out):
        calls.append((shape, scale))
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(self, shape, scale, out)

    monkeypatch.setattr(DSprites, "_block_words", failing)
    ds = DSprites(cache=False)
    with pytest.raises(DataFileError, match="DISBENCH_DATA"):
        ds.prepare(progress=False)
    assert len(calls) == 3
    folder = small_grid / "dsprites"
    assert not ds.cache_path.exists()
    assert list(folder.iterdir()) == []  # no temporary file left behind either
    assert not DSprites().uses_cache


def test_stale_or_damaged_cache_is_ignored_then_rebuilt(small_grid, monkeypatch):
    path = DSprites(cache=False).prepare(progress=False)
    assert DSprites().uses_cache
    # a renderer change (new version or geometry) makes the old file stale
    monkeypatch.setattr(dsprites, "SQUARE_HALF_SIDE", 9.0)
    stale = DSprites()
    assert not stale.uses_cache
    rebuilt = DSprites(cache=True)
    assert rebuilt.uses_cache
    f = rebuilt.factors_of(np.arange(len(rebuilt)))
    np.testing.assert_array_equal(rebuilt.sample_observations_from_factors(f, 0), rebuilt.render(f))
    # a truncated file (e.g. copied half-way) is not used
    with open(path, "r+b") as fh:
        fh.truncate(path.stat().st_size - 512)
    assert not DSprites().uses_cache
    monkeypatch.setattr(dsprites, "RENDERER_VERSION", dsprites.RENDERER_VERSION + 1)
    assert not DSprites().uses_cache and DSprites().cache_path != path


@pytest.mark.slow
def test_full_grid_prepare(tmp_path, monkeypatch):
    monkeypatch.setenv("DISBENCH_DATA", str(tmp_path))
    ds = DSprites(cache=False)
    path = ds.prepare(progress=False)
    assert path.stat().st_size == 4096 + 737_280 * 512
    cached = DSprites()
    idx = np.random.default_rng(0).integers(0, len(ds), 20_000)
    f = ds.factors_of(idx)
    np.testing.assert_array_equal(cached.sample_observations_from_factors(f, 0), ds.render(f))
