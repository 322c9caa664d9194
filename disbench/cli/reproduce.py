"""``disbench reproduce PAPER``: run a paper's table and compare with its reported numbers."""

from __future__ import annotations

import click

from disbench.cli.run import ListOptionsCommand, executor_options, make_executor, parse_seeds


@click.command(cls=ListOptionsCommand)
@click.argument("paper")
@click.option("--profile", default="paper", show_default=True, help="Training profile ('quick' for a dry run).")
@click.option("--seeds", multiple=True, default=("0",), show_default=True, help="Seeds (space-separated).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
@click.option("--out", default="results", show_default=True, type=click.Path(file_okay=False),
              help="Results directory (the comparison is written there as reproduce-<paper>-<profile>.csv/.md).")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show the progress bar.")
@executor_options
def command(paper, profile, seeds, device, out, progress, executor_name, workers, address, retries):
    """Train what PAPER's reported numbers need; print paper value, disbench mean ± std, delta, the
    protocol beside it and a verdict per row (inside / outside the paper's spread, or not comparable)."""
    from disbench.reproduce import reproduce

    reproduce(paper, profile=profile, seeds=parse_seeds(seeds), out=out, device=device,
              executor=make_executor(executor_name, workers, address, retries), progress=progress,
              echo=click.echo)  # fmt: skip
