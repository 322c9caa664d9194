"""Checksums of data files: against the manifest, and against what was seen on first use.

Where a manifest publishes a sha256 the file is checked against it (at download and by
:func:`verify`). Where it publishes none (dSprites, MPI3D, Cars3D's md5-only archive, the
Scream painting), the sha256 of the file is *recorded* in the data cache on its first use —
when :func:`~disbench.data.download.download` finishes it, or when a loader first opens it
(:func:`check_recorded`) — as ``<file>.sha256.json`` beside it, holding the sha256 and the
file's size and modification time. A later use re-hashes only when the size or time
changed, and a different sha256 raises :class:`~disbench.errors.ChecksumError`: a file
replaced on disk, or a mirror now serving other bytes, is detected instead of silently
changing results. Deleting the record accepts the file as it is now.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

from disbench.data.manifest import DataFile, data_files, missing_file_error
from disbench.errors import ChecksumError
from disbench.io import write_json_atomic

_CHUNK = 1 << 20
RECORD_SUFFIX = ".sha256.json"


def file_digests(path: Path) -> dict[str, str]:
    """sha256 and md5 hex digests of a file, read once in 1 MiB chunks."""
    sha, md = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            sha.update(chunk)
            md.update(chunk)
    return {"sha256": sha.hexdigest(), "md5": md.hexdigest()}


def record_path(path: Path) -> Path:
    """Where the sha256 of ``path`` seen on first use is recorded."""
    return path.with_name(path.name + RECORD_SUFFIX)


def read_record(path: Path) -> dict | None:
    """The record of ``path`` (keys ``sha256``, ``size``, ``mtime_ns``, ``recorded``, ``source``),
    or None when there is none or it cannot be read."""
    try:
        record = json.loads(record_path(path).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and "sha256" in record else None


def write_record(path: Path, sha256: str, source: str, recorded: str | None = None) -> None:
    """Record ``sha256`` of ``path`` with its current size and mtime (atomically);
    ``recorded`` (ISO time of the first record) defaults to now."""
    st = path.stat()
    write_json_atomic(
        record_path(path),
        {
            "sha256": sha256,
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
            "recorded": recorded or dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "source": source,
        },
    )


def changed_error(name: str, path: Path, record: dict, sha256: str) -> ChecksumError:
    """The error for a file whose sha256 differs from the one recorded on first use."""
    return ChecksumError(
        f"{name}: {path} has sha256 {sha256}, but {record['sha256']} was recorded on first use "
        f"({record.get('recorded', '?')}, from {record.get('source', '?')}) and the manifest publishes "
        f"none: the file changed. Delete it and re-download it with `disbench datasets download {name}`, "
        f"or delete {record_path(path)} to accept it as it is now"
    )


def check_recorded(name: str, spec: DataFile, path: Path) -> None:
    """A loader's first-use hook: record or check the sha256 of ``path`` when the manifest
    publishes no sha256 for ``spec`` (otherwise nothing: the download checked it).

    Hashes the file only when there is no record yet or its size/mtime changed.

    Raises:
        ChecksumError: the file's sha256 differs from the one recorded.
    """
    if spec.sha256:
        return
    record = read_record(path)
    st = path.stat()
    if record is not None and (record.get("size"), record.get("mtime_ns")) == (st.st_size, st.st_mtime_ns):
        return
    sha256 = file_digests(path)["sha256"]
    if record is not None and record["sha256"] != sha256:
        raise changed_error(name, path, record, sha256)
    if record is None:
        write_record(path, sha256, source="first load")
    else:  # touched, same bytes: keep the first record's source and time
        write_record(path, sha256, source=record.get("source", "?"), recorded=record.get("recorded"))


def verify(name: str) -> list[str]:
    """Re-hash every present file of dataset ``name`` against its manifest (size, sha256,
    md5, each where published) and against the sha256 recorded on first use; record one
    where the manifest publishes no sha256 and none was recorded yet.

    Returns:
        one line per file saying what it was checked against.

    Raises:
        UnknownNameError: unknown dataset.
        InvalidInputError: the dataset has no file (procedural only).
        MissingFileError: a file is absent (the message gives the download command).
        ChecksumError: a file does not match (the message lists every mismatch).
    """
    lines, problems = [], []
    for spec in data_files(name):
        path = spec.path()
        if not path.is_file():
            raise missing_file_error(name, path)
        digests = file_digests(path)
        size = path.stat().st_size
        checked = []
        if spec.size is not None:
            checked.append("the manifest's size")
            if size != spec.size:
                problems.append(f"{path}: size {size} bytes, expected {spec.size}")
        for algo in ("sha256", "md5"):
            expected = getattr(spec, algo)
            if expected:
                checked.append(f"the manifest's {algo}")
                if digests[algo] != expected:
                    problems.append(f"{path}: {algo} {digests[algo]}, expected {expected}")
        if not spec.sha256 and not problems:
            record = read_record(path)
            if record is None:
                write_record(path, digests["sha256"], source="disbench datasets verify")
                checked.append("nothing recorded before (sha256 recorded now: the manifest publishes none)")
            elif record["sha256"] != digests["sha256"]:
                problems.append(str(changed_error(name, path, record, digests["sha256"])))
            else:
                write_record(path, digests["sha256"], record.get("source", "?"), record.get("recorded"))
                checked.append(f"the sha256 recorded on first use ({record.get('recorded', '?')})")
        lines.append(f"{path}: sha256 {digests['sha256']}; checked against {', '.join(checked)}")
    if problems:
        raise ChecksumError(
            f"{name}: {'; '.join(problems)}. Delete the file and re-download it with "
            f"`disbench datasets download {name}`"
        )
    return lines
