import numpy as np
import pytest
import torch

from disbench import data
from disbench.errors import InvalidInputError, UnknownNameError


@pytest.fixture(scope="module")
def dsprites():
    return data.load("dsprites")


def test_factor_grid(dsprites):
    assert dsprites.factors_num_values == (3, 6, 40, 32, 32)
    assert dsprites.factor_names == ("shape", "scale", "orientation", "posX", "posY")
    assert len(dsprites) == 737_280
    assert dsprites.num_factors == 5
    assert dsprites.observation_shape == (1, 64, 64)


def test_index_roundtrip_last_factor_fastest(dsprites):
    assert dsprites.index_of([[0, 0, 0, 0, 1]])[0] == 1
    assert dsprites.index_of([[0, 0, 0, 1, 0]])[0] == 32
    assert dsprites.index_of([[1, 0, 0, 0, 0]])[0] == 6 * 40 * 32 * 32
    idx = np.random.default_rng(0).integers(0, len(dsprites), 1000)
    np.testing.assert_array_equal(dsprites.index_of(dsprites.factors_of(idx)), idx)


def test_sampling_shapes_dtypes_and_determinism(dsprites):
    f = dsprites.sample_factors(7, random_state=3)
    assert f.dtype == np.int64 and f.shape == (7, 5)
    np.testing.assert_array_equal(f, dsprites.sample_factors(7, np.random.default_rng(3)))
    x = dsprites.sample_observations_from_factors(f, random_state=0)
    assert x.dtype == np.float32 and x.shape == (7, 1, 64, 64)
    assert x.min() >= 0 and x.max() <= 1


def test_torch_dataset_item(dsprites):
    obs, factors = dsprites[12345]
    assert isinstance(obs, torch.Tensor) and obs.shape == (1, 64, 64) and obs.dtype == torch.float32
    np.testing.assert_array_equal(factors.numpy(), dsprites.factors_of([12345])[0])


def test_bad_input(dsprites):
    with pytest.raises(UnknownNameError, match="valid datasets: .*dsprites"):
        data.load("nope")
    with pytest.raises(InvalidInputError, match="shape"):
        dsprites.sample_observations_from_factors(np.zeros((2, 4), int), 0)
    with pytest.raises(InvalidInputError, match="out of range"):
        dsprites.sample_observations_from_factors([[3, 0, 0, 0, 0]], 0)
    with pytest.raises(InvalidInputError, match="random_state"):
        dsprites.sample_factors(2, random_state=None)
