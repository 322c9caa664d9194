"""``disbench leaderboard``: aggregate a results directory and export the leaderboard."""

from __future__ import annotations

import click


@click.command()
@click.option("--results", "results_dir", default="results", show_default=True, type=click.Path(file_okay=False),
              help="Results directory.")
@click.option("--format", "fmt", default="md", show_default=True, type=click.Choice(["csv", "latex", "md", "html"]),
              help="Export format (csv also writes <stem>.tidy.csv, one row per model × metric).")
@click.option("--out", default=None, type=click.Path(dir_okay=False), help="Output file (default: print).")
def command(results_dir, fmt, out):
    """Mean ± std and 95% bootstrap CI over seeds, ranked per metric, of every completed run."""
    from disbench.leaderboard import build_leaderboard, export_leaderboard
    from disbench.results import ResultsStore

    board = build_leaderboard(ResultsStore(results_dir, create=False).records(state="completed"))
    if board.empty:
        raise click.ClickException(f"no completed runs in {results_dir}")
    if out:
        click.echo(f"wrote {export_leaderboard(board, out, fmt)}")
        return
    text = {"csv": lambda: board.wide().to_csv(index=False), "latex": board.to_latex,
            "md": board.to_markdown, "html": board.to_html}[fmt]()  # fmt: skip
    click.echo(text)
