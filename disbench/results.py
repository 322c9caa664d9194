"""The results store: one directory per run plus an SQLite index.

Layout of a results directory ``ROOT`` (the ``--out`` of ``disbench run``)::

    ROOT/
      index.sqlite           the index (stdlib sqlite3, WAL mode); rebuilt by ``repair``
      runs/<run_id>/         one run (see results/README.md):
        run.json             what was asked: kind, name, dataset, profile, seed, metrics
        config.json          resolved training config (written by disbench.train)
        status.json          {"state": "running"|"completed"|"failed", "step", "error", ...}
        metrics.json         flat metrics dict (written by evaluation)
        train_log.csv, checkpoints/, samples.png, traversals.png, env.json ...

The run directories are the truth; the index is a cache of them that makes listing and
leaderboards fast. Several processes may write the index at once: every write is one
``BEGIN IMMEDIATE`` transaction with a long busy timeout, so a killed writer leaves the
index as it was before its transaction. An index written by another disbench version or
schema, or one SQLite cannot read, raises :class:`ResultsStoreError` whose message names
``disbench results repair``; :meth:`ResultsStore.repair` moves the old index aside
(never deletes it) and rebuilds it from the run directories.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from disbench import __version__
from disbench.errors import DisbenchError, UnknownNameError
from disbench.io import read_json, write_json_atomic

SCHEMA_VERSION = 1
INDEX_NAME = "index.sqlite"
RUNS_DIR = "runs"
RUN_SPEC = "run.json"
STATES = ("planned", "running", "completed", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    model TEXT,
    dataset TEXT NOT NULL,
    profile TEXT NOT NULL,
    seed INTEGER NOT NULL,
    state TEXT NOT NULL,
    step INTEGER,
    error TEXT,
    metric_preset TEXT,
    disbench_version TEXT,
    spec TEXT NOT NULL,
    metrics TEXT,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_state ON runs (state);
"""
_COLUMNS = (
    "run_id", "kind", "name", "model", "dataset", "profile", "seed", "state", "step", "error",
    "metric_preset", "disbench_version", "spec", "metrics", "updated",
)  # fmt: skip


class ResultsStoreError(DisbenchError):
    """The results index is damaged or was written by another disbench version."""


@dataclass
class RunRecord:
    """One run as the index holds it.

    ``spec`` is the run's ``run.json`` (kind, name, model, dataset, profile, seed,
    metrics, metric_preset, display_name, supervision, representation, resolved
    config); ``metrics`` the flat dict of ``metrics.json`` or None before evaluation.
    """

    run_id: str
    kind: str
    name: str
    model: str | None
    dataset: str
    profile: str
    seed: int
    state: str
    step: int | None = None
    error: str | None = None
    metric_preset: str | None = None
    disbench_version: str | None = __version__
    spec: dict = field(default_factory=dict)
    metrics: dict | None = None
    updated: float = field(default_factory=time.time)

    @classmethod
    def from_dir(cls, run_dir: Path) -> RunRecord:
        """Read a run directory (``run.json``, ``status.json``, ``metrics.json``).

        A run without ``status.json`` is "planned"; one whose metrics are missing after
        training is reported as "running" (evaluation pending or interrupted).

        Raises:
            ResultsStoreError: ``run.json`` is missing or unreadable.
        """
        run_dir = Path(run_dir)
        spec = read_json(run_dir / RUN_SPEC)
        if spec is None:
            raise ResultsStoreError(f"{run_dir} has no readable {RUN_SPEC}; it is not a disbench run directory")
        status = read_json(run_dir / "status.json", {})
        metrics = read_json(run_dir / "metrics.json")
        state = status.get("state", "planned")
        if state == "completed" and metrics is None:
            state = "running"
        return cls(
            run_id=spec["run_id"],
            kind=spec["kind"],
            name=spec["name"],
            model=spec.get("model"),
            dataset=spec["dataset"],
            profile=spec["profile"],
            seed=int(spec["seed"]),
            state=state,
            step=max(status["step"], logged_step(run_dir)) if status.get("step") is not None else None,
            error=status.get("error"),
            metric_preset=(metrics or {}).get("metric_preset", spec.get("metric_preset")),
            disbench_version=spec.get("disbench_version"),
            spec=spec,
            metrics=metrics,
            updated=(run_dir / "status.json").stat().st_mtime if (run_dir / "status.json").exists() else time.time(),
        )

    def to_row(self) -> tuple:
        d = asdict(self)
        d["spec"] = json.dumps(self.spec, sort_keys=True)
        d["metrics"] = None if self.metrics is None else json.dumps(self.metrics, sort_keys=True)
        return tuple(d[c] for c in _COLUMNS)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> RunRecord:
        d = dict(row)
        d["spec"] = json.loads(d["spec"])
        d["metrics"] = None if d["metrics"] is None else json.loads(d["metrics"])
        return cls(**d)


def variant_label(variant: dict) -> str:
    """How a run's change to its preset profile is written: ``{"beta": 1.0}`` -> ``"beta=1"``
    (keys sorted, comma-separated; numbers in ``%g``)."""
    return ",".join(f"{k}={v:g}" if isinstance(v, int | float) and not isinstance(v, bool) else f"{k}={v}"
                    for k, v in sorted(variant.items()))  # fmt: skip


def row_name(spec: dict) -> str:
    """The row a run belongs to: its ``name``, followed by ``+<variant>`` when its spec changes
    the preset's profile (``beta_vae+beta=1``; a study's grid points; ``--set``, whose profile
    keys, the spec's ``settings``, join the label: ``beta_vae+beta=8,steps=2000``). Used by the
    run id and the leaderboard, so that runs of different settings never share a row."""
    variant = {**(spec.get("variant") or {}), **(spec.get("settings") or {})}
    return spec["name"] + (f"+{variant_label(variant)}" if variant else "")


def logged_step(run_dir: Path) -> int:
    """The step of the last line of ``train_log.csv`` (0 when there is none yet)."""
    try:
        with open(run_dir / "train_log.csv", "rb") as f:
            f.seek(max(0, f.seek(0, 2) - 512))
            last = f.read().splitlines()[-1].decode()
        return int(float(last.split(",")[0]))
    except (FileNotFoundError, IndexError, ValueError, UnicodeDecodeError):
        return 0


class ResultsStore:
    """A results directory: run directories under ``ROOT/runs`` and ``ROOT/index.sqlite``.

    Args:
        root: the results directory; created when ``create`` is true.
        create: make the directory and an empty index (indexing any run directories
            already present) when the index is absent.

    Raises:
        ResultsStoreError: ``root`` holds no results and ``create`` is false; or the
            index is damaged or from another schema / disbench version (the message
            names ``disbench results repair``).
    """

    def __init__(self, root: str | Path, *, create: bool = True):
        self.root = Path(root)
        self.index_path = self.root / INDEX_NAME
        self.runs_dir = self.root / RUNS_DIR
        if not self.index_path.exists():
            if not create and not self.runs_dir.is_dir():
                raise ResultsStoreError(f"{self.root} is not a disbench results directory (no {INDEX_NAME})")
            self.runs_dir.mkdir(parents=True, exist_ok=True)
            self._init_index()
            self._reindex()
        self._check()

    # --- connections -----------------------------------------------------------------------
    @contextlib.contextmanager
    def _connect(self, write: bool = False, path: Path | None = None):
        con = sqlite3.connect(path or self.index_path, timeout=120.0, isolation_level=None)
        con.row_factory = sqlite3.Row
        try:
            con.execute("PRAGMA busy_timeout = 120000")
            if write:
                con.execute("BEGIN IMMEDIATE")
                try:
                    yield con
                    con.execute("COMMIT")
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
            else:
                yield con
        finally:
            con.close()

    def _init_index(self) -> None:
        """Create the index atomically: build it in a temporary file, then hard-link it into
        place unless another process was first (so no one ever sees a half-made index)."""
        fd, tmp = tempfile.mkstemp(prefix=".index.", suffix=".tmp", dir=self.root)
        os.close(fd)
        try:
            with self._connect(path=Path(tmp)) as con:
                con.execute("PRAGMA journal_mode = WAL")
            with self._connect(write=True, path=Path(tmp)) as con:
                for statement in _SCHEMA.strip().split(";"):
                    if statement.strip():
                        con.execute(statement)
                con.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [("schema_version", str(SCHEMA_VERSION)), ("disbench_version", __version__)],
                )
            with contextlib.suppress(FileExistsError):
                os.link(tmp, self.index_path)
        finally:
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp + suffix)

    def _check(self) -> None:
        repair = f"run `disbench results repair {self.root}` to rebuild it from the run directories (nothing is deleted)"
        try:
            with self._connect() as con:
                meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
                con.execute("SELECT run_id FROM runs LIMIT 1").fetchall()
        except sqlite3.DatabaseError as e:
            raise ResultsStoreError(f"the results index {self.index_path} is damaged ({e}); {repair}") from None
        schema, version = meta.get("schema_version"), meta.get("disbench_version")
        if schema != str(SCHEMA_VERSION) or version != __version__:
            raise ResultsStoreError(
                f"the results index {self.index_path} was written by disbench {version} (schema {schema}); "
                f"this is disbench {__version__} (schema {SCHEMA_VERSION}); {repair}"
            )

    # --- runs ------------------------------------------------------------------------------
    def run_dir(self, run_id: str) -> Path:
        """Directory of run ``run_id`` (not created)."""
        return self.runs_dir / run_id

    def write_spec(self, spec: dict) -> Path:
        """Create the run directory of ``spec`` and write its ``run.json`` atomically."""
        run_dir = self.run_dir(spec["run_id"])
        run_dir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(run_dir / RUN_SPEC, spec)
        return run_dir

    def upsert(self, record: RunRecord) -> None:
        """Insert or replace ``record`` in the index (one transaction)."""
        placeholders = ", ".join("?" for _ in _COLUMNS)
        with self._connect(write=True) as con:
            con.execute(f"INSERT OR REPLACE INTO runs ({', '.join(_COLUMNS)}) VALUES ({placeholders})", record.to_row())

    def sync(self, run_id: str) -> RunRecord:
        """Re-read run ``run_id``'s directory and update its index row; return the record."""
        record = RunRecord.from_dir(self.run_dir(run_id))
        self.upsert(record)
        return record

    def refresh(self) -> None:
        """Re-read the directories of runs indexed as planned or running (a killed job
        leaves their rows behind their directories) and update those rows."""
        for record in self.records(state="planned") + self.records(state="running"):
            with contextlib.suppress(ResultsStoreError, KeyError, TypeError, ValueError, FileNotFoundError):
                self.sync(record.run_id)

    def get(self, run_id: str) -> RunRecord | None:
        """The indexed record of ``run_id``, or None."""
        with self._connect() as con:
            row = con.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return None if row is None else RunRecord.from_row(row)

    def find(self, prefix: str) -> RunRecord:
        """The one record whose run id starts with ``prefix`` (case-sensitive, taken literally:
        ``_`` and ``%`` are not wildcards).

        Raises:
            UnknownNameError: no run or several runs match.
        """
        with self._connect() as con:
            rows = con.execute(
                "SELECT * FROM runs WHERE substr(run_id, 1, ?) = ? ORDER BY run_id", (len(prefix), prefix)
            ).fetchall()
        if len(rows) != 1:
            what = "no run" if not rows else f"{len(rows)} runs"
            raise UnknownNameError(f"{what} in {self.root} match {prefix!r}; see `disbench results list {self.root}`")
        return RunRecord.from_row(rows[0])

    def records(self, *, state: str | None = None, kind: str | None = None) -> list[RunRecord]:
        """All indexed records (optionally only one state / kind), ordered by run id."""
        query, args = "SELECT * FROM runs", []
        conds = [(c, v) for c, v in (("state", state), ("kind", kind)) if v is not None]
        if conds:
            query += " WHERE " + " AND ".join(f"{c} = ?" for c, _ in conds)
            args = [v for _, v in conds]
        with self._connect() as con:
            rows = con.execute(query + " ORDER BY run_id", args).fetchall()
        return [RunRecord.from_row(r) for r in rows]

    # --- repair ----------------------------------------------------------------------------
    @classmethod
    def repair(cls, root: str | Path) -> tuple[ResultsStore, list[Path], list[str]]:
        """Rebuild the index of ``root`` from its run directories.

        The old index (and its ``-wal``/``-shm`` files) is renamed to
        ``index.sqlite.broken-<unix time>``, never deleted; run directories are only read.

        Returns:
            (the store, the paths the old index files were moved to, the run directories
            that could not be read and were left out).
        """
        root = Path(root)
        if not (root / RUNS_DIR).is_dir() and not (root / INDEX_NAME).exists():
            raise ResultsStoreError(f"{root} is not a disbench results directory (no {RUNS_DIR}/ or {INDEX_NAME})")
        stamp = int(time.time())
        moved = []
        for suffix in ("", "-wal", "-shm"):
            old = root / (INDEX_NAME + suffix)
            if old.exists():
                new = root / f"{INDEX_NAME}.broken-{stamp}{suffix}"
                old.rename(new)
                moved.append(new)
        store = cls.__new__(cls)
        store.root, store.index_path, store.runs_dir = root, root / INDEX_NAME, root / RUNS_DIR
        store.runs_dir.mkdir(parents=True, exist_ok=True)
        store._init_index()
        skipped = store._reindex()
        store._check()
        return store, moved, skipped

    def _reindex(self) -> list[str]:
        skipped = []
        for run_dir in sorted(p for p in self.runs_dir.iterdir() if p.is_dir()):
            try:
                self.upsert(RunRecord.from_dir(run_dir))
            except (ResultsStoreError, KeyError, TypeError, ValueError):
                skipped.append(str(run_dir))
        return skipped
