"""``disbench leaderboard``: aggregate a results directory and export the leaderboard."""

from __future__ import annotations

import click


@click.command()
@click.option("--results", "results_dir", default="results", show_default=True, type=click.Path(file_okay=False),
              help="Results directory.")
@click.option("--format", "fmt", default="md", show_default=True, type=click.Choice(["csv", "latex", "md", "html"]),
              help="Export format (csv also writes <stem>.tidy.csv, one row per model × metric).")
@click.option("--out", default=None, type=click.Path(dir_okay=False), help="Output file (default: print).")
@click.option("--compact/--full", default=True, show_default=True,
              help="LaTeX: short labels and a note (one column of a two-column paper), or the supervision and "
                   "representation as columns (table*).")
@click.option("--columns", multiple=True, default=(),
              help="LaTeX: the metric columns, in order (registry names; comma-separated or repeated); default: all. "
                   "A compact table wider than the column is scaled to \\columnwidth.")
def command(results_dir, fmt, out, compact, columns):
    """Mean ± std and 95% CI over seeds of every completed run; bold only a significant winner.

    A value is bold when it is the best and significantly better than every other row of its
    supervision group (Welch's t-test over seeds, Holm over the comparisons with the best,
    α = 0.05); † marks rows not significantly worse than the best, ‡ rows with a missing seed.
    With one seed nothing is bold.
    """
    from disbench.cli.run import split_values
    from disbench.leaderboard import build_leaderboard, export_leaderboard
    from disbench.results import ResultsStore

    columns = split_values(columns) or None
    if columns and fmt != "latex":
        raise click.UsageError("--columns applies to --format latex")

    board = build_leaderboard(ResultsStore(results_dir, create=False).records(state="completed"))
    if board.empty:
        raise click.ClickException(f"no completed runs in {results_dir}")
    if out:
        click.echo(f"wrote {export_leaderboard(board, out, fmt, compact=compact, columns=columns)}")
        return
    text = {"csv": lambda: board.wide().to_csv(index=False),
            "latex": lambda: board.to_latex(compact=compact, columns=columns),
            "md": board.to_markdown, "html": board.to_html}[fmt]()  # fmt: skip
    click.echo(text)
