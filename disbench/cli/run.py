"""``disbench run``: train and score baselines, index the runs, print and export the leaderboard."""

from __future__ import annotations

import functools

import click

# options that take several space-separated values: --seeds 0 1 2
LIST_OPTIONS = ("--models", "--encoders", "--generators", "--datasets", "--seeds", "--metrics", "--model-num")


def expand_list_options(args: list[str], names) -> list[str]:
    """Rewrite ``--opt a b c`` as ``--opt a --opt b --opt c`` for the options in ``names``
    (click options take one value per occurrence); values may also be comma-separated."""
    out, current, seen_values = [], None, True
    for i, arg in enumerate(args):
        if arg == "--":
            if current and not seen_values:
                out.append(current)  # no value: let click report the missing argument
            current, seen_values = None, True
            out += args[i:]
            break
        if arg.startswith("-") and not arg.lstrip("-").isdigit():
            if current and not seen_values:
                out.append(current)  # no value: let click report the missing argument
            current, seen_values = (arg, False) if arg in names else (None, True)
            if current is None:
                out.append(arg)
            continue
        if current:
            out += [current, arg]
            seen_values = True
        else:
            out.append(arg)
    if current and not seen_values:
        out.append(current)
    return out


class ListOptionsCommand(click.Command):
    """A click command whose :data:`LIST_OPTIONS` accept several space-separated values."""

    def parse_args(self, ctx, args):
        return super().parse_args(ctx, expand_list_options(list(args), LIST_OPTIONS))


def split_values(values) -> list[str]:
    """Flatten repeated and comma-separated option values, keeping order, dropping duplicates."""
    return list(dict.fromkeys(v.strip() for value in values for v in value.split(",") if v.strip()))


def parse_seeds(values) -> list[int]:
    from disbench.errors import InvalidInputError

    seeds = split_values(values)
    if not all(s.isascii() and s.isdigit() for s in seeds):  # str.isdigit alone takes "²", which int() refuses
        raise InvalidInputError(f"seeds must be non-negative integers, got {' '.join(seeds)}")
    return [int(s) for s in seeds]


def parse_encoders(values, option: str = "--encoders") -> dict[str, str]:
    """``("name=ref", ...)`` -> ``{name: ref}`` (the values of ``option``).

    Raises:
        InvalidInputError: an entry without ``=`` or a name given twice.
    """
    from disbench.errors import InvalidInputError

    out = {}
    for value in values:
        name, sep, ref = value.partition("=")
        if not sep or not name.strip() or not ref.strip():
            raise InvalidInputError(f"{option} takes NAME=package.module:function, got {value!r}")
        if name.strip() in out:
            raise InvalidInputError(f"{option} names {name.strip()!r} twice")
        out[name.strip()] = ref.strip()
    return out


def executor_options(f):
    """The ``--executor``, ``--workers``, ``--address`` and ``--retries`` options."""
    f = click.option("--retries", default=1, show_default=True, type=int,
                     help="Restarts of a run whose worker process died before it is recorded failed.")(f)  # fmt: skip
    f = click.option("--address", default=None, help="Ray cluster address (with --executor ray); default: a local instance.")(f)
    f = click.option("--workers", default=1, show_default=True, type=int,
                     help="Local worker processes (with --executor local).")(f)  # fmt: skip
    f = click.option("--executor", "executor_name", default="local", show_default=True,
                     type=click.Choice(["local", "ray"]), help="Where runs execute.")(f)  # fmt: skip
    return f


def override_options(sweep: bool = True):
    """The ``--set KEY=VALUE`` (and, with ``sweep``, ``--sweep KEY=V1,V2``) options (repeatable;
    :mod:`disbench.overrides`)."""

    def decorate(f):
        if sweep:
            f = click.option("--sweep", "sweeps", multiple=True, metavar="KEY=V1,V2,...",
                             help="Run every value (repeatable: the Cartesian product), an ad-hoc study; "
                                  "keys as --set.")(f)  # fmt: skip
        return click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
                            help="Change the preset profile (repeatable): model.<field> (model.beta=8) or "
                                 "steps, batch_size, checkpoint_every, log_every, precision; values are TOML.")(f)  # fmt: skip

    return decorate


def track_option(f):
    """The ``--track tensorboard|mlflow|wandb`` option (repeatable; :mod:`disbench.tracking`)."""
    return click.option("--track", "track", multiple=True, type=click.Choice(["tensorboard", "mlflow", "wandb"]),
                        help="Log losses, image grids, config and scores to an experiment tracker (repeatable); "
                             'needs pip install "disbench[<tracker>]".')(f)  # fmt: skip


def pack_option(f):
    """The ``--pack N`` option (``disbench run`` and ``disbench study``)."""
    return click.option("--pack", default=1, show_default=True, type=click.IntRange(min=1),
                        help="Train up to N runs of one method side by side on the device (seeds and swept "
                             "values; bit-faithful to training them alone). 1 = one at a time.")(f)  # fmt: skip


def make_executor(executor_name: str, workers: int, address: str | None, retries: int):
    from disbench.executors import LocalExecutor, RayExecutor

    if executor_name == "ray":
        return RayExecutor(address=address, retries=retries)
    return LocalExecutor(workers=workers, retries=retries)


@click.command(cls=ListOptionsCommand)
@click.option("--models", multiple=True, default=(),
              help="Presets to train (space-separated): names, paths to preset files (./my_method.toml) or presets "
                   "of installed packages; 'all' (the default without --encoders) = every preset in baselines/.")
@click.option("--encoders", "encoders", multiple=True, default=(),
              help="Rows scored without training: NAME=package.module:function or NAME=model.pt (repeatable).")
@click.option("--generators", "generators", multiple=True, default=(),
              help="FID for an --encoders row: NAME=package.module:function (n -> images in [0, 1]).")
@click.option("--datasets", multiple=True, default=("dsprites",), show_default=True, help="Datasets.")
@click.option("--seeds", multiple=True, default=("0",), show_default=True, help="Seeds (space-separated).")
@click.option("--profile", default="quick", show_default=True,
              help="Training profile: quick (CPU; quick metric preset) or paper (paper settings; reference metrics).")
@click.option("--metrics", multiple=True, default=("default",), show_default=True,
              help="Metrics, or 'default' (the six disentanglement metrics of disentanglement_lib's study + fid); "
                   "e.g. 'default irs udr' adds to it. udr is scored over each preset's seeds once they are done.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
@click.option("--out", default="results", show_default=True, type=click.Path(file_okay=False),
              help="Results directory.")
@click.option("--sanity/--no-sanity", default=True, show_default=True,
              help="Also score the sanity rows (ground truth, PCA, ICA, raw pixels).")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show the progress bar.")
@override_options()
@track_option
@executor_options
@pack_option
def command(models, encoders, generators, datasets, seeds, profile, metrics, device, out, sanity, progress,
            sets, sweeps, track, executor_name, workers, address, retries, pack):  # fmt: skip
    """Train and score baselines; print the leaderboard; write CSV, LaTeX, Markdown, HTML and a report.

    \b
    Example:
      disbench run --models all --seeds 0 1 2 --profile quick --out results/
      disbench run --models ./my_method.toml beta_vae --encoders mine=my_pkg.enc:encode
      disbench run --models beta_vae --set model.beta=8 --sweep steps=1000,2000
      disbench run --models beta_vae --track tensorboard   # then: tensorboard --logdir results/runs
    Completed runs are skipped, interrupted ones resumed, failed ones retried.
    """
    from disbench.overrides import parse_set, parse_sweep
    from disbench.runner import run_benchmark

    metric_names = split_values(metrics)
    if "default" in metric_names and metric_names != ["default"]:
        from disbench.metrics.evaluate import default_metrics

        metric_names = list(dict.fromkeys(m for n in metric_names for m in (default_metrics(sample=True)
                                                                           if n == "default" else [n])))
    rows = parse_encoders(encoders, "--encoders")
    model_names = split_values(models) or ([] if rows else ["all"])
    sweep = parse_sweep(sweeps)
    job = run_benchmark
    if sweep:  # an ad-hoc study: the same job, its grid analysed
        from disbench.study import run_sweep

        job = functools.partial(run_sweep, sweep=sweep)
    result = job(
        model_names, split_values(datasets), parse_seeds(seeds), profile,
        None if metric_names == ["default"] else metric_names,
        out=out, device=device, executor=make_executor(executor_name, workers, address, retries),
        sanity=sanity, progress=progress, echo=click.echo, encoders=rows,
        generators=parse_encoders(generators, "--generators"), overrides=parse_set(sets), track=track, pack=pack,
    )  # fmt: skip
    result = result[0] if isinstance(result, tuple) else result
    if result.failed:
        raise click.ClickException(
            f"{len(result.failed)} run(s) failed; see `disbench results list {out} --state failed`"
        )
