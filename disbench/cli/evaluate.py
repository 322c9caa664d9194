"""``disbench evaluate``: score a trained run directory, the sanity representations, or outside code.

    disbench evaluate RUN_DIR [--metrics mig,dci] [--preset quick]
    disbench evaluate --representation ground_truth --representation pca --dataset dsprites
    disbench evaluate --encoder my_pkg.enc:encode [--generator my_pkg.gen:sample] --dataset dsprites
    disbench evaluate --encoder encoder.pt --dataset dsprites
"""

from __future__ import annotations

import click

from disbench.errors import InvalidInputError
from disbench.metrics.evaluate import ALL_METRICS, PRESETS, default_metrics
from disbench.metrics.utils import CLASSIFIERS
from disbench.representations import REPRESENTATIONS


def _metric_list(text: str | None) -> list[str] | None:
    if not text:
        return None
    return [m.strip() for m in text.split(",") if m.strip()]


def _headline(result: dict, metrics) -> dict:
    return {m: result[m] for m in metrics if m in result}


@click.command("evaluate")
@click.argument("run_dir", required=False, type=click.Path(file_okay=False))
@click.option("--representation", "representations", multiple=True, type=click.Choice(REPRESENTATIONS),
              help="Score a sanity representation (repeatable) instead of a run.")
@click.option("--encoder", "encoder_ref", default=None,
              help="Score an outside encoder: package.module:function ((N, C, H, W) float32 -> (N, D)) or a "
                   "TorchScript file model.pt.")
@click.option("--generator", "generator_ref", default=None,
              help="With --encoder: package.module:function (n -> (n, C, H, W) float32 in [0, 1]) for FID.")
@click.option("--dataset", default="dsprites", show_default=True, help="Dataset for --representation / --encoder.")
@click.option("--metrics", "metrics_text", default=None,
              help=f"Comma-separated metric names ({', '.join(ALL_METRICS)}); default: the six disentanglement "
                   "metrics of disentanglement_lib's study (+ fid for runs).")
@click.option("--preset", type=click.Choice(sorted(PRESETS)), default="default", show_default=True,
              help="Metric sample sizes: 'default' = disentanglement_lib unsupervised_study_v1; 'quick' for CPUs.")
@click.option("--seed", default=0, show_default=True, help="Random seed of the metrics.")
@click.option("--classifier", type=click.Choice(sorted(CLASSIFIERS)), default=None,
              help="Logistic regression of the β-VAE metric and explicitness: 'current' (today's scikit-learn "
                   "default, lbfgs multinomial; the preset's) or 'study' (liblinear one-vs-rest, as the published "
                   "study ran).")
@click.option("--device", default="auto", show_default=True, help="Device for a run's model.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None,
              help="Also write the full flat result dict(s) to this JSON file.")
def command(run_dir, representations, encoder_ref, generator_ref, dataset, metrics_text, preset, seed, classifier,
            device, json_path):
    """Score RUN_DIR (writes RUN_DIR/metrics.json), the sanity rows given by --representation, or an
    outside --encoder (and --generator)."""
    from tabulate import tabulate

    from disbench.io import write_json_atomic

    metrics = _metric_list(metrics_text)
    if sum(map(bool, (run_dir, representations, encoder_ref))) != 1:
        raise InvalidInputError("give one of RUN_DIR, --representation or --encoder")
    if generator_ref and not encoder_ref:
        raise InvalidInputError("--generator goes with --encoder (a run directory samples its own model)")
    if encoder_ref:
        import disbench.data
        from disbench import plugins
        from disbench.metrics import evaluate

        ds = disbench.data.load(dataset)
        encode = plugins.load_encoder(encoder_ref, ds.observation_shape)
        sample = plugins.load_generator(generator_ref, ds.observation_shape) if generator_ref else None
        wanted = metrics or default_metrics(sample)
        click.echo(f"scoring {encoder_ref} on {dataset} ({preset} preset): {', '.join(wanted)}", err=True)
        result = evaluate(ds, encode, wanted, sample=sample, preset=preset, random_state=seed, progress=True,
                          classifier=classifier)
        rows, results = [{"encoder": encoder_ref, **_headline(result, wanted)}], {encoder_ref: result}
    elif run_dir:
        from disbench.metrics import evaluate_run

        result = evaluate_run(run_dir, metrics, preset=preset, device=device, random_state=seed, progress=True,
                              classifier=classifier)
        rows = [{"run": run_dir, **_headline(result, metrics or ALL_METRICS)}]
        results = {run_dir: result}
    else:
        import disbench.data
        from disbench import representations as reps
        from disbench.metrics import evaluate

        ds = disbench.data.load(dataset)
        rows, results = [], {}
        for name in representations:
            wanted = metrics or reps.default_metrics(name)
            click.echo(f"scoring {name} on {dataset} ({preset} preset): {', '.join(wanted)}", err=True)
            encode = reps.make(name, ds, random_state=seed)
            result = evaluate(ds, encode, wanted, preset=preset, random_state=seed, progress=True,
                              classifier=classifier)
            results[name] = result
            rows.append({"representation": name, **_headline(result, wanted)})
    click.echo(tabulate(rows, headers="keys", floatfmt=".3f", missingval="-"))
    click.echo(f"(metric preset: {preset})")
    if json_path:
        write_json_atomic(json_path, results)

