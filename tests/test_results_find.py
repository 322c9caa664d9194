"""``ResultsStore.find``: a literal, case-sensitive run-id prefix; no match and several matches are errors."""

from __future__ import annotations

import pytest

from disbench.errors import UnknownNameError
from disbench.results import ResultsStore, RunRecord


def _record(run_id: str) -> RunRecord:
    return RunRecord(run_id=run_id, kind="train", name=run_id.split("-")[0], model=None, dataset="dsprites",
                     profile="quick", seed=0, state="completed")  # fmt: skip


@pytest.fixture
def store(tmp_path):
    store = ResultsStore(tmp_path / "res")
    for run_id in ("beta_vae-dsprites-quick-s0-aaaa", "betaXvae-dsprites-quick-s0-bbbb",
                   "Beta_vae-dsprites-quick-s1-cccc", "vae-dsprites-quick-s0-dddd",
                   "vae-dsprites-quick-s1-eeee", "50%off-dsprites-quick-s0-ffff"):  # fmt: skip
        store.upsert(_record(run_id))
    return store


def test_underscore_is_not_a_wildcard_and_case_counts(store):
    # with LIKE, "_" matched the "X" of betaXvae and "b" matched "B": three runs matched
    assert store.find("beta_vae").run_id == "beta_vae-dsprites-quick-s0-aaaa"
    assert store.find("Beta_vae").run_id == "Beta_vae-dsprites-quick-s1-cccc"
    assert store.find("betaXvae").run_id == "betaXvae-dsprites-quick-s0-bbbb"


def test_percent_is_not_a_wildcard(store):
    assert store.find("50%").run_id == "50%off-dsprites-quick-s0-ffff"
    with pytest.raises(UnknownNameError, match="no run"):
        store.find("%")


def test_a_full_id_matches_itself(store):
    assert store.find("vae-dsprites-quick-s1-eeee").run_id == "vae-dsprites-quick-s1-eeee"


def test_no_match_says_so_and_names_the_list_command(store):
    with pytest.raises(UnknownNameError, match=r"no run in .* match 'BETA_VAE'; see `disbench results list"):
        store.find("BETA_VAE")


def test_several_matches_says_how_many(store):
    with pytest.raises(UnknownNameError, match=r"^2 runs in .* match 'vae-dsprites'"):
        store.find("vae-dsprites")
