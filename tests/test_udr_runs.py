"""UDR over a group of trained runs in a results store (disbench.metrics.udr.udr_of_runs)."""

from __future__ import annotations

import json

import pytest
from test_train_core import TINY, tiny_dataset  # noqa: F401  (tiny_shapes, registered by the autouse fixture)

from disbench.errors import InvalidInputError
from disbench.metrics.udr import udr_of_runs
from disbench.results import ResultsStore
from disbench.train import train_run


@pytest.fixture
def store(tmp_path):
    root = tmp_path / "results"
    s = ResultsStore(root)
    for seed in range(3):
        rid = f"beta_vae-s{seed}"
        s.write_spec({"run_id": rid, "kind": "train", "name": "beta_vae", "model": "beta_vae",
                      "dataset": "tiny_shapes", "profile": "quick", "seed": seed, "metrics": ["mig"],
                      "metric_preset": "quick"})
        train_run("beta_vae", dataset="tiny_shapes", seed=seed, out_dir=s.run_dir(rid), device="cpu",
                  progress=False, overrides=TINY)
        (s.run_dir(rid) / "metrics.json").write_text(json.dumps({"mig": 0.1, "metric_preset": "quick"}))
        s.sync(rid)
    return s


def test_udr_is_written_into_every_run_of_the_group(store):
    ids = ["beta_vae-s0", "beta_vae-s1", "beta_vae-s2"]
    scores = udr_of_runs(store.root, ids, num_points=200)
    assert set(scores) == set(ids)
    for rid in ids:
        m = json.loads((store.run_dir(rid) / "metrics.json").read_text())
        assert m["mig"] == 0.1  # what was there stays
        assert m["udr"] == scores[rid] and m["udr.group"] == ids and m["udr.informative"] == "kl"
        assert len(m["udr.pairwise"]) == 3 and m["udr.pairwise"][ids.index(rid)] == 0.0
        assert store.get(rid).metrics["udr"] == scores[rid]  # the index was refreshed
    assert udr_of_runs(store.root, ids, num_points=200) == scores  # seeded: the same again


def test_udr_refuses_a_single_run_and_unfinished_runs(store):
    with pytest.raises(InvalidInputError, match="at least 2"):
        udr_of_runs(store.root, ["beta_vae-s0"])
    status = store.run_dir("beta_vae-s1") / "status.json"
    status.write_text(json.dumps({"state": "running", "step": 1}))
    store.sync("beta_vae-s1")
    with pytest.raises(InvalidInputError, match="completed training runs"):
        udr_of_runs(store.root, ["beta_vae-s0", "beta_vae-s1"])
