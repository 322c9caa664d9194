"""The metric noise floor: derived seeds, the spread, and evaluate(noise_seeds=...) against separate evaluations."""

from __future__ import annotations

import numpy as np
import pytest
from metrics_helpers import FactorCodes, TinyDataset

from disbench.errors import InvalidInputError
from disbench.metrics import evaluate
from disbench.metrics.noise import metric_noise, noise_seeds


def test_noise_seeds_are_deterministic_distinct_and_depend_on_the_seed():
    a = noise_seeds(0, 3)
    assert a == noise_seeds(0, 3) and len(set(a)) == 3 and 0 not in a
    assert noise_seeds(1, 3) != a and noise_seeds(0, 2) == a[:2] and noise_seeds(5, 0) == []
    with pytest.raises(InvalidInputError):
        noise_seeds(0, -1)


def test_metric_noise_spread_by_hand():
    scores = {s: v for s, v in zip(noise_seeds(7, 2), (0.3, 0.5))}
    out = metric_noise("mig", scores.__getitem__, 0.4, 7, 2)
    assert out["mig.noise_scores"] == [0.4, 0.3, 0.5] and out["mig.noise_seeds"] == [7, *noise_seeds(7, 2)]
    assert out["mig.noise_std"] == pytest.approx(0.1)  # std (ddof 1) of 0.3, 0.4, 0.5
    assert metric_noise("mig", scores.__getitem__, 0.4, 7, 0) == {}


def test_evaluate_noise_scores_equal_separate_evaluations_at_those_seeds():
    ds = TinyDataset((3, 4, 5, 6))
    rep = FactorCodes(ds, noise=0.3)
    settings = {"mig": {"num_train": 300}, "sap": {"num_train": 200, "num_test": 100}}
    out = evaluate(ds, rep, ["mig", "sap"], settings=settings, random_state=3, noise_seeds=2)
    for m in ("mig", "sap"):
        seeds = out[f"{m}.noise_seeds"]
        assert seeds[0] == 3 and out[f"{m}.noise_scores"][0] == out[m]
        separate = [evaluate(ds, rep, [m], settings={m: settings[m]}, random_state=s)[m] for s in seeds]
        assert out[f"{m}.noise_scores"] == pytest.approx(separate, abs=1e-12)
        assert out[f"{m}.noise_std"] == pytest.approx(np.std(separate, ddof=1)) and out[f"{m}.noise_std"] > 0
    assert "mig.noise_std" not in evaluate(ds, rep, ["mig"], settings={"mig": settings["mig"]})
