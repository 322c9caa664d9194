"""Where a dataset's observations come from, for the record every score carries.

Numbers compared with the literature must say whether they were computed on disbench's
procedural render of a dataset or on the published file, and which file: its sha256 (the
record :mod:`disbench.data.integrity` keeps beside the file, re-hashed only when its size or
modification time changed) and whether it equals the one the manifest publishes.
"""

from __future__ import annotations

import os
from pathlib import Path

from disbench.data.integrity import file_digests, read_record, write_record
from disbench.errors import DisbenchError


def file_sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of ``path``: the integrity record's when it is current (same size and
    modification time), else hashed and recorded (``<file>.sha256.json``)."""
    path = Path(path)
    st = path.stat()
    record = read_record(path)
    if record is not None and (record.get("size"), record.get("mtime_ns")) == (st.st_size, st.st_mtime_ns):
        return record["sha256"]
    sha256 = file_digests(path)["sha256"]
    if record is None or record["sha256"] == sha256:
        try:
            write_record(path, sha256, source="provenance", recorded=(record or {}).get("recorded"))
        except OSError:  # a read-only data directory: hash again next time
            pass
    return sha256


def provenance(dataset) -> dict:
    """``{"dataset.name", "dataset.source", ...}``: where ``dataset``'s observations come from.

    ``dataset.source`` is ``"procedural"`` (rendered by disbench), ``"file"`` (read from the
    published file; then ``dataset.file``, ``dataset.sha256`` and
    ``dataset.sha256_matches_manifest``: True / False, or None when the manifest publishes
    no sha256), or ``"object"`` (a dataset object from outside disbench; ``dataset.class``
    names it).
    """
    base = getattr(dataset, "base", None) or dataset  # a variant renders from its base
    name = str(getattr(dataset, "name", "") or type(dataset).__name__)
    if not all(hasattr(dataset, a) for a in ("index_of", "factors_of", "validate_factors")):
        return {"dataset.name": name, "dataset.source": "object",
                "dataset.class": f"{type(dataset).__module__}.{type(dataset).__qualname__}"}
    path = getattr(base, "path", None)
    if path is None:
        return {"dataset.name": name, "dataset.source": "procedural"}
    digest = file_sha256(path)
    from disbench.data.manifest import data_files

    try:
        expected = [f.sha256 for f in data_files(name) if f.name == Path(path).name and f.sha256]
    except DisbenchError:  # a dataset without a manifest or file entry: nothing to compare with
        expected = []
    return {"dataset.name": name, "dataset.source": "file", "dataset.file": Path(path).name, "dataset.sha256": digest,
            "dataset.sha256_matches_manifest": (digest == expected[0]) if expected else None}
