"""SmallNORB, Cars3D and scream-dSprites, read from generated fixture files through the
same loaders (and code paths) as the published files."""

import gzip
import pickle
import tarfile

import numpy as np
import pytest
from fixtures.data_files import (
    CARS3D_SMALL,
    DSPRITES_SMALL,
    NORB_INSTANCES,
    NORB_SMALL,
    grid,
    write_cars3d,
    write_dsprites,
    write_norb_matrix,
    write_painting,
    write_smallnorb,
)
from PIL import Image

from disbench import data
from disbench.data import cars3d, smallnorb
from disbench.data.cars3d import Cars3D
from disbench.data.dsprites_file import DSpritesFile
from disbench.data.manifest import data_files, manifest
from disbench.data.smallnorb import SmallNORB
from disbench.data.variants import ScreamDSprites
from disbench.errors import DataFileError, InvalidInputError, MissingFileError


@pytest.fixture(autouse=True)
def data_home(tmp_path, monkeypatch):
    home = tmp_path / "data"
    monkeypatch.setenv("DISBENCH_DATA", str(home))
    return home


# --- manifests: factor names and sizes as disentanglement_lib has them --------------------
def test_manifests_follow_disentanglement_lib():
    # data/ground_truth/norb.py: factor_sizes [5, 10, 9, 18, 6], latent indices [0, 2, 3, 4]
    norb = manifest("smallnorb")
    assert norb.factor_names == ("category", "elevation", "azimuth", "lighting")
    assert norb.factors_num_values == (5, 9, 18, 6) and norb.observation_shape == (1, 64, 64)
    assert [f.name for f in norb.files] == [
        f"smallnorb-{chunk}-{part}.mat.gz" for chunk in smallnorb.CHUNKS for part in ("dat", "cat", "info")
    ]
    assert all(len(f.sha256) == 64 and f.size for f in norb.files)  # tensorflow/datasets' checksums
    # data/ground_truth/cars3d.py: factor_sizes [4, 24, 183], elevation, azimuth, object type
    cars = manifest("cars3d")
    assert cars.factor_names == ("elevation", "azimuth", "object_type")
    assert cars.factors_num_values == (4, 24, 183) and cars.observation_shape == (3, 64, 64)
    # data/ground_truth/dsprites.py ScreamDSprites: dSprites' factors, 64x64x3
    scream = manifest("scream_dsprites")
    assert scream.factors_num_values == (3, 6, 40, 32, 32) and scream.observation_shape == (3, 64, 64)
    assert [f.name for f in data_files("scream_dsprites")] == ["scream.jpg"]


# --- the NORB binary format ---------------------------------------------------------------
def test_norb_header_by_hand(tmp_path):
    path = write_norb_matrix(tmp_path / "cat.mat", np.array([4, 0, 2], np.int32), compressed=False)
    raw = path.read_bytes()
    # int32 matrix magic 0x1E3D4C54 little-endian, ndim 1, sizes 3, 1, 1, then the elements
    assert raw[:20] == bytes.fromhex("544c3d1e" "01000000" "03000000" "01000000" "01000000")
    assert raw[20:] == bytes.fromhex("04000000" "00000000" "02000000")
    np.testing.assert_array_equal(smallnorb.read_matrix(path), [4, 0, 2])
    info = np.arange(12, dtype=np.int32).reshape(3, 4)
    np.testing.assert_array_equal(smallnorb.read_matrix(write_norb_matrix(tmp_path / "i.mat.gz", info)), info)
    dat = np.random.default_rng(0).integers(0, 256, (5, 2, 96, 96), dtype=np.uint8)
    path = write_norb_matrix(tmp_path / "d.mat.gz", dat)
    assert gzip.open(path).read(4) == bytes.fromhex("554c3d1e")  # byte matrix
    chunks = list(smallnorb.iter_images(path, rows=2))
    assert [len(c) for c in chunks] == [2, 2, 1]
    np.testing.assert_array_equal(np.concatenate(chunks), dat[:, 0])  # the first camera


def test_norb_bad_files(tmp_path):
    bad = tmp_path / "bad.mat"
    bad.write_bytes(np.array([0x1E3D4C50, 1, 3, 1, 1], "<i4").tobytes())
    with pytest.raises(DataFileError, match="magic number 0x1e3d4c50 is not a NORB matrix type"):
        smallnorb.read_matrix(bad)
    good = write_norb_matrix(tmp_path / "g.mat", np.arange(10, dtype=np.int32), compressed=False)
    cut = tmp_path / "cut.mat"
    cut.write_bytes(good.read_bytes()[:-3])
    with pytest.raises(DataFileError, match="37 of 40 data bytes.*disbench datasets download smallnorb"):
        smallnorb.read_matrix(cut)
    with pytest.raises(DataFileError, match="expected bytes \\(N, 2, H, W\\)"):
        list(smallnorb.iter_images(good))


def test_norb_resize_is_disentanglement_libs():
    # norb.py _resize_images: Image.fromarray(int8 array) (mode "I") .resize((64, 64), ANTIALIAS) / 255
    image = np.random.default_rng(1).integers(0, 256, (96, 96), dtype=np.uint8)
    reference = np.asarray(Image.fromarray(image.view(np.int8)).resize((64, 64), Image.LANCZOS))
    assert reference.min() < 0 or reference.max() > 255  # noise: Lanczos overshoots, unclipped there
    np.testing.assert_array_equal(smallnorb.resize(image[None])[0], np.clip(reference, 0, 255))


# --- SmallNORB ------------------------------------------------------------------------------
def small_norb(folder, **kw):
    return SmallNORB(folder=folder, factors_num_values=NORB_SMALL, num_instances=NORB_INSTANCES, **kw)


def decode_norb(x):
    """Grid factors (category, instance, elevation, azimuth, lighting) of fixture observations."""
    index = np.rint(x[:, 0, 32, 32] * 255).astype(np.int64) // 5
    return grid((NORB_SMALL[0], NORB_INSTANCES, *NORB_SMALL[1:]))[index]


@pytest.mark.parametrize("compressed", [True, False])
def test_smallnorb_reads_the_fixture(tmp_path, data_home, compressed):
    ds = small_norb(write_smallnorb(tmp_path / "norb", compressed=compressed))
    assert not ds.deterministic and ds.num_factors == 4
    factors = ds.sample_factors(200, 0)
    x = ds.sample_observations_from_factors(factors, 1)
    assert x.dtype == np.float32 and x.shape == (200, 1, 64, 64) and np.all(x == x[:, :, :1, :1])
    full = decode_norb(x)
    np.testing.assert_array_equal(full[:, [0, 2, 3, 4]], factors)  # the requested factors...
    assert set(full[:, 1]) == {0, 1}  # ...with the instance drawn per observation, both chunks used
    np.testing.assert_array_equal(ds.sample_observations_from_factors(factors, 1), x)
    assert ds.cache_path.parent == data_home and ds.cache_path.is_file()
    np.testing.assert_allclose(ds.factor_values[1], [30, 35])  # elevation in degrees
    np.testing.assert_allclose(ds.factor_values[2], [0, 20, 40])  # azimuth in degrees
    clone = pickle.loads(pickle.dumps(ds))
    np.testing.assert_array_equal(clone.sample_observations_from_factors(factors, 1), x)


def test_smallnorb_default_location(tmp_path, data_home):
    with pytest.raises(MissingFileError, match="smallnorb-5x46789x9x18x6x2x96x96-training-dat.mat.gz not found.*"
                       "disbench datasets download smallnorb"):
        data.load("smallnorb")
    write_smallnorb(data_home)
    ds = data.load("smallnorb", factors_num_values=NORB_SMALL, num_instances=NORB_INSTANCES)
    assert ds.folder == data_home and decode_norb(ds.sample_observations(5, 0)).shape == (5, 5)


def test_smallnorb_bad_files_leave_no_cache(tmp_path, data_home):
    folder = write_smallnorb(tmp_path / "norb")
    dat = folder / "smallnorb-5x01235x9x18x6x2x96x96-testing-dat.mat.gz"
    dat.write_bytes(gzip.compress(gzip.decompress(dat.read_bytes())[:-5000]))
    with pytest.raises(DataFileError, match="testing-dat.mat.gz is truncated.*image data ends after"):
        small_norb(folder).prepare(progress=False)
    assert not data_home.exists() or list(data_home.iterdir()) == []
    folder = write_smallnorb(tmp_path / "norb2")
    info = folder / "smallnorb-5x46789x9x18x6x2x96x96-training-info.mat.gz"
    values = smallnorb.read_matrix(info).copy()
    values[:, 2] = 1
    write_norb_matrix(info, values)
    with pytest.raises(DataFileError, match="odd azimuth"):
        small_norb(folder).prepare(progress=False)
    values[:, 2] = 0  # every pair at azimuth 0: cells repeated, others missing
    write_norb_matrix(info, values)
    with pytest.raises(DataFileError, match="exactly once .* missing"):
        small_norb(folder).prepare(progress=False)
    with pytest.raises(DataFileError, match="instance out of range"):
        SmallNORB(folder=folder, factors_num_values=NORB_SMALL, num_instances=1).prepare(progress=False)


# --- Cars3D ---------------------------------------------------------------------------------
def decode_cars(x):
    px = np.rint(x[:, :, 32, 32] * 255).astype(np.int64)
    assert np.all(px[:, 2] == 77)
    return px[:, 0] + 256 * px[:, 1]


def test_cars3d_reads_the_archive_in_list_order(tmp_path, data_home):
    ds = Cars3D(path=write_cars3d(tmp_path / "cars.tar.gz"), factors_num_values=CARS3D_SMALL)
    assert ds.deterministic and ds.factor_names == ("elevation", "azimuth", "object_type")
    factors = np.concatenate([ds.sample_factors(40, 0), grid(CARS3D_SMALL)])
    x = ds.sample_observations_from_factors(factors, 0)
    assert x.dtype == np.float32 and x.shape == (len(factors), 3, 64, 64)
    assert np.all(x == x[:, :, :1, :1])
    # the colour written for (elevation, azimuth, position in list.txt) comes back at that index
    np.testing.assert_array_equal(decode_cars(x), ds.index_of(factors))
    assert ds.cache_path.parent == data_home
    assert np.load(ds.cache_path, mmap_mode="r").shape == (*CARS3D_SMALL, 64, 64, 3)


def test_cars3d_from_a_folder_without_list_uses_file_name_order(tmp_path):
    archive = write_cars3d(tmp_path / "cars.tar.gz", list_txt=False)
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "x", filter="data")
    ds = Cars3D(path=tmp_path / "x" / "data" / "cars", factors_num_values=CARS3D_SMALL)
    f = grid(CARS3D_SMALL)
    np.testing.assert_array_equal(decode_cars(ds.sample_observations_from_factors(f, 0)), ds.index_of(f))


def test_cars3d_resize_is_disentanglement_libs():
    # cars3d.py _load_mesh: PIL.Image.fromarray(image).thumbnail((64, 64, 3), ANTIALIAS)
    im = np.random.default_rng(2).integers(0, 256, (128, 128, 3, 2, 1), dtype=np.uint8)
    ours = cars3d.resize(im)
    assert ours.shape == (1, 2, 64, 64, 3)
    for a in range(2):
        pic = Image.fromarray(np.ascontiguousarray(im[:, :, :, a, 0]))
        pic.thumbnail((64, 64), Image.LANCZOS)
        np.testing.assert_array_equal(ours[0, a], np.asarray(pic))


def test_cars3d_bad_files(tmp_path, data_home):
    with pytest.raises(MissingFileError, match="nips2015-analogy-data.tar.gz not found.*download cars3d"):
        data.load("cars3d")
    good = write_cars3d(tmp_path / "cars.tar.gz")
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(DataFileError, match="cut.tar.gz is truncated.*download cars3d"):
        Cars3D(path=cut, factors_num_values=CARS3D_SMALL).prepare(progress=False)
    with pytest.raises(DataFileError, match=r"'im' is uint8 \(128, 128, 3, 3, 2\), expected uint8 \(128, 128, 3, 4, 2\)"):
        Cars3D(path=good, factors_num_values=(2, 4, 3)).prepare(progress=False)
    with pytest.raises(DataFileError, match="3 car models listed and 3 found, expected 4"):
        Cars3D(path=good, factors_num_values=(2, 3, 4)).prepare(progress=False)
    assert not data_home.exists() or list(data_home.iterdir()) == []


# --- scream-dSprites ------------------------------------------------------------------------
def small_base(tmp_path):
    return DSpritesFile(path=write_dsprites(tmp_path / "d.npz"), factors_num_values=DSPRITES_SMALL)


def test_scream_as_disentanglement_lib_on_a_minimal_painting(tmp_path):
    # a 65x65 painting: randint(0, 65 - 64) is always 0, so every patch is painting[:64, :64]
    base = small_base(tmp_path)
    ds = ScreamDSprites(base, image=write_painting(tmp_path / "p.png", size=(65, 65)))
    assert not ds.deterministic and ds.observation_shape == (3, 64, 64) and ds.scream.shape == (65, 65, 3)
    factors = ds.sample_factors(16, 0)
    x = ds.sample_observations_from_factors(factors, 3)
    sprite = base.sample_observations_from_factors(factors, 0)[:, 0] == 1
    patch = ds.scream[:64, :64].transpose(2, 0, 1)
    assert not sprite[:, 63, 63].any()
    colour = 2 * x[:, :, 63, 63] - patch[None, :, 63, 63]  # (n, 3), from one background pixel
    background = (patch[None] + colour[:, :, None, None]) / 2
    expected = np.where(sprite[:, None], 1 - background, background)
    np.testing.assert_allclose(x, expected, atol=1e-6)
    assert colour.min() >= 0 and colour.max() <= 1 and colour.std() > 0.1
    np.testing.assert_array_equal(ds.sample_observations_from_factors(factors, 3), x)


def test_scream_patches_move_over_a_larger_painting(tmp_path):
    ds = ScreamDSprites(small_base(tmp_path), image=write_painting(tmp_path / "p.jpg", size=(700, 500)))
    assert ds.scream.shape == (250, 350, 3)  # fitted into 350 x 274 by thumbnail, aspect kept
    f = np.zeros((2, 5), np.int64)
    x = ds.sample_observations_from_factors(f, 0)
    assert x.shape == (2, 3, 64, 64) and not np.allclose(x[0], x[1]) and 0 <= x.min() and x.max() <= 1


def test_scream_load_and_bad_paintings(tmp_path, data_home):
    with pytest.raises(MissingFileError, match="scream.jpg not found.*disbench datasets download scream_dsprites"):
        data.load("scream_dsprites")
    data_home.mkdir(parents=True, exist_ok=True)
    write_painting(data_home / "scream.jpg")
    ds = data.load("scream_dsprites")
    assert isinstance(ds, ScreamDSprites) and ds.sample_observations(2, 0).shape == (2, 3, 64, 64)
    with pytest.raises(InvalidInputError, match="takes no image"):
        data.load("color_dsprites", image=data_home / "scream.jpg")
    small = write_painting(tmp_path / "s.png", size=(64, 200))
    with pytest.raises(DataFileError, match="64×200 px .* at least 65 px"):
        data.load("scream_dsprites", image=small)
    good = write_painting(tmp_path / "g.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(good[: len(good) // 2])
    with pytest.raises(DataFileError, match="cut.jpg is not a readable image"):
        data.load("scream_dsprites", image=tmp_path / "cut.jpg")
    (tmp_path / "text.jpg").write_text("not an image")
    with pytest.raises(DataFileError, match="text.jpg is not a readable image"):
        data.load("scream_dsprites", image=tmp_path / "text.jpg")
