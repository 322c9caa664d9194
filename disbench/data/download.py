"""Download a dataset's published file: resumable, checksummed, atomic.

The bytes go to ``<file>.part`` beside the final file. An interrupted download resumes
with an HTTP ``Range`` request for the missing tail (a server that ignores ``Range`` gets
the whole file again). The finished ``.part`` is checked against the manifest's size,
sha256 and md5 — each only where the manifest knows it — and renamed onto the final name
only after every known check passed, so a file under its final name is always complete.
A mismatch deletes the ``.part`` file and raises :class:`~disbench.errors.ChecksumError`.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from disbench.data.manifest import data_file
from disbench.errors import ChecksumError, DisbenchError
from disbench.resources import data_dir

_CHUNK = 1 << 20


class DownloadError(DisbenchError):
    """The server could not be reached or refused the request; the partial file is kept."""


def download(
    name: str,
    dest_dir: str | os.PathLike | None = None,
    progress: bool = True,
    *,
    url: str | None = None,
    sha256: str | None = None,
    md5: str | None = None,
    timeout: float = 60.0,
) -> Path:
    """Download dataset ``name``'s file into ``dest_dir`` (default the data cache); return its path.

    A file already under its final name is returned as is. ``url`` overrides the
    manifest's URL (a mirror of the same file); ``sha256``/``md5``, when either is given,
    replace the manifest's checksums and size (a file you trust). An empty or unknown
    checksum is not checked.

    Raises:
        UnknownNameError: unknown dataset.
        InvalidInputError: the dataset has no file (procedural only).
        DownloadError: network or HTTP failure (the partial file is kept; re-run to resume).
        ChecksumError: size, sha256 or md5 mismatch (the partial file is deleted).
    """
    spec = data_file(name)
    if url is not None:
        spec = replace(spec, url=url)
    if sha256 is not None or md5 is not None:  # the caller's checksums replace the manifest's
        spec = replace(spec, sha256=(sha256 or "").lower(), md5=(md5 or "").lower(), size=None)
    final = spec.path(Path(dest_dir) if dest_dir is not None else data_dir())
    if final.is_file():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    part = final.with_name(final.name + ".part")
    _fetch(spec.url, part, progress, timeout, desc=spec.name)
    _verify(part, name, spec)
    os.replace(part, final)
    return final


def _fetch(url: str, part: Path, progress: bool, timeout: float, desc: str) -> None:
    """Fetch ``url`` into ``part``, resuming from its current length when it exists."""
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
                raise DownloadError(
                    f"downloading {url} stopped after {have + received} of {total} bytes{_resume_hint(part)}"
                )
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # nothing left to fetch: the partial file is whole
            return
        raise DownloadError(
            f"downloading {url} failed: HTTP {e.code} {e.reason}; check the URL (--url) and re-run"
        ) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
        raise DownloadError(
            f"downloading {url} failed: {getattr(e, 'reason', e)}{_resume_hint(part)}"
        ) from None


def _resume_hint(part: Path) -> str:
    kept = part.stat().st_size if part.is_file() else 0
    return f"; re-run the same command to resume ({kept} bytes kept in {part})" if kept else ""


def file_digests(path: Path) -> dict[str, str]:
    """sha256 and md5 hex digests of a file, read once in 1 MiB chunks."""
    sha, md = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            sha.update(chunk)
            md.update(chunk)
    return {"sha256": sha.hexdigest(), "md5": md.hexdigest()}


def _verify(part: Path, name: str, spec) -> None:
    size = part.stat().st_size
    problems = []
    if spec.size is not None and size != spec.size:
        problems.append(f"size {size} bytes, expected {spec.size}")
    if spec.sha256 or spec.md5:
        digests = file_digests(part)
        for algo in ("sha256", "md5"):
            expected = getattr(spec, algo)
            if expected and digests[algo] != expected:
                problems.append(f"{algo} {digests[algo]}, expected {expected}")
    if problems:
        part.unlink()
        raise ChecksumError(
            f"{name}: the download from {spec.url} does not match its manifest ({'; '.join(problems)}); "
            f"it was deleted. Re-run `disbench datasets download {name}`; if it fails again the "
            "published file has changed (pass --sha256 to accept a file you trust)"
        )
