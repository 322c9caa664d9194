"""``disbench train NAME``: train one baseline preset into a run directory."""

from __future__ import annotations

from pathlib import Path

import click

from disbench.cli.run import override_options, track_option
from disbench.device import DEVICE_CHOICES


@click.command("train")
@click.argument("name")
@click.option("--profile", default="quick", show_default=True, help="Preset profile (quick = CPU, paper = the paper's settings).")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0), help="Random seed.")
@click.option("--dataset", default="dsprites", show_default=True, help="Dataset name (see `disbench datasets`).")
@click.option("--device", default="auto", show_default=True, help=f"One of {', '.join(DEVICE_CHOICES)} or cuda:N.")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Run directory [default: results/runs/<name>-<dataset>-<profile>-s<seed>].")
@click.option("--steps", type=click.IntRange(min=1), default=None, help="Same as --set steps=N.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Same as --set batch_size=N.")
@override_options(sweep=False)
@track_option
@click.option("--quiet", is_flag=True, help="No progress bar.")
def command(name, profile, seed, dataset, device, out, steps, batch_size, sets, track, quiet):
    """Train baseline preset NAME (see baselines/*.toml) and write its run directory:
    config, checkpoints, train log, status and PNG grids. An interrupted run resumes from
    its last checkpoint; a completed one is left as it is.

    \b
    Example:
      disbench train beta_vae --set model.beta=8 --set steps=2000
      disbench train beta_vae --track tensorboard    # then: tensorboard --logdir results/runs
    The default run directory names the changes (results/runs/beta_vae+beta=8,steps=2000-...),
    so the same command again resumes the same run."""
    from disbench import tracking
    from disbench.errors import InvalidInputError
    from disbench.overrides import nested, parse_set
    from disbench.presets import load_preset
    from disbench.results import variant_label
    from disbench.train import default_run_dir, train_run

    flat = parse_set(sets)
    for key, value in (("steps", steps), ("batch_size", batch_size)):  # thin aliases of --set
        if value is not None:
            if key in flat and flat[key] != value:
                raise InvalidInputError(f"--{key.replace('_', '-')} {value} and --set {key}={flat[key]} disagree")
            flat[key] = value
    overrides = nested(flat)
    model, settings = load_preset(name).changes(profile, overrides)  # checks every key and value
    out = out or default_run_dir(name, dataset, profile, seed, variant=variant_label({**model, **settings}))
    trackers = tracking.open_trackers(track, out, Path(out).name)
    try:
        run_dir = train_run(name, dataset=dataset, profile=profile, seed=seed, out_dir=out, device=device,
                            progress=not quiet, overrides=overrides, callbacks=trackers)  # fmt: skip
    finally:
        for tracker in trackers:
            tracker.close()
    click.echo(f"run directory: {run_dir}")
