"""``disbench check-model``: run the Baseline contract checks against a model class.

    disbench check-model package.module:Class [--dataset dsprites]
    disbench check-model beta_vae
"""

from __future__ import annotations

import click


@click.command("check-model")
@click.argument("model")
@click.option("--dataset", default="dsprites", show_default=True, help="Dataset to build and train on.")
@click.option("--preset", default=None,
              help="Build with this preset's model table (a name or a .toml path) instead of the config defaults.")
@click.option("--profile", default="quick", show_default=True, help="Profile of --preset.")
def command(model, dataset, preset, profile):
    """Check that MODEL (package.module:Class or a registry name) follows the Baseline contract:
    two training steps, checkpoint/resume equality, encode/sample shapes and finiteness."""
    from disbench.testing import check_model

    config = None
    if preset:
        from disbench.presets import load_preset

        config = load_preset(preset).model_config(profile)
    for name in check_model(model, dataset=dataset, config=config):
        click.echo(f"ok  {name}")
    click.echo(f"{model} follows the Baseline contract")
