"""File-backed datasets: manifests, the dSprites npz loader, variants, Shapes3D and MPI3D."""

import pickle
import re

import numpy as np
import pytest
from fixtures.data_files import (
    DSPRITES_SMALL,
    MPI3D_SMALL,
    SHAPES3D_SMALL,
    dsprites_index_of,
    rgb_index_of,
    write_dsprites,
    write_mpi3d,
    write_shapes3d,
)

from disbench import data
from disbench.data.dsprites import DSprites
from disbench.data.dsprites_file import DSpritesFile
from disbench.data.manifest import data_files, manifest, manifest_names
from disbench.data.mpi3d import MPI3D
from disbench.data.shapes3d import Shapes3D
from disbench.data.variants import ColorDSprites, NoisyDSprites
from disbench.errors import DataFileError, InvalidInputError, MissingFileError, UnknownNameError
from disbench.resources import manifests_dir


@pytest.fixture(autouse=True)
def data_home(tmp_path, monkeypatch):
    home = tmp_path / "data"
    monkeypatch.setenv("DISBENCH_DATA", str(home))
    return home


@pytest.fixture
def dsprites_npz(tmp_path):
    return write_dsprites(tmp_path / "dsprites_small.npz")


def small_dsprites(path):
    return DSpritesFile(path=path, factors_num_values=DSPRITES_SMALL)


# --- manifests --------------------------------------------------------------------------
def test_every_registered_dataset_has_a_manifest_and_back():
    assert sorted(data.DATASETS) == manifest_names()
    assert {p.stem for p in manifests_dir().glob("*.toml")} == set(manifest_names())


def test_each_name_resolves_to_its_module_load():
    for name, module in data.DATASETS.items():
        loader = data.get_loader(name)
        assert loader.__module__ == module and loader.__name__ == "load"
    with pytest.raises(UnknownNameError, match="dsprites"):
        data.get_loader("dsprite")


def test_manifests_match_the_published_grids():
    ds = manifest("dsprites")
    assert (ds.factor_names, ds.factors_num_values) == (DSprites.factor_names, DSprites.factors_num_values)
    assert [f.name for f in ds.files] == ["dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"]
    assert ds.files[0].urls[0].startswith("https://github.com/deepmind/dsprites-dataset/")
    assert manifest("shapes3d").factors_num_values == (10, 10, 10, 8, 4, 15)
    assert np.prod(manifest("shapes3d").factors_num_values) == 480_000
    for variant in ("toy", "realistic", "real"):
        m = manifest(f"mpi3d_{variant}")
        assert np.prod(m.factors_num_values) == 1_036_800 and m.files[0].name == f"mpi3d_{variant}.npz"
        # the owners' current link first (rr-learning/disentanglement_dataset README, 2025-04-17)
        assert m.files[0].urls[0] == f"https://huggingface.co/datasets/waleedgondal/mpi3d/resolve/main/mpi3d_{variant}.npz"
    for name in ("color_dsprites", "noisy_dsprites"):
        assert data_files(name) == ds.files and manifest(name).observation_shape == (3, 64, 64)


def test_manifest_files_are_well_formed_and_say_when_no_checksum_is_published():
    for name in manifest_names():
        m = manifest(name)
        assert m.licence, f"{name}: no licence line"
        for f in m.files:
            assert re.fullmatch(r"(|[0-9a-f]{64})", f.sha256) and re.fullmatch(r"(|[0-9a-f]{32})", f.md5), name
            assert f.urls and all(u.startswith(("https://", "http://")) for u in f.urls), name
            assert len(set(f.urls)) == len(f.urls), f"{name}: a mirror listed twice"
            if not (f.sha256 or f.md5):
                text = (manifests_dir() / f"{name}.toml").read_text().lower()
                assert "no checksum is published" in text, f"{name}: {f.name} has no checksum and does not say why"


def test_manifest_unknown_name():
    with pytest.raises(UnknownNameError, match="valid datasets: .*shapes3d"):
        manifest("3dshapes")


# --- dSprites from the published file ----------------------------------------------------
@pytest.mark.parametrize("compressed", [True, False])
def test_dsprites_file_reads_images_by_flat_index(tmp_path, compressed, data_home):
    ds = small_dsprites(write_dsprites(tmp_path / "d.npz", compressed=compressed))
    assert ds.factor_names == ("shape", "scale", "orientation", "posX", "posY")
    assert ds.factors_num_values == DSPRITES_SMALL and ds.deterministic
    factors = ds.sample_factors(50, random_state=1)
    x = ds.sample_observations_from_factors(factors, random_state=0)
    assert x.dtype == np.float32 and x.shape == (50, 1, 64, 64)
    np.testing.assert_array_equal(dsprites_index_of(x), ds.index_of(factors))
    side = x[:, 0, 20:, 20].sum(axis=1)  # the sprite block side encodes the shape factor
    np.testing.assert_array_equal(side, 8 + 4 * factors[:, 0])
    np.testing.assert_allclose(ds.factor_values[1], np.linspace(0.5, 1, DSPRITES_SMALL[1]))
    np.testing.assert_allclose(ds.factor_values[2], np.linspace(0, 2 * np.pi, DSPRITES_SMALL[2]))
    assert ds.cache_path.parent == data_home and ds.cache_path.is_file()
    obs, f = ds[7]
    assert dsprites_index_of(obs.numpy()[None])[0] == 7 and ds.index_of(f.numpy()[None])[0] == 7


def test_dsprites_file_survives_pickling(dsprites_npz):
    ds = small_dsprites(dsprites_npz)
    ds.sample_observations(2, 0)
    clone = pickle.loads(pickle.dumps(ds))
    f = ds.sample_factors(5, 3)
    np.testing.assert_array_equal(
        clone.sample_observations_from_factors(f, 0), ds.sample_observations_from_factors(f, 0)
    )


def test_load_dsprites_sources(tmp_path, data_home):
    assert type(data.load("dsprites")) is DSprites
    assert type(data.load("dsprites", source="auto")) is DSprites  # no file in the data dir
    with pytest.raises(MissingFileError) as e:
        data.load("dsprites", source="file")
    assert str(data_home / data_files("dsprites")[0].name) in str(e.value)
    assert "disbench datasets download dsprites" in str(e.value)
    data_home.mkdir(parents=True, exist_ok=True)
    write_dsprites(data_home / data_files("dsprites")[0].name)
    ds = data.load("dsprites", source="auto", factors_num_values=DSPRITES_SMALL)
    assert type(ds) is DSpritesFile and ds.path == data_home / data_files("dsprites")[0].name
    with pytest.raises(UnknownNameError, match="valid sources: auto, file, procedural"):
        data.load("dsprites", source="published")
    with pytest.raises(InvalidInputError, match="no 'procedural' source"):
        data.load("shapes3d", source="procedural")


def test_dsprites_file_truncated(dsprites_npz, tmp_path):
    cut = tmp_path / "cut.npz"
    cut.write_bytes(dsprites_npz.read_bytes()[: dsprites_npz.stat().st_size // 2])
    with pytest.raises(
        DataFileError, match="truncated.*re-download it with `disbench datasets download dsprites`"
    ):
        small_dsprites(cut)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"metadata": None}, "missing arrays \\['metadata'\\]"),
        ({"imgs": np.zeros((10, 64, 64), np.uint8)}, "imgs is uint8 \\(10, 64, 64\\)"),
        ({"latents_classes": np.zeros((192, 6), np.int64)}, "not in grid order"),
    ],
)
def test_dsprites_file_wrong_schema(tmp_path, overrides, message):
    with pytest.raises(DataFileError, match=message):
        small_dsprites(write_dsprites(tmp_path / "bad.npz", **overrides))


def test_dsprites_file_grid_must_match_metadata(dsprites_npz):
    with pytest.raises(DataFileError, match="latents_sizes"):
        DSpritesFile(path=dsprites_npz, factors_num_values=(3, 2, 4, 4, 2))
    with pytest.raises(DataFileError, match=r"expected integer \(737280, 64, 64\)"):
        DSpritesFile(path=dsprites_npz)  # a miniature is not the published grid


def test_dsprites_file_bad_pixels_leave_no_cache(tmp_path, data_home):
    imgs = np.full((int(np.prod(DSPRITES_SMALL)), 64, 64), 255, np.uint8)
    ds = small_dsprites(write_dsprites(tmp_path / "grey.npz", imgs=imgs))
    with pytest.raises(DataFileError, match="values other than 0 and 1"):
        ds.prepare(progress=False)
    assert list(data_home.iterdir()) == []


# --- variants ----------------------------------------------------------------------------
def test_color_dsprites_as_disentanglement_lib(dsprites_npz):
    base = small_dsprites(dsprites_npz)
    ds = ColorDSprites(base)
    assert not ds.deterministic and ds.observation_shape == (3, 64, 64) and ds.name == "color_dsprites"
    factors = ds.sample_factors(64, 0)
    x = ds.sample_observations_from_factors(factors, random_state=5)
    mask = base.sample_observations_from_factors(factors, 0)[:, 0] > 0
    assert x.dtype == np.float32 and x.shape == (64, 3, 64, 64)
    colours = x[:, :, 21, 21]  # inside every sprite block
    assert colours.min() >= 0.5 and colours.max() <= 1 and colours.std() > 0.1
    np.testing.assert_array_equal(x, mask[:, None] * colours[:, :, None, None])
    np.testing.assert_array_equal(x, ds.sample_observations_from_factors(factors, random_state=5))
    assert not np.array_equal(x, ds.sample_observations_from_factors(factors, random_state=6))


def test_noisy_dsprites_as_disentanglement_lib(dsprites_npz):
    base = small_dsprites(dsprites_npz)
    ds = NoisyDSprites(base)
    factors = ds.sample_factors(32, 0)
    x = ds.sample_observations_from_factors(factors, random_state=2)
    mask = np.broadcast_to(base.sample_observations_from_factors(factors, 0) > 0, x.shape)
    assert not ds.deterministic and x.shape == (32, 3, 64, 64) and x.dtype == np.float32
    assert np.all(x[mask] == 1)
    background = x[~mask]
    assert background.min() >= 0 and background.max() < 1 and abs(background.mean() - 0.5) < 0.01
    assert abs(np.corrcoef(x[:, 0][~mask[:, 0]], x[:, 1][~mask[:, 1]])[0, 1]) < 0.05  # channels independent


def test_variants_load_over_any_source(tmp_path, data_home):
    for name, cls in (("color_dsprites", ColorDSprites), ("noisy_dsprites", NoisyDSprites)):
        procedural = data.load(name)
        assert isinstance(procedural, cls) and isinstance(procedural.base, DSprites)
        x = procedural.sample_observations(3, 0)
        assert x.shape == (3, 3, 64, 64) and x.min() >= 0 and x.max() <= 1
    data_home.mkdir(parents=True, exist_ok=True)
    write_dsprites(data_home / data_files("dsprites")[0].name)
    ds = data.load("color_dsprites", source="file", factors_num_values=DSPRITES_SMALL)
    assert isinstance(ds.base, DSpritesFile) and ds.prepare(progress=False) == ds.base.cache_path


# --- Shapes3D ----------------------------------------------------------------------------
def test_shapes3d_reads_images_and_labels(tmp_path, data_home):
    ds = Shapes3D(path=write_shapes3d(tmp_path / "3dshapes.h5"), factors_num_values=SHAPES3D_SMALL)
    assert ds.factor_names == ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation")
    assert ds.observation_shape == (3, 64, 64) and ds.deterministic
    factors = np.concatenate([ds.sample_factors(40, 0), ds.sample_factors(5, 0)])  # repeats, unsorted
    x = ds.sample_observations_from_factors(factors, 0)
    assert x.dtype == np.float32 and x.shape == (45, 3, 64, 64) and 0 <= x.min() and x.max() <= 1
    np.testing.assert_array_equal(rgb_index_of(x), ds.index_of(factors))
    np.testing.assert_allclose(ds.factor_values[5], np.linspace(-30, 30, SHAPES3D_SMALL[5]))
    clone = pickle.loads(pickle.dumps(ds))
    np.testing.assert_array_equal(clone.sample_observations_from_factors(factors, 0), x)
    assert ds.prepare(progress=False) == ds.cache_path and ds.cache_path.parent == data_home
    assert np.load(ds.cache_path, mmap_mode="r").shape == (96, 64, 64, 3)
    np.testing.assert_array_equal(ds.sample_observations_from_factors(factors, 0), x)  # now from the cache
    assert ds._images is not None


def test_shapes3d_bad_files(tmp_path, data_home):
    with pytest.raises(
        MissingFileError, match="3dshapes.h5 not found; run `disbench datasets download shapes3d`"
    ):
        data.load("shapes3d")
    good = write_shapes3d(tmp_path / "good.h5")
    cut = tmp_path / "cut.h5"
    cut.write_bytes(good.read_bytes()[:3000])
    with pytest.raises(DataFileError, match="not a readable HDF5 file.*disbench datasets download shapes3d"):
        Shapes3D(path=cut, factors_num_values=SHAPES3D_SMALL)
    with pytest.raises(DataFileError, match="labels of 'floor_hue' are not in grid order"):
        Shapes3D(
            path=write_shapes3d(tmp_path / "s.h5", shuffle_labels=True), factors_num_values=SHAPES3D_SMALL
        )
    with pytest.raises(DataFileError, match="images is uint8 \\(96, 32, 32, 3\\)"):
        Shapes3D(
            path=write_shapes3d(tmp_path / "w.h5", images_shape=(96, 32, 32, 3)),
            factors_num_values=SHAPES3D_SMALL,
        )


# --- MPI3D -------------------------------------------------------------------------------
@pytest.mark.parametrize("compressed", [False, True])
def test_mpi3d_reads_images(tmp_path, data_home, compressed):
    path = write_mpi3d(tmp_path / "mpi3d_toy.npz", compressed=compressed)
    ds = MPI3D("toy", path=path, factors_num_values=MPI3D_SMALL)
    assert ds.name == "mpi3d_toy" and ds.num_factors == 7 and ds.observation_shape == (3, 64, 64)
    factors = ds.sample_factors(30, 4)
    x = ds.sample_observations_from_factors(factors, 0)
    assert x.dtype == np.float32 and x.shape == (30, 3, 64, 64)
    np.testing.assert_array_equal(rgb_index_of(x), ds.index_of(factors))
    # an uncompressed archive is memory-mapped in place; a compressed one is extracted once
    assert ds.prepare(progress=False) == (ds.cache_path if compressed else path)
    assert ds.cache_path.is_file() == compressed


def test_mpi3d_bad_files(tmp_path, data_home):
    with pytest.raises(
        MissingFileError, match="mpi3d_real.npz not found; run `disbench datasets download mpi3d_real`"
    ):
        data.load("mpi3d_real")
    with pytest.raises(InvalidInputError, match="valid: toy, realistic, real"):
        MPI3D("complex")
    wrong = write_mpi3d(tmp_path / "w.npz", images=np.zeros((12, 64, 64, 3), np.uint8))
    with pytest.raises(DataFileError, match=r"images is uint8 \(12, 64, 64, 3\), expected uint8 \(48,"):
        MPI3D("toy", path=wrong, factors_num_values=MPI3D_SMALL)
    good = write_mpi3d(tmp_path / "g.npz")
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good.read_bytes()[:-5000])
    with pytest.raises(DataFileError, match="re-download it with `disbench datasets download mpi3d_toy`"):
        MPI3D("toy", path=cut, factors_num_values=MPI3D_SMALL)
