"""Studies: a grid of hyper-parameter values × seeds × datasets, run as ordinary runs.

A study (e.g. ``unsupervised_study_v1``, Locatello et al. 2019) is defined by one small file,
``studies/<name>.toml`` (title, citation, source, default datasets, seeds and metrics, and
the map from the study's ``--profile`` to the preset profile each method trains with; schema
in ``studies/README.md``). It lists no methods: a preset joins a study by declaring its sweep,
``[studies.<name>]`` in ``baselines/<preset>.toml`` (the ``model`` hyper-parameter it varies,
its values and their source; :class:`disbench.presets.Sweep`), so adding a method edits no
central file.

:func:`plan_study` expands the grid (seed × dataset × method × value, in that order, so that a
study stopped part-way holds whole seeds first) into the run specs of
:func:`disbench.runner.train_spec`: the preset's profile with ``model[key] = value``. A grid
point whose value is the profile's own is the very run ``disbench run`` plans (same run id,
same directory), so runs are shared between the two; the others carry their change in the
spec's ``variant`` and in the readable part of their id (``beta_vae+beta=1-dsprites-...``).
:func:`run_study` executes them with :func:`disbench.runner.execute` — the same skip /
resume / retry, failure isolation, SQLite index and executors (local processes, Ray) as
``disbench run`` — and, when asked, writes the analysis (:mod:`disbench.study.analysis`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from disbench.study.grid import Study, StudyPlan, list_studies, load_study, plan_study, plan_sweep

__all__ = ["Study", "StudyPlan", "list_studies", "load_study", "plan_study", "plan_sweep", "run_study", "run_sweep"]


def run_study(
    plan: StudyPlan,
    *,
    out: str | Path = "results",
    device: str = "auto",
    executor=None,
    progress: bool = True,
    analyse: bool = False,
    train: bool = True,
    echo: Callable[[str], None] = print,
    task: Callable | None = None,
    track=(),
    pack: int = 1,
):
    """Run the planned study into the results directory ``out``; optionally write its analysis.

    Completed runs (also those ``disbench run`` made) are skipped, interrupted ones resumed
    from their last checkpoint, failed ones retried; one run's failure never stops the others.

    Args:
        plan: from :func:`plan_study`.
        out, device, executor, progress, echo, task, track: as :func:`disbench.runner.run_benchmark`.
        analyse: write the analysis of the completed runs of the plan into
            ``out/studies/<study>/<profile>/`` (:func:`disbench.study.analysis.write_analysis`).
        train: False runs nothing and only indexes what is there (to analyse a partial study).
        pack: train up to this many runs of one method side by side
            (:func:`disbench.runner.train_packs`; ``--pack N``).

    Returns:
        ``(JobResult, analysis paths)``; the paths dict is empty without ``analyse``.

    Raises:
        ResultsStoreError: ``out`` holds a damaged index or one from another version.
    """
    from disbench.runner import JobResult, execute
    from disbench.study.analysis import write_analysis
    from disbench.study.grid import save_definition

    save_definition(plan, out)
    if train:
        result = execute(plan.specs, out=out, device=device, executor=executor, progress=progress, echo=echo, task=task,
                         track=track, pack=pack)  # fmt: skip
    else:
        from disbench.results import RUN_SPEC, ResultsStore

        store = ResultsStore(out)  # the run directories are the truth: re-read the ones there are
        ids = [s["run_id"] for s in plan.specs if (store.run_dir(s["run_id"]) / RUN_SPEC).is_file()]
        result = JobResult([store.sync(i) for i in ids], [])
    paths = {}
    if analyse:
        paths = write_analysis(plan, result.records, Path(out) / "studies" / plan.study.name / plan.profile, echo=echo)
    return result, paths


def run_sweep(models, datasets=("dsprites",), seeds=(0,), profile: str = "quick", metrics=None, *,
              sweep: list, overrides: dict | None = None, out: str | Path = "results",
              echo: Callable[[str], None] = print, **job):  # fmt: skip
    """``disbench run --sweep``: :func:`disbench.runner.run_benchmark` over every point of
    ``sweep`` (with ``overrides``), its trained runs treated as an ad-hoc study
    (:func:`disbench.study.grid.plan_sweep`): the definition is saved in
    ``out/studies/<name>/plan.json`` (so ``disbench report`` finds it) and the analysis written
    to ``out/studies/<name>/<profile>/``.

    Args:
        models, datasets, seeds, profile, metrics, overrides, sweep: see :func:`disbench.runner.plan_runs`.
        out, echo, job: passed to :func:`disbench.runner.run_benchmark` (``device``, ``executor``,
            ``sanity``, ``progress``, ``export``, ``task``, ``encoders``, ``generators``, ``track``).

    Returns:
        ``(JobResult, StudyPlan)``.

    Raises:
        see :func:`disbench.runner.run_benchmark`.
    """
    from disbench.runner import run_benchmark
    from disbench.study.analysis import write_analysis
    from disbench.study.grid import save_definition

    plan = plan_sweep(models, datasets, seeds, profile, metrics, sweep=sweep, overrides=overrides)
    save_definition(plan, out)
    echo(f"{plan.study.name}: {plan.study.title}, {len(plan.specs)} trained run(s)")
    result = run_benchmark(models, datasets, seeds, profile, metrics, out=out, echo=echo, overrides=overrides,
                           sweep=sweep, **job)  # fmt: skip
    write_analysis(plan, result.records, Path(out) / "studies" / plan.study.name / plan.profile, echo=echo)
    return result, plan
