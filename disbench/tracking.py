"""Experiment tracking (``--track tensorboard|mlflow|wandb``): a run's live view in the tracker's UI.

Each tracker is a :class:`disbench.callbacks.Callback` the training core calls like a model's
own (``fit(callbacks=...)``), written with the tracker library's own API and installed as an
optional extra:

========================  =============================  ==========================================
``--track``               extra                          writes to
========================  =============================  ==========================================
``tensorboard``           ``disbench[tensorboard]``      event files in the run directory
                                                         (``torch.utils.tensorboard.SummaryWriter``);
                                                         ``tensorboard --logdir RESULTS/runs``
``mlflow``                ``disbench[mlflow]``           ``$MLFLOW_TRACKING_URI``, else the
                                                         ``file:`` store ``ROOT/mlruns``
                                                         (``mlflow.MlflowClient``), experiment
                                                         ``disbench``
``wandb``                 ``disbench[wandb]``            project ``$WANDB_PROJECT`` (``disbench``),
                                                         files under ``ROOT/wandb``; ``WANDB_MODE=
                                                         offline`` keeps them local (``wandb.init``)
========================  =============================  ==========================================

What each logs: the training losses of every ``train_log.csv`` row (``train/<term>`` at the
step, every ``log_every`` steps), the sample and latent-traversal grids at every checkpoint
(:func:`disbench.train.grid_images`, drawn in eval mode with the run's seed and the global
RNGs restored, so tracking never changes what a run trains), the run's ``config.json`` as
hyper-parameters (flattened: ``hparams.beta``), the final headline metric scores
(``score/<metric>``) and the run id as the tracker's run name, so the tracker lists
disbench's runs one-to-one; a resumed run continues its tracker run (TensorBoard drops the
events past the checkpoint, ``purge_step``; MLflow finds the run by its ``disbench.run_id``
tag; W&B resumes the id derived from the run id).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
from pathlib import Path

import numpy as np
import torch

from disbench.callbacks import Callback
from disbench.errors import DisbenchError, unknown_name
from disbench.images import grid_array
from disbench.io import read_json
from disbench.results import RUNS_DIR

# --track name -> (module that must import, extra)
EXTRAS = {"tensorboard": ("tensorboard", "tensorboard"), "mlflow": ("mlflow", "mlflow"), "wandb": ("wandb", "wandb")}
TRACKERS = tuple(EXTRAS)
GRID_NAMES = ("samples", "traversals")


class MissingExtraError(DisbenchError, ImportError):
    """A tracker named in ``--track`` whose library is not installed (the message gives the pip command)."""


class TrackerError(DisbenchError):
    """A tracker that cannot start its run (e.g. MLflow refusing its store); the message says what to set."""


def check(names) -> list[str]:
    """The tracker names, checked: each known and its library importable.

    Raises:
        UnknownNameError: a name not in :data:`TRACKERS`.
        MissingExtraError: its extra is not installed (``pip install "disbench[<extra>]"``).
    """
    names = list(dict.fromkeys(names or ()))
    for name in names:
        if name not in EXTRAS:
            raise unknown_name("tracker", name, TRACKERS)
        module, extra = EXTRAS[name]
        try:
            importlib.import_module(module)
        except ImportError:
            raise MissingExtraError(
                f"--track {name} needs the {module} package: pip install \"disbench[{extra}]\""
            ) from None
    return names


def open_trackers(names, run_dir: str | Path, run_name: str, root: str | Path | None = None) -> list[Tracker]:
    """One tracker per name for the run in ``run_dir``, connected (its run found or created)
    before training starts (its ``config.json`` is logged when the first step is, once training
    has written it), named ``run_name``; ``root`` is where
    MLflow's and W&B's local files go (default: the results directory ``RESULTS`` of a run in
    ``RESULTS/runs/<id>``, else ``run_dir``'s parent).

    Raises:
        UnknownNameError, MissingExtraError: see :func:`check`.
        TrackerError: a tracker's backend refuses to start the run.
    """
    run_dir = Path(run_dir)
    if root is None:
        root = run_dir.parent.parent if run_dir.parent.name == RUNS_DIR else run_dir.parent
    classes = {"tensorboard": TensorBoardTracker, "mlflow": MLflowTracker, "wandb": WandbTracker}
    trackers = [classes[name](run_dir, run_name, root) for name in check(names)]
    for tracker in trackers:
        tracker.connect()
    return trackers


def flat_config(config: dict, prefix: str = "") -> dict:
    """``{"hparams": {"beta": 4.0}, "steps": 10}`` -> ``{"hparams.beta": 4.0, "steps": 10}``;
    lists and None become strings (what every tracker's hyper-parameters take)."""
    out = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update(flat_config(value, f"{prefix}{key}."))
        elif isinstance(value, bool | int | float | str):
            out[prefix + key] = value
        else:
            out[prefix + key] = json.dumps(value)
    return out


def headline(scores: dict) -> dict[str, float]:
    """The metrics' headline scores (:func:`disbench.leaderboard.headline_scores`), finite floats only."""
    from disbench.leaderboard import headline_scores

    return {k: float(v) for k, v in headline_scores(scores).items() if np.isfinite(v)}


class Tracker(Callback):
    """Base of the trackers: the core's hooks (:mod:`disbench.callbacks`) plus
    :meth:`log_scores` and :meth:`close`. Subclasses implement :meth:`connect` (find or create
    the tracker's run, before training), ``_open(start_step)`` (at the first thing logged: the
    config), ``_scalars(values, step)``, ``_image(name, uint8 HWC array, step)``,
    ``_scores(scores, step)`` and ``_close()``."""

    def __init__(self, run_dir: Path, run_name: str, root: Path):
        super().__init__()
        self.run_dir, self.run_name, self.root = Path(run_dir), run_name, Path(root)
        self.dataset = None
        self.opened = False
        self.step = 0

    def connect(self) -> None:
        """Find or create the tracker's run (before training: a backend that refuses fails early).

        Raises:
            TrackerError: the backend refuses (the message says what to set).
        """

    @property
    def config(self) -> dict:
        return read_json(self.run_dir / "config.json", {})

    def _ensure_open(self, start_step: int = 0) -> None:
        if not self.opened:
            self._open(start_step)
            self.opened = True

    def on_train_start(self, model, dataset) -> None:
        self.dataset = dataset

    def on_resume(self, step: int) -> None:
        self.step = step
        self._ensure_open(step)

    def on_log(self, step: int, row: dict) -> None:
        self._ensure_open()
        self.step = step
        self._scalars({f"train/{k}": float(v) for k, v in row.items()}, step)

    def on_checkpoint(self, model, step: int) -> None:
        from disbench.train import grid_images

        if self.dataset is None:
            return
        self._ensure_open()
        seed = int(self.config.get("seed", 0))
        was_training = model.training
        devices = [model.device] if model.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):  # the run's training noise is left as it was
            model.eval()
            try:
                grids = grid_images(model, self.dataset, seed)
            finally:
                model.train(was_training)
        for name in GRID_NAMES:
            if name in grids:
                self._image(name, grid_array(grids[name]), step)

    def log_scores(self, scores: dict) -> None:
        """Log the final headline metric scores (``score/<metric>``) of ``metrics.json``'s dict."""
        self._ensure_open()
        self._scores(headline(scores), int(self.config.get("steps", self.step)))

    def close(self) -> None:
        """Flush and close the tracker's run (idempotent)."""
        if self.opened:
            self._close()
            self.opened = False


class TensorBoardTracker(Tracker):
    """``torch.utils.tensorboard.SummaryWriter`` writing event files into the run directory, so
    ``tensorboard --logdir RESULTS/runs`` names each run by its run id."""

    def _open(self, start_step: int) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(self.run_dir), purge_step=start_step or None)
        self.writer.add_text("config", "```\n" + json.dumps(self.config, indent=1, sort_keys=True) + "\n```", 0)

    def _scalars(self, values: dict, step: int) -> None:
        for key, value in values.items():
            self.writer.add_scalar(key, value, step)

    def _image(self, name: str, image: np.ndarray, step: int) -> None:
        self.writer.add_image(name, image, step, dataformats="HWC")

    def _scores(self, scores: dict, step: int) -> None:
        for key, value in scores.items():
            self.writer.add_scalar(f"score/{key}", value, step)
        # the HPARAMS tab: the config beside the final scores, in this run's own directory
        self.writer.add_hparams(flat_config(self.config), {f"score/{k}": v for k, v in scores.items()}, run_name=".")

    def _close(self) -> None:
        self.writer.close()


class MLflowTracker(Tracker):
    """``mlflow.MlflowClient``: experiment ``disbench`` at ``$MLFLOW_TRACKING_URI`` or the local
    ``file:`` store ``ROOT/mlruns``; one MLflow run per disbench run (tag ``disbench.run_id``)."""

    EXPERIMENT = "disbench"

    def connect(self) -> None:
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        uri = os.environ.get("MLFLOW_TRACKING_URI") or (self.root / "mlruns").resolve().as_uri()
        try:
            self.client = client = MlflowClient(tracking_uri=uri)
            experiment = client.get_experiment_by_name(self.EXPERIMENT)
            experiment_id = experiment.experiment_id if experiment else client.create_experiment(self.EXPERIMENT)
            found = client.search_runs([experiment_id], filter_string=f"tags.`disbench.run_id` = '{self.run_name}'")
            self.new = not found
            if found:
                self.run_id = found[0].info.run_id
            else:
                run = client.create_run(experiment_id, run_name=self.run_name, tags={"disbench.run_id": self.run_name})
                self.run_id = run.info.run_id
        except MlflowException as e:
            raise TrackerError(
                f"MLflow cannot use {uri}: {str(e).splitlines()[0]} Set MLFLOW_TRACKING_URI (e.g. sqlite:///mlflow.db, "
                "with pip install mlflow) or, for the local file store, MLFLOW_ALLOW_FILE_STORE=true"
            ) from None

    def _open(self, start_step: int) -> None:
        if self.new:  # a resumed run keeps the params it has (MLflow params are immutable)
            for key, value in flat_config(self.config).items():
                self.client.log_param(self.run_id, key, str(value)[:500])  # MLflow's limit on a param value

    def _scalars(self, values: dict, step: int) -> None:
        for key, value in values.items():
            self.client.log_metric(self.run_id, key, value, step=step)

    def _image(self, name: str, image: np.ndarray, step: int) -> None:
        self.client.log_image(self.run_id, image, key=name, step=step)

    def _scores(self, scores: dict, step: int) -> None:
        for key, value in scores.items():
            self.client.log_metric(self.run_id, f"score/{key}", value, step=step)

    def _close(self) -> None:
        self.client.set_terminated(self.run_id)


class WandbTracker(Tracker):
    """``wandb.init`` in project ``$WANDB_PROJECT`` (default ``disbench``), run name = the run id,
    W&B id derived from it (so a resumed run continues, ``resume="allow"``), files under ``ROOT``."""

    def connect(self) -> None:
        import wandb

        self.root.mkdir(parents=True, exist_ok=True)
        self.wandb = wandb
        try:
            self.run = wandb.init(project=os.environ.get("WANDB_PROJECT", "disbench"), name=self.run_name,
                                  id=wandb_id(self.run_name), resume="allow", dir=str(self.root))  # fmt: skip
        except wandb.errors.Error as e:
            raise TrackerError(f"W&B cannot start run {self.run_name}: {e}; log in (wandb login) or set "
                               "WANDB_MODE=offline") from None  # fmt: skip

    def _open(self, start_step: int) -> None:
        self.run.config.update(flat_config(self.config), allow_val_change=True)

    def _scalars(self, values: dict, step: int) -> None:
        self.run.log(values, step=step)

    def _image(self, name: str, image: np.ndarray, step: int) -> None:
        self.run.log({name: self.wandb.Image(image)}, step=step)

    def _scores(self, scores: dict, step: int) -> None:
        self.run.summary.update({f"score/{k}": v for k, v in scores.items()})

    def _close(self) -> None:
        self.run.finish()


def wandb_id(run_name: str) -> str:
    """The W&B run id of a disbench run: ``disbench-`` and 20 hex digits of the run id's SHA-256
    (W&B ids may not hold the ``+ = ,`` of a changed run's name)."""
    return "disbench-" + hashlib.sha256(run_name.encode()).hexdigest()[:20]
