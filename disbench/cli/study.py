"""``disbench study``: run a study's grid (method × hyper-parameter value × seed × dataset) and analyse it."""

from __future__ import annotations

import click

from disbench.cli.run import (
    ListOptionsCommand,
    executor_options,
    make_executor,
    override_options,
    pack_option,
    parse_seeds,
    split_values,
    track_option,
)


@click.command(cls=ListOptionsCommand)
@click.argument("study")
@click.option("--models", multiple=True, default=(), help="Methods (presets declaring the study's sweep); default: all.")
@click.option("--datasets", multiple=True, default=(), help="Datasets; default: the study's (dsprites).")
@click.option("--seeds", multiple=True, default=(), help="Seeds (space-separated); default: the study's (0 1 2).")
@click.option("--profile", default="quick", show_default=True,
              help="Study profile: quick (each preset's quick profile, CPU) or study (the paper's settings, GPU).")
@click.option("--model-num", "model_num", multiple=True, default=(),
              help="Select runs by disentanglement_lib's model_num (e.g. 0-299 1200): dataset×1800 + method×300 + "
                   "value×50 + seed; sets the methods, datasets and seeds they name.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
@click.option("--out", default="results", show_default=True, type=click.Path(file_okay=False),
              help="Results directory (shared with `disbench run`: the same run is never trained twice).")
@click.option("--analyse/--no-analyse", default=False, show_default=True,
              help="Write the analysis to OUT/studies/STUDY/PROFILE/ (figures, tables, analysis.html).")
@click.option("--train/--no-train", default=True, show_default=True,
              help="--no-train runs nothing: with --analyse, analyse the runs completed so far.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show the progress bar.")
@override_options()
@track_option
@executor_options
@pack_option
def command(study, models, datasets, seeds, profile, model_num, device, out, analyse, train, progress, sets, sweeps, track,
            executor_name, workers, address, retries, pack):  # fmt: skip
    """Run STUDY (e.g. unsupervised_study_v1): every method × hyper-parameter value × seed × dataset.

    \b
    Examples:
      disbench study unsupervised_study_v1 --models beta_vae --seeds 0 --analyse
      disbench study unsupervised_study_v1 --profile study --executor ray --address auto
      disbench study unsupervised_study_v1 --no-train --analyse     # analyse a partial study
      disbench study unsupervised_study_v1 --profile study --model-num 0-299 1200   # dlib's model numbers
      disbench study unsupervised_study_v1 --set steps=500 --sweep model.lr=1e-4,3e-4
    --set changes every grid point; --sweep multiplies the grid (an ad-hoc study, analysed as
    OUT/studies/STUDY+<hash>/).
    Runs are ordinary runs of the results directory: completed ones are skipped, interrupted
    ones (Ctrl-C) resumed from their last checkpoint, failed ones retried.
    """
    from disbench.overrides import parse_set, parse_sweep
    from disbench.study import plan_study, run_study
    from disbench.study.grid import parse_model_nums

    nums = parse_model_nums(split_values(model_num)) if model_num else None
    plan = plan_study(study, split_values(models) or None, split_values(datasets) or None,
                      parse_seeds(seeds) if seeds else None, profile, overrides=parse_set(sets),
                      sweep=parse_sweep(sweeps), model_nums=nums)  # fmt: skip
    methods = plan.grid["method"].nunique()
    click.echo(f"study {plan.study.name} ({profile} profile): {len(plan.specs)} runs = {methods} method(s) × "
               f"{plan.grid['seed'].nunique()} seed(s) × {plan.grid['dataset'].nunique()} dataset(s) × their values")
    result, _ = run_study(
        plan, out=out, device=device, executor=make_executor(executor_name, workers, address, retries),
        progress=progress, analyse=analyse, train=train, echo=click.echo, track=track, pack=pack,
    )  # fmt: skip
    if train and result.failed:
        raise click.ClickException(
            f"{len(result.failed)} run(s) failed; see `disbench results list {out} --state failed`"
        )
