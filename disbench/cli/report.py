"""``disbench report``: one self-contained HTML page of a results directory."""

from __future__ import annotations

import click


@click.command()
@click.option("--results", "results_dir", default="results", show_default=True, type=click.Path(file_okay=False),
              help="Results directory.")
@click.option("--out", default="report.html", show_default=True, type=click.Path(dir_okay=False),
              help="The HTML file to write.")
def command(results_dir, out):
    """Leaderboard, per-factor bars, DCI heat-maps, study analyses, training curves and image grids in one HTML file."""
    from disbench.report import write_report
    from disbench.results import ResultsStore
    from disbench.study.analysis import report_sections

    store = ResultsStore(results_dir, create=False)
    records = store.records()
    click.echo(f"wrote {write_report(records, out, run_root=store.root, sections=report_sections(records, store.root))}")
