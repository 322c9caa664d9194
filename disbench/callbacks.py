"""Training callbacks: work the training core runs beside a baseline's steps, with declared state.

A baseline lists its callbacks in :meth:`~disbench.models.Baseline.callbacks`; the core
(:func:`disbench.train.fit`) calls :meth:`Callback.on_train_start` once with the dataset,
:meth:`Callback.on_resume` with the step training starts from, :meth:`Callback.on_step_end`
after every training step (adding the returned entries to the step's loss dict, so they
reach the train log and the progress bar), :meth:`Callback.on_log` with every row it writes
to ``train_log.csv`` and :meth:`Callback.on_checkpoint` after every checkpoint. State is
declared with :meth:`Callback.add_state`, as in torchmetrics' ``Metric.add_state``; the
core saves :meth:`Callback.state_dict` in every checkpoint and restores it on resume, so
a resumed run logs what an uninterrupted one does.

``fit(callbacks=...)`` adds callbacks the run's caller brings (the experiment trackers of
:mod:`disbench.tracking`, ``--track``): they get the same hooks, after the model's own, and
are not saved in checkpoints.
"""

from __future__ import annotations

import copy

import torch

from disbench.errors import DisbenchError

#: images per generated batch used by the mode-collapse monitor
MONITOR_BATCH = 128


class Callback:
    """Base class. Subclasses declare their state in ``__init__`` with :meth:`add_state`.

    Attributes:
        name: key of the callback's state in a checkpoint (default: the class name).
    """

    def __init__(self):
        self._defaults: dict[str, object] = {}

    @property
    def name(self) -> str:
        return type(self).__name__

    def add_state(self, name: str, default) -> None:
        """Declare state ``name`` (a tensor, number, None or a list/dict of them: what
        ``torch.load(weights_only=True)`` reads back), set to a copy of ``default``."""
        self._defaults[name] = default
        setattr(self, name, copy.deepcopy(default))

    def state_dict(self) -> dict:
        """The declared state, by name."""
        return {k: copy.deepcopy(getattr(self, k)) for k in self._defaults}

    def load_state_dict(self, state: dict) -> None:
        """Restore declared state; names absent from ``state`` (an older checkpoint) keep their default."""
        for k, default in self._defaults.items():
            setattr(self, k, copy.deepcopy(state.get(k, default)))

    def on_train_start(self, model, dataset) -> None:
        """Called once before the first step (also on resume), with the training dataset."""

    def on_resume(self, step: int) -> None:
        """Called once after :meth:`on_train_start` with the number of steps already done:
        0 for a fresh run, the checkpoint's step for a resumed one."""

    def on_step_end(self, model, step: int) -> dict:
        """Called after training step ``step`` (0-based) with the model in train mode;
        returns entries for the step's loss dict (floats or 0-d tensors)."""
        return {}

    def on_log(self, step: int, row: dict) -> None:
        """Called with each row written to ``train_log.csv`` (every ``log_every`` steps and at
        checkpoints): ``step`` steps done; ``row`` the mean of each loss term since the last
        row (floats) and ``images_per_s``."""

    def on_checkpoint(self, model, step: int) -> None:
        """Called after ``checkpoints/last.pt`` is written at ``step`` steps done (every
        ``checkpoint_every`` steps and at the end), the model in train mode."""


class ModeCollapseMonitor(Callback):
    """Counts the distinct values of one ground-truth factor among generated images.

    Every ``every`` steps (and at the first step with no count yet) the metrics' factor
    classifier (:mod:`disbench.metrics.feature_net`) predicts the factor ``factor_index``
    on :data:`MONITOR_BATCH` images from ``model.sample`` (a torch Generator seeded with the
    step); the count is logged as ``"distinct_shapes"`` and repeated in between. A GAN stuck
    on one shape logs 1. The classifier is only read from its cache, never trained: without
    it the callback logs nothing.

    State: ``count`` (float or None), the last count.
    """

    def __init__(self, every: int, factor_index: int):
        super().__init__()
        self.every = int(every)
        self.factor_index = int(factor_index)
        self.net = None
        self.add_state("count", None)

    def on_train_start(self, model, dataset) -> None:
        from disbench.metrics import feature_net  # lazily: importing a model must not import the metrics

        try:
            self.net = feature_net.load_cached_feature_net(dataset)
        except DisbenchError:  # e.g. a file-backed dataset whose file is absent
            self.net = None

    def on_step_end(self, model, step: int) -> dict:
        if self.net is None:
            return {}
        if step % self.every == 0 or self.count is None:
            pred = self.net.predict(model.sample(MONITOR_BATCH, torch.Generator().manual_seed(step)))
            self.count = float(torch.unique(pred[:, self.factor_index]).numel())
        return {"distinct_shapes": self.count}
