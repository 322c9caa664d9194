"""Where a dataset's observations come from, for the record every score carries.

Numbers compared with the literature must say whether they were computed on disbench's
procedural render of a dataset or on the published file, and which file: the file's
sha256 (computed once per file version and remembered in ``DATA_DIR/sha256.json``, keyed
by path, size and modification time) and whether it equals the manifest's.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from disbench.errors import DisbenchError
from disbench.io import write_json_atomic
from disbench.resources import data_dir

CHECKSUMS = "sha256.json"


def file_sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of ``path``, remembered by (path, size, mtime) in ``DATA_DIR/sha256.json``."""
    path = Path(path).resolve()
    st = path.stat()
    key = f"{path}:{st.st_size}:{st.st_mtime_ns}"
    memo_path = data_dir() / CHECKSUMS
    try:
        memo = json.loads(memo_path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        memo = {}
    if key not in memo:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        memo[key] = h.hexdigest()
        try:
            memo_path.parent.mkdir(parents=True, exist_ok=True)
            write_json_atomic(memo_path, memo)
        except OSError:  # a read-only data directory: recompute next time
            pass
    return memo[key]


def provenance(dataset) -> dict:
    """``{"dataset.name", "dataset.source", ...}``: where ``dataset``'s observations come from.

    ``dataset.source`` is ``"procedural"`` (rendered by disbench), ``"file"`` (read from the
    published file; then ``dataset.file``, ``dataset.sha256`` and
    ``dataset.sha256_matches_manifest``), or ``"object"`` (a dataset object from outside
    disbench; ``dataset.class`` names it).
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
    from disbench.data.manifest import data_file

    try:
        expected = data_file(name).sha256
    except DisbenchError:  # a dataset without a manifest or file entry: nothing to compare with
        expected = ""
    return {"dataset.name": name, "dataset.source": "file", "dataset.file": Path(path).name, "dataset.sha256": digest,
            "dataset.sha256_matches_manifest": bool(expected) and digest == expected}
