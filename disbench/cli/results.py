"""``disbench results list|show|repair``: browse a results directory and rebuild its index."""

from __future__ import annotations

import json

import click

RESULTS_DIR = click.argument("results_dir", default="results", type=click.Path(file_okay=False))


@click.group()
def command():
    """Browse the results store (default directory: results/)."""


@command.command("list")
@RESULTS_DIR
@click.option("--state", type=click.Choice(["planned", "running", "completed", "failed"]), help="Only this state.")
def list_runs(results_dir, state):
    """List the runs: id, state, step, and the headline scores."""
    from tabulate import tabulate

    from disbench.leaderboard import headline_scores
    from disbench.results import ResultsStore

    store = ResultsStore(results_dir, create=False)
    store.refresh()
    records = store.records(state=state)
    rows = []
    for r in records:
        scores = headline_scores(r.metrics or {})
        summary = " ".join(f"{k}={v:.3g}" for k, v in list(scores.items())[:4])
        rows.append([r.run_id, r.state, "" if r.step is None else r.step, summary or (r.error or "")[:60]])
    click.echo(tabulate(rows, ["run", "state", "step", "scores / error"], tablefmt="simple") if rows else "no runs")


@command.command("show")
@click.argument("run")
@RESULTS_DIR
def show(run, results_dir):
    """Show one run (RUN: its id or a unique prefix): spec, status, scores, files."""
    from disbench.leaderboard import headline_scores
    from disbench.results import ResultsStore

    store = ResultsStore(results_dir, create=False)
    store.refresh()
    r = store.find(run)
    run_dir = store.run_dir(r.run_id)
    click.echo(f"run       {r.run_id}\ndirectory {run_dir}\nstate     {r.state} (step {r.step})")
    if r.error:
        click.echo(f"error     {r.error}")
    click.echo("spec      " + json.dumps(r.spec, indent=2, sort_keys=True).replace("\n", "\n          "))
    for k, v in headline_scores(r.metrics or {}).items():
        click.echo(f"{k:<14}{v:.4g}")
    if run_dir.is_dir():
        click.echo("files     " + ", ".join(sorted(p.name for p in run_dir.iterdir())))


@command.command("repair")
@RESULTS_DIR
def repair(results_dir):
    """Rebuild the index from the run directories (the old index is kept, renamed)."""
    from disbench.results import ResultsStore

    store, moved, skipped = ResultsStore.repair(results_dir)
    for path in moved:
        click.echo(f"kept the old index as {path}")
    for path in skipped:
        click.echo(f"left out {path}: no readable run.json", err=True)
    click.echo(f"indexed {len(store.records())} run(s) in {store.index_path}")
