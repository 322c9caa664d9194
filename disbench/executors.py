"""Where the runs of a job execute: in this process, in local worker processes, or on Ray.

Every executor has the same small interface, used by :func:`disbench.runner.run_benchmark`:

- ``run(task, specs, lost)`` yields one result per spec as runs finish (any order):
  ``task(spec)`` runs one run and returns its record; when the process running it dies
  (killed, out of memory, segfault) the executor retries it up to ``retries`` times and
  then yields ``lost(spec, message)`` (which records the run as failed).
- ``describe()`` says what it is, for the log line.
- ``threads_per_run()`` is the torch thread count each run should use (None: leave it).

``task`` must be picklable for the process and Ray executors (a module-level function or
a :func:`functools.partial` of one).
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from disbench.errors import DisbenchError, InvalidInputError

Task = Callable[[dict], object]
Lost = Callable[[dict, str], object]


class LocalExecutor:
    """Runs on this machine: in-process one after another (``workers=1``), or in
    ``workers`` spawned processes (:class:`concurrent.futures.ProcessPoolExecutor`).

    Args:
        workers: processes running at once; 1 runs in this process (a crash then ends
            the job, but a re-run resumes it).
        retries: how often a run whose worker process died is started again before it
            is recorded failed. Only runs that had started count an attempt when the
            pool breaks; queued ones are resubmitted free.

    Raises:
        InvalidInputError: ``workers`` < 1 or ``retries`` < 0.
    """

    def __init__(self, workers: int = 1, retries: int = 1):
        if workers < 1 or retries < 0:
            raise InvalidInputError(f"workers must be >= 1 and retries >= 0, got workers={workers} retries={retries}")
        self.workers, self.retries = int(workers), int(retries)

    def describe(self) -> str:
        return "1 local process" if self.workers == 1 else f"{self.workers} local worker processes"

    def threads_per_run(self) -> int | None:
        return None if self.workers == 1 else max(1, (os.cpu_count() or 1) // self.workers)

    def run(self, task: Task, specs: list[dict], lost: Lost) -> Iterator:
        if self.workers == 1:
            for spec in specs:
                yield task(spec)
            return
        yield from self._run_pool(task, specs, lost)

    def _run_pool(self, task: Task, specs: list[dict], lost: Lost) -> Iterator:
        # When the pool breaks with several runs in flight the culprit is unknown: those runs
        # are retried alone (one-process pool), where a death is charged to the run itself.
        attempts = {s["run_id"]: 0 for s in specs}
        queue = [(spec, False) for spec in specs]  # (spec, run alone)
        with tempfile.TemporaryDirectory(prefix="disbench-started-") as started:
            while queue:
                shared = [s for s, alone in queue if not alone]
                batches = ([shared] if shared else []) + [[s] for s, alone in queue if alone]
                queue = []
                for batch in batches:
                    died = []
                    yield from self._run_batch(task, batch, lost, started, died, queue)
                    for spec in died:
                        if len(died) > 1:
                            queue.append((spec, True))  # suspect: retried alone, no attempt charged
                            continue
                        attempts[spec["run_id"]] += 1
                        if attempts[spec["run_id"]] > self.retries:
                            yield lost(spec, f"worker process died; gave up after {attempts[spec['run_id']]} attempt(s)")
                        else:
                            queue.append((spec, True))

    def _run_batch(self, task, batch, lost, started, died, queue) -> Iterator:
        ctx = multiprocessing.get_context("spawn")  # no fork of a threaded, torch-loaded parent
        with ProcessPoolExecutor(max_workers=min(self.workers, len(batch)), mp_context=ctx) as pool:
            futures = {pool.submit(_tracked, task, spec, started): spec for spec in batch}
            while futures:
                done, _ = wait(futures, return_when=FIRST_COMPLETED)
                for fut in done:
                    spec = futures.pop(fut)
                    try:
                        yield fut.result()
                    except BrokenProcessPool:
                        marker = Path(started) / spec["run_id"]
                        if marker.exists():
                            marker.unlink()
                            died.append(spec)
                        else:
                            queue.append((spec, False))  # never started: resubmitted, no attempt used
                    except Exception as e:  # the task itself raised: record it, don't retry
                        yield lost(spec, f"{type(e).__name__}: {e}")


def _tracked(task: Task, spec: dict, started: str):
    """Worker side: mark ``spec`` as started (so a crash counts an attempt), then run it."""
    Path(started, spec["run_id"]).touch()
    result = task(spec)
    Path(started, spec["run_id"]).unlink(missing_ok=True)
    return result


class RayExecutor:
    """Dispatches each run as a Ray task (optional extra ``disbench[ray]``).

    Each task asks for 1 GPU when the cluster has GPUs, else ``cpus_per_run`` CPUs.
    Ray retries a task whose worker died up to ``retries`` times; after that the run is
    recorded failed. The run directories are written by the workers, so on a multi-node
    cluster the results directory must be on storage every node mounts; the records the
    tasks return are also indexed by the driver.

    Args:
        address: Ray cluster address (``"auto"``, ``"ray://host:10001"``); None starts
            (or reuses) a local instance.
        retries: task retries on worker death.
        cpus_per_run: CPUs per task without GPUs (also the torch thread count).
        init_kwargs: extra keyword arguments for :func:`ray.init`.

    Raises:
        DisbenchError: Ray is not installed (``pip install "disbench[ray]"``).
    """

    def __init__(self, address: str | None = None, retries: int = 1, cpus_per_run: int = 1, init_kwargs=None):
        try:
            import ray  # noqa: F401
        except ImportError:
            raise DisbenchError(
                'the Ray executor needs the optional extra: pip install "disbench[ray]"'
            ) from None
        if retries < 0 or cpus_per_run < 1:
            raise InvalidInputError(f"retries must be >= 0 and cpus_per_run >= 1, got {retries}, {cpus_per_run}")
        self.address, self.retries, self.cpus_per_run = address, int(retries), int(cpus_per_run)
        self.init_kwargs = dict(init_kwargs or {})

    def describe(self) -> str:
        return f"Ray ({self.address or 'local instance'})"

    def threads_per_run(self) -> int | None:
        return self.cpus_per_run

    def run(self, task: Task, specs: list[dict], lost: Lost) -> Iterator:
        import ray

        started_here = not ray.is_initialized()
        if started_here:
            ray.init(address=self.address, **self.init_kwargs)
        try:
            has_gpu = ray.cluster_resources().get("GPU", 0) > 0
            resources = {"num_gpus": 1, "num_cpus": 1} if has_gpu else {"num_cpus": self.cpus_per_run}
            remote = ray.remote(_call).options(max_retries=self.retries, retry_exceptions=False, **resources)
            refs = {remote.remote(task, spec): spec for spec in specs}
            while refs:
                done, _ = ray.wait(list(refs), num_returns=1)
                spec = refs.pop(done[0])
                try:
                    yield ray.get(done[0])
                except ray.exceptions.RayTaskError as e:  # the task raised: record its own error
                    cause = e.cause if isinstance(getattr(e, "cause", None), BaseException) else e
                    yield lost(spec, f"{type(cause).__name__}: {cause}".splitlines()[0])
                except ray.exceptions.RayError as e:  # worker or node died after the retries
                    yield lost(spec, f"Ray worker died ({str(e).splitlines()[0]}); gave up after {self.retries + 1} attempt(s)")
        finally:
            if started_here:
                ray.shutdown()


def _call(task: Task, spec: dict):
    return task(spec)
