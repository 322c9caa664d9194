"""Fixtures shared by several test modules."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="module")
def one_torch_thread():
    """Small tensors: one thread avoids OpenMP contention on a loaded 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def interrupt_training(monkeypatch):
    """``interrupt_training(cls, at_step)``: make ``cls.training_step`` raise KeyboardInterrupt
    at step ``at_step`` (as Ctrl-C would); returns a function that restores the original."""

    def patch(cls, at_step: int):
        original = cls.training_step

        def interrupted(self, batch, step, optimizers):
            if step == at_step:
                raise KeyboardInterrupt
            return original(self, batch, step, optimizers)

        monkeypatch.setattr(cls, "training_step", interrupted)
        return lambda: monkeypatch.setattr(cls, "training_step", original)

    return patch
