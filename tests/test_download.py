"""Downloads from a local HTTP server: full, resumed, interrupted, and checksum mismatches."""

import hashlib

import numpy as np
import pytest
from fixtures.data_files import DSPRITES_SMALL, dsprites_index_of, write_dsprites
from fixtures.http_server import PayloadServer

from disbench import data
from disbench.data.download import DownloadError, download
from disbench.data.manifest import data_file
from disbench.errors import ChecksumError, UnknownNameError

NAME = data_file("dsprites").name


@pytest.fixture(scope="module")
def payload(tmp_path_factory):
    return write_dsprites(tmp_path_factory.mktemp("fixture") / "d.npz").read_bytes()


@pytest.fixture
def server(payload):
    with PayloadServer(payload, NAME) as srv:
        yield srv


@pytest.fixture
def sha(payload):
    return hashlib.sha256(payload).hexdigest()


def test_full_download_is_verified_and_loadable(tmp_path, server, sha, payload, monkeypatch):
    monkeypatch.setenv("DISBENCH_DATA", str(tmp_path))
    path = download("dsprites", progress=False, url=server.url, sha256=sha)
    assert path == tmp_path / NAME and path.read_bytes() == payload
    assert server.ranges == [None] and not (tmp_path / f"{NAME}.part").exists()
    ds = data.load("dsprites", source="file", factors_num_values=DSPRITES_SMALL)
    f = ds.sample_factors(8, 0)
    np.testing.assert_array_equal(
        dsprites_index_of(ds.sample_observations_from_factors(f, 0)), ds.index_of(f)
    )
    assert download("dsprites", progress=False, url=server.url, sha256=sha) == path  # present: no request
    assert len(server.ranges) == 1


def test_resume_from_a_partial_file(tmp_path, server, sha, payload):
    (tmp_path / f"{NAME}.part").write_bytes(payload[:1000])
    path = download("dsprites", tmp_path, progress=False, url=server.url, sha256=sha)
    assert server.ranges == ["bytes=1000-"]
    assert path.read_bytes() == payload


def test_interrupted_download_keeps_the_part_and_resumes(tmp_path, server, sha, payload):
    cut = server.cut_after = len(payload) // 2
    with pytest.raises(DownloadError, match=f"re-run the same command to resume \\({cut} bytes kept"):
        download("dsprites", tmp_path, progress=False, url=server.url, sha256=sha)
    assert (tmp_path / f"{NAME}.part").stat().st_size == cut and not (tmp_path / NAME).exists()
    download("dsprites", tmp_path, progress=False, url=server.url, sha256=sha)
    assert server.ranges == [None, f"bytes={cut}-"]
    assert (tmp_path / NAME).read_bytes() == payload


def test_server_ignoring_range_restarts(tmp_path, server, sha, payload):
    server.honour_range = False
    (tmp_path / f"{NAME}.part").write_bytes(b"x" * 700)
    download("dsprites", tmp_path, progress=False, url=server.url, sha256=sha)
    assert server.ranges == ["bytes=700-"] and (tmp_path / NAME).read_bytes() == payload


def test_complete_part_file_is_finished_without_refetching(tmp_path, server, sha, payload):
    (tmp_path / f"{NAME}.part").write_bytes(payload)
    download("dsprites", tmp_path, progress=False, url=server.url, sha256=sha)
    assert server.ranges == [f"bytes={len(payload)}-"] and (tmp_path / NAME).read_bytes() == payload


def test_sha256_mismatch_leaves_nothing_that_looks_complete(tmp_path, server):
    with pytest.raises(ChecksumError, match=r"sha256 [0-9a-f]{64}, expected 0{64}.*it was deleted"):
        download("dsprites", tmp_path, progress=False, url=server.url, sha256="0" * 64)
    assert list(tmp_path.iterdir()) == []


def test_manifest_md5_is_checked(tmp_path, server, payload):
    # no checksum override: the manifest's md5 of the published file applies, and the fixture differs
    with pytest.raises(
        ChecksumError, match=f"md5 {hashlib.md5(payload).hexdigest()}, expected {data_file('dsprites').md5}"
    ):
        download("dsprites", tmp_path, progress=False, url=server.url)
    assert list(tmp_path.iterdir()) == []


def test_variant_downloads_its_base_file(tmp_path, server, sha):
    path = download("noisy_dsprites", tmp_path, progress=False, url=server.url, sha256=sha)
    assert path.name == NAME


def test_http_error(tmp_path, server):
    with pytest.raises(DownloadError, match="HTTP 404"):
        download("dsprites", tmp_path, progress=False, url=server.url + ".missing", sha256="")
    assert list(tmp_path.iterdir()) == []


def test_unreachable_server_and_unknown_name(tmp_path):
    with pytest.raises(DownloadError, match="downloading http://127.0.0.1:9/x failed"):
        download("dsprites", tmp_path, progress=False, url="http://127.0.0.1:9/x", timeout=5)
    with pytest.raises(UnknownNameError, match="valid datasets"):
        download("3dshapes", tmp_path)
