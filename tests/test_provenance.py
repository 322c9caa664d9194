"""Dataset provenance recorded with every score (disbench.data.provenance)."""

import hashlib

from metrics_helpers import TinyDataset

from disbench.data.integrity import read_record
from disbench.data.provenance import file_sha256, provenance


class FileTiny(TinyDataset):
    """A TinyDataset that says it reads a published file."""

    def __init__(self, path):
        super().__init__()
        self.path = path


def test_procedural_file_and_foreign_sources(tmp_path, monkeypatch):
    monkeypatch.setenv("DISBENCH_DATA", str(tmp_path / "data"))
    assert provenance(TinyDataset()) == {"dataset.name": "tiny", "dataset.source": "procedural"}
    f = tmp_path / "tiny.npz"
    f.write_bytes(b"not really an npz" * 100)
    out = provenance(FileTiny(f))
    assert out["dataset.source"] == "file" and out["dataset.file"] == "tiny.npz"
    assert out["dataset.sha256"] == hashlib.sha256(f.read_bytes()).hexdigest()
    assert out["dataset.sha256_matches_manifest"] is None  # "tiny" has no manifest to match
    assert provenance(object())["dataset.source"] == "object"


def test_checksum_is_remembered_per_file_version(tmp_path, monkeypatch):
    monkeypatch.setenv("DISBENCH_DATA", str(tmp_path / "data"))
    f = tmp_path / "x.bin"
    f.write_bytes(b"a")
    first = file_sha256(f)
    assert read_record(f)["sha256"] == first  # kept beside the file, as disbench.data.integrity does
    f.write_bytes(b"bb")  # a new version (size changed): hashed again
    assert file_sha256(f) == hashlib.sha256(b"bb").hexdigest() != first
