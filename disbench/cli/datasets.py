"""``disbench datasets``: list, show, prepare, download and verify the ground-truth datasets."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from disbench import data
from disbench.data.manifest import SOURCES, data_files, manifest, manifest_names


@click.group("datasets")
def command():
    """List, draw, prepare, download and verify datasets."""


def _availability(name: str) -> str:
    m = manifest(name)
    if "procedural" in m.sources:
        # a procedural dataset needs no file; a variant needs its own (scream-dSprites' painting)
        missing = [f.path() for f in m.files if m.base and not f.path().is_file()]
        if not missing:
            present = all(f.path().is_file() for f in data_files(m.base or name))
            return "available: procedural (no dSprites file needed)" + ("; published file present" if present else "")
    else:
        missing = [f.path() for f in m.files if not f.path().is_file()]
        if not missing:
            return f"available: {', '.join(str(f.path()) for f in m.files)}"
    return f"missing {', '.join(map(str, missing))}: run `disbench datasets download {name}`"


@command.command("list")
def list_datasets():
    """Each dataset's factors and sizes, and whether it is available."""
    for name in manifest_names():
        m = manifest(name)
        factors = ", ".join(f"{f}={k}" for f, k in zip(m.factor_names, m.factors_num_values))
        shape = "x".join(str(k) for k in m.observation_shape)
        click.echo(f"{name:16s} {m.display_name}: {factors}; observation {shape}")
        click.echo(f"{'':16s} {_availability(name)}")


_source_option = click.option(
    "--source",
    type=click.Choice(SOURCES),
    default=None,
    help="dSprites and its variants: procedural (default), the published file, or auto.",
)


@command.command("show")
@click.argument("name")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="PNG to write.")
@click.option("--columns", type=click.IntRange(2, 64), default=10, show_default=True, help="Images per row.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the fixed factors.")
@click.option("--scale", type=click.IntRange(1, 8), default=2, show_default=True, help="Pixel enlargement.")
@_source_option
def show(name, out, columns, seed, scale, source):
    """Draw a PNG with one row per factor, traversing it with the other factors fixed.

    A factor with more values than columns is sampled evenly from first to last value;
    one with fewer leaves the rest of its row grey.
    """
    from disbench.images import save_grid

    dataset = data.load(name, source)
    rng = np.random.default_rng(seed)
    fixed = dataset.sample_factors(1, rng)[0]
    rows = []
    for i, size in enumerate(dataset.factors_num_values):
        values = np.unique(np.round(np.linspace(0, size - 1, min(size, columns))).astype(np.int64))
        factors = np.repeat(fixed[None], len(values), axis=0)
        factors[:, i] = values
        row = np.full((columns, *dataset.observation_shape), 0.5, dtype=np.float32)
        row[: len(values)] = dataset.sample_observations_from_factors(factors, rng)
        rows.append(row)
    save_grid(np.stack(rows), out, scale=scale)
    click.echo(f"wrote {out}: rows = {', '.join(dataset.factor_names)}")


@command.command("prepare")
@click.argument("name")
@_source_option
def prepare(name, source):
    """Materialise a dataset's cache (with a progress bar) so later runs start at once."""
    dataset = data.load(name, source)
    if not hasattr(dataset, "prepare"):
        click.echo(
            f"{name}: nothing to prepare (read directly from {getattr(dataset, 'path', 'its source')})"
        )
        return
    click.echo(f"{name}: ready, {dataset.prepare(progress=True)}")


@command.command("download")
@click.argument("name")
@click.option(
    "--dest",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to save into (default: the data cache, $DISBENCH_DATA).",
)
@click.option("--url", default=None, help="Download from this URL instead (a mirror of the same file).")
@click.option("--sha256", default=None, help="Expected sha256, replacing the manifest's checksums.")
def download(name, dest, url, sha256):
    """Download a dataset's published files: mirrors in order, resuming a partial download,
    verifying checksums (and recording the sha256 where the manifest publishes none)."""
    from disbench.data.download import download as fetch

    for path in fetch(name, dest, progress=True, url=url, sha256=sha256, echo=lambda m: click.echo(m, err=True)):
        click.echo(f"{name}: {path}")


@command.command("verify")
@click.argument("name")
def verify(name):
    """Re-hash a dataset's present files against its manifest and the sha256 recorded on first use."""
    from disbench.data.integrity import verify as check

    for line in check(name):
        click.echo(f"{name}: ok, {line}")
