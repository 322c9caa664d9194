"""Downloads from local HTTP servers: full, resumed, interrupted, mirror fall-through, checksum
mismatches, and the sha256 recorded on first use."""

import hashlib
import json
import os
from dataclasses import replace

import numpy as np
import pytest
from fixtures.data_files import DSPRITES_SMALL, dsprites_index_of, write_dsprites
from fixtures.http_server import PayloadServer

from disbench import data
from disbench.data.download import DownloadError, download
from disbench.data.integrity import record_path, verify
from disbench.data.manifest import data_files
from disbench.errors import ChecksumError, InvalidInputError, MissingFileError, UnknownNameError

NAME = data_files("dsprites")[0].name


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
    [path] = download("dsprites", progress=False, url=server.url, sha256=sha)
    assert path == tmp_path / NAME and path.read_bytes() == payload
    assert server.ranges == [None] and not (tmp_path / f"{NAME}.part").exists()
    ds = data.load("dsprites", source="file", factors_num_values=DSPRITES_SMALL)
    f = ds.sample_factors(8, 0)
    np.testing.assert_array_equal(
        dsprites_index_of(ds.sample_observations_from_factors(f, 0)), ds.index_of(f)
    )
    assert download("dsprites", progress=False, url=server.url, sha256=sha) == [path]  # present: no request
    assert len(server.ranges) == 1


def test_resume_from_a_partial_file(tmp_path, server, sha, payload):
    (tmp_path / f"{NAME}.part").write_bytes(payload[:1000])
    [path] = download("dsprites", tmp_path, progress=False, url=server.url, sha256=sha)
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
    with pytest.raises(ChecksumError, match=r"mirror 1/1 .*sha256 [0-9a-f]{64}, expected 0{64}.*deleted"):
        download("dsprites", tmp_path, progress=False, url=server.url, sha256="0" * 64)
    assert list(tmp_path.iterdir()) == []


def test_manifest_md5_is_checked(tmp_path, server, payload):
    # no checksum override: the manifest's md5 of the published file applies, and the fixture differs
    with pytest.raises(
        ChecksumError, match=f"md5 {hashlib.md5(payload).hexdigest()}, expected {data_files('dsprites')[0].md5}"
    ):
        download("dsprites", tmp_path, progress=False, url=server.url)
    assert list(tmp_path.iterdir()) == []


def test_variant_downloads_its_base_file(tmp_path, server, sha):
    [path] = download("noisy_dsprites", tmp_path, progress=False, url=server.url, sha256=sha)
    assert path.name == NAME


def test_http_error(tmp_path, server):
    with pytest.raises(DownloadError, match="HTTP 404"):
        download("dsprites", tmp_path, progress=False, url=server.url + ".missing", sha256="")
    assert list(tmp_path.iterdir()) == []


def test_unreachable_server_and_unknown_name(tmp_path):
    with pytest.raises(DownloadError, match="mirror 1/1 http://127.0.0.1:9/x: failed"):
        download("dsprites", tmp_path, progress=False, url="http://127.0.0.1:9/x", timeout=5)
    with pytest.raises(UnknownNameError, match="valid datasets"):
        download("3dshapes", tmp_path)


# --- mirrors ------------------------------------------------------------------------------
def with_mirrors(monkeypatch, *urls, **checksums):
    """Give dSprites' manifest entry the mirrors ``urls`` and ``checksums`` (default none) for one test."""
    checksums = {"sha256": "", "md5": "", **checksums}
    spec = replace(data_files("dsprites")[0], urls=urls, size=None, **checksums)
    monkeypatch.setattr("disbench.data.download.data_files", lambda name: (spec,))


@pytest.fixture
def other(payload):
    """A second server, serving other bytes under the same name (a mirror gone wrong)."""
    with PayloadServer(payload[::-1], NAME) as srv:
        yield srv


def test_falls_through_a_dead_mirror_and_says_why(tmp_path, server, sha, payload, monkeypatch):
    lines = []
    with_mirrors(monkeypatch, "http://127.0.0.1:9/gone.npz", server.url + ".missing", server.url, sha256=sha)
    [path] = download("dsprites", tmp_path, progress=False, timeout=5, echo=lines.append)
    assert path.read_bytes() == payload
    assert len(lines) == 2
    assert lines[0].startswith("dsprites: mirror 1/3 http://127.0.0.1:9/gone.npz: failed")
    assert lines[0].endswith("trying the next mirror")
    assert lines[1].startswith(f"dsprites: mirror 2/3 {server.url}.missing: HTTP 404")


def test_next_mirror_resumes_an_interrupted_download(tmp_path, payload, sha, monkeypatch):
    with PayloadServer(payload, NAME) as first, PayloadServer(payload, NAME) as second:
        cut = first.cut_after = len(payload) // 3
        lines = []
        with_mirrors(monkeypatch, first.url, second.url, sha256=sha)
        [path] = download("dsprites", tmp_path, progress=False, echo=lines.append)
        assert first.ranges == [None] and second.ranges == [f"bytes={cut}-"]
    assert path.read_bytes() == payload
    assert lines == [f"dsprites: mirror 1/2 {first.url}: stopped after {cut} of {len(payload)} bytes; trying the next mirror"]


def test_checksum_mismatch_on_one_mirror_falls_through(tmp_path, server, other, sha, payload, monkeypatch):
    lines = []
    with_mirrors(monkeypatch, other.url, server.url, sha256=sha)
    [path] = download("dsprites", tmp_path, progress=False, echo=lines.append)
    assert path.read_bytes() == payload
    assert other.ranges == [None] and server.ranges == [None]  # the bad bytes were deleted, not resumed
    wrong = hashlib.sha256(payload[::-1]).hexdigest()
    assert lines == [
        f"dsprites: mirror 1/2 {other.url}: does not match (sha256 {wrong}, expected {sha}); deleted it; "
        "trying the next mirror"
    ]


def test_every_mirror_failing_lists_each(tmp_path, server, other, sha, monkeypatch):
    with_mirrors(monkeypatch, other.url, server.url, sha256="0" * 64)
    with pytest.raises(ChecksumError, match=r"mirror 1/2 .*expected 0{64}.*; mirror 2/2 .*expected 0{64}.*--sha256") as e:
        download("dsprites", tmp_path, progress=False)
    assert other.url in str(e.value) and server.url in str(e.value)
    assert list(tmp_path.iterdir()) == []
    server.cut_after = 100
    with_mirrors(monkeypatch, other.url, server.url, sha256=sha)
    with pytest.raises(DownloadError, match=r"mirror 1/2 .*does not match.*mirror 2/2 .*stopped after 100 of") as e:
        download("dsprites", tmp_path, progress=False)
    assert "re-run the same command to resume (100 bytes kept" in str(e.value)


# --- sha256 recorded on first use -----------------------------------------------------------
def test_unpublished_sha256_is_recorded_and_a_changed_file_detected(tmp_path, server, other, payload, monkeypatch):
    monkeypatch.setenv("DISBENCH_DATA", str(tmp_path))
    with_mirrors(monkeypatch, server.url)  # as a manifest that publishes no checksum
    [path] = download("dsprites", progress=False)
    record = json.loads(record_path(path).read_text())
    assert record["sha256"] == hashlib.sha256(payload).hexdigest() and record["source"] == server.url
    assert record["size"] == len(payload)
    ds = data.load("dsprites", source="file", factors_num_values=DSPRITES_SMALL)  # unchanged: loads
    assert ds.path == path
    # the published file changes: a fresh download is refused and nothing is left behind
    path.unlink()
    with_mirrors(monkeypatch, other.url)
    with pytest.raises(ChecksumError, match=f"was recorded on first use.*delete {record_path(path)}"):
        download("dsprites", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [record_path(path).name]
    # the file on disk changes under the loader: detected on the next load
    path.write_bytes(payload[:100] + bytes([payload[100] ^ 0xFF]) + payload[101:])
    os.utime(path, ns=(0, 10**18))  # same size; a coarse clock may not have moved the mtime
    with pytest.raises(ChecksumError, match="the file changed.*disbench datasets download dsprites"):
        data.load("dsprites", source="file", factors_num_values=DSPRITES_SMALL)


def test_first_load_records_a_file_put_in_place_by_hand(tmp_path, payload, monkeypatch):
    monkeypatch.setenv("DISBENCH_DATA", str(tmp_path))
    path = tmp_path / NAME
    path.write_bytes(payload)
    data.load("dsprites", source="file", factors_num_values=DSPRITES_SMALL)
    first = json.loads(record_path(path).read_text())
    assert first["sha256"] == hashlib.sha256(payload).hexdigest() and first["source"] == "first load"
    os.utime(path, ns=(0, 10**18))  # touched, same bytes: accepted, the record keeps its first time
    data.load("dsprites", source="file", factors_num_values=DSPRITES_SMALL)
    second = json.loads(record_path(path).read_text())
    assert second["mtime_ns"] == 10**18 and second["recorded"] == first["recorded"]


def test_verify(tmp_path, payload, monkeypatch):
    monkeypatch.setenv("DISBENCH_DATA", str(tmp_path))
    with pytest.raises(MissingFileError, match="disbench datasets download dsprites"):
        verify("dsprites")
    path = tmp_path / NAME
    path.write_bytes(payload)
    # the manifest's md5 is the published file's, which a fixture is not
    with pytest.raises(ChecksumError, match=f"md5 {hashlib.md5(payload).hexdigest()}, expected"):
        verify("dsprites")
    spec = replace(data_files("dsprites")[0], md5=hashlib.md5(payload).hexdigest())
    monkeypatch.setattr("disbench.data.integrity.data_files", lambda name: (spec,))
    sha = hashlib.sha256(payload).hexdigest()
    assert verify("dsprites") == [
        f"{path}: sha256 {sha}; checked against the manifest's md5, "
        "nothing recorded before (sha256 recorded now: the manifest publishes none)"
    ]
    [line] = verify("dsprites")
    assert line.endswith(f"the sha256 recorded on first use ({json.loads(record_path(path).read_text())['recorded']})")
    path.write_bytes(payload[::-1])
    with pytest.raises(ChecksumError, match=f"md5 .*, expected {spec.md5}. Delete the file"):
        verify("dsprites")
    spec = replace(spec, md5="")  # no checksum published at all: the record still catches it
    with pytest.raises(ChecksumError, match=f"sha256 .*, but {sha} was recorded on first use"):
        verify("dsprites")


def test_several_files_need_the_manifest_urls(tmp_path):
    with pytest.raises(InvalidInputError, match="has 6 files"):
        download("smallnorb", tmp_path, url="http://127.0.0.1:9/x")
