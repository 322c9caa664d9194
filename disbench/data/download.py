"""Download a dataset's published files: from mirrors in order, resumable, checksummed, atomic.

Each file goes to ``<file>.part`` beside its final name. The manifest's ``urls`` are
mirrors of the same bytes, tried in order: a mirror that cannot be reached, answers with
an HTTP error, stops early or serves bytes that fail the checks is reported (which mirror
and why) and the next one is tried. An interrupted download resumes with an HTTP
``Range`` request for the missing tail, from the next mirror or on the next run (a server
that ignores ``Range`` sends the whole file again). The finished ``.part`` is checked
against the manifest's size, sha256 and md5 — each only where the manifest knows it — and
against the sha256 recorded on an earlier first use (:mod:`disbench.data.integrity`), and
renamed onto the final name only after every check passed, so a file under its final name
is always complete. A mismatch deletes the ``.part`` file. Where the manifest publishes no
sha256, the downloaded file's sha256 is recorded.
"""

from __future__ import annotations

import http.client
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from disbench.data.integrity import file_digests, read_record, record_path, write_record
from disbench.data.manifest import DataFile, data_files
from disbench.errors import ChecksumError, DisbenchError, InvalidInputError
from disbench.resources import data_dir

_CHUNK = 1 << 20


class DownloadError(DisbenchError):
    """No mirror could deliver the file; a partial file is kept for the next attempt."""


class _Mismatch(Exception):
    """The bytes a mirror served fail a check (internal: becomes ChecksumError)."""


def download(
    name: str,
    dest_dir: str | os.PathLike | None = None,
    progress: bool = True,
    *,
    url: str | None = None,
    sha256: str | None = None,
    md5: str | None = None,
    timeout: float = 60.0,
    echo: Callable[[str], None] | None = None,
) -> list[Path]:
    """Download dataset ``name``'s files into ``dest_dir`` (default the data cache); return their paths.

    A file already under its final name is returned as is. ``url`` replaces the manifest's
    mirrors (one URL of the same file); ``sha256``/``md5``, when either is given, replace
    the manifest's checksums and size (a file you trust). Both need a one-file dataset.
    An empty or unknown checksum is not checked. ``echo`` receives one line per failed
    mirror as it happens.

    Raises:
        UnknownNameError: unknown dataset.
        InvalidInputError: the dataset has no file (procedural only), or ``url``/``sha256``/
            ``md5`` given for a dataset of several files.
        DownloadError: no mirror delivered the file (each mirror and its failure are listed;
            a partial file is kept: re-run to resume).
        ChecksumError: every mirror's bytes failed the size, sha256, md5 or recorded-sha256
            check (the partial file is deleted).
    """
    specs = data_files(name)
    if (url is not None or sha256 is not None or md5 is not None) and len(specs) != 1:
        raise InvalidInputError(
            f"dataset {name!r} has {len(specs)} files; --url and --sha256 apply to one-file datasets only"
        )
    if url is not None:
        specs = tuple(replace(s, urls=(url,)) for s in specs)
    if sha256 is not None or md5 is not None:  # the caller's checksums replace the manifest's
        specs = tuple(replace(s, sha256=(sha256 or "").lower(), md5=(md5 or "").lower(), size=None) for s in specs)
    root = Path(dest_dir) if dest_dir is not None else data_dir()
    return [_download_file(name, spec, spec.path(root), progress, timeout, echo or (lambda _: None)) for spec in specs]


def _download_file(name: str, spec: DataFile, final: Path, progress, timeout, echo) -> Path:
    if final.is_file():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    part = final.with_name(final.name + ".part")
    failures, mismatches = [], 0
    for i, url in enumerate(spec.urls, 1):
        try:
            _fetch(url, part, progress, timeout, desc=spec.name)
            digests = _verify(part, final, spec)
        except (DownloadError, _Mismatch) as e:
            mismatches += isinstance(e, _Mismatch)
            failures.append(f"mirror {i}/{len(spec.urls)} {url}: {e}")
            echo(f"{name}: {failures[-1]}" + ("; trying the next mirror" if i < len(spec.urls) else ""))
            continue
        os.replace(part, final)
        if not spec.sha256 and read_record(final) is None:
            write_record(final, digests["sha256"], source=url)
        return final
    kept = part.stat().st_size if part.is_file() else 0
    summary = f"{name}: {spec.name} could not be downloaded: " + "; ".join(failures)
    if mismatches == len(failures):
        raise ChecksumError(
            f"{summary}. The partial file was deleted. Re-run `disbench datasets download {name}`; if it "
            "fails again the published file has changed (pass --sha256 to accept a file you trust)"
        )
    hint = f"re-run the same command to resume ({kept} bytes kept in {part})" if kept else "re-run the command"
    raise DownloadError(f"{summary}. Check the network or give a mirror with --url, then {hint}")


def _fetch(url: str, part: Path, progress: bool, timeout: float, desc: str) -> None:
    """Fetch ``url`` into ``part``, resuming from its current length when it exists.

    Raises:
        DownloadError: the reason only (the caller names the mirror).
    """
    have = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "disbench"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if have and response.status != 206:  # server ignored Range: start again
                have = 0
            length = response.headers.get("Content-Length")
            total = have + int(length) if length is not None else None
            with (
                open(part, "ab" if have else "wb") as out,
                tqdm(
                    total=total, initial=have, desc=desc, unit="B", unit_scale=True, disable=not progress
                ) as bar,
            ):
                received = 0
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
                out.flush()
                os.fsync(out.fileno())
            if length is not None and received < int(length):  # connection closed early
                raise DownloadError(f"stopped after {have + received} of {total} bytes")
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # nothing left to fetch: the partial file is whole
            return
        raise DownloadError(f"HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
        raise DownloadError(f"failed: {getattr(e, 'reason', e)}") from None


def _verify(part: Path, final: Path, spec: DataFile) -> dict[str, str]:
    """Check ``part`` against the manifest and the record of ``final``; delete it on a mismatch.

    Returns:
        its digests (``sha256``, ``md5``).

    Raises:
        _Mismatch: listing every failed check.
    """
    size = part.stat().st_size
    digests = file_digests(part)
    problems = []
    if spec.size is not None and size != spec.size:
        problems.append(f"size {size} bytes, expected {spec.size}")
    for algo in ("sha256", "md5"):
        expected = getattr(spec, algo)
        if expected and digests[algo] != expected:
            problems.append(f"{algo} {digests[algo]}, expected {expected}")
    record = read_record(final) if not spec.sha256 else None
    if record is not None and record["sha256"] != digests["sha256"]:
        problems.append(
            f"sha256 {digests['sha256']}, but {record['sha256']} was recorded on first use "
            f"({record.get('recorded', '?')}; delete {record_path(final)} to accept the new file)"
        )
    if problems:
        part.unlink()
        raise _Mismatch(f"does not match ({'; '.join(problems)}); deleted it")
    return digests
