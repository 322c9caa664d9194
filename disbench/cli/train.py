"""``disbench train NAME``: train one baseline preset into a run directory."""

from __future__ import annotations

from pathlib import Path

import click

from disbench.device import DEVICE_CHOICES


@click.command("train")
@click.argument("name")
@click.option("--profile", default="quick", show_default=True, help="Preset profile (quick = CPU, paper = the paper's settings).")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0), help="Random seed.")
@click.option("--dataset", default="dsprites", show_default=True, help="Dataset name (see `disbench datasets`).")
@click.option("--device", default="auto", show_default=True, help=f"One of {', '.join(DEVICE_CHOICES)} or cuda:N.")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Run directory [default: results/runs/<name>-<dataset>-<profile>-s<seed>].")
@click.option("--steps", type=click.IntRange(min=1), default=None, help="Override the profile's number of steps.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Override the profile's batch size.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def command(name, profile, seed, dataset, device, out, steps, batch_size, quiet):
    """Train baseline preset NAME (see baselines/*.toml) and write its run directory:
    config, checkpoints, train log, status and PNG grids. An interrupted run resumes from
    its last checkpoint; a completed one is left as it is."""
    from disbench.train import default_run_dir, train_run

    overrides = {k: v for k, v in (("steps", steps), ("batch_size", batch_size)) if v is not None}
    out = out or default_run_dir(name, dataset, profile, seed)
    run_dir = train_run(name, dataset=dataset, profile=profile, seed=seed, out_dir=out, device=device,
                        progress=not quiet, overrides=overrides or None)
    click.echo(f"run directory: {run_dir}")
