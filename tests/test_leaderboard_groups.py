"""Leaderboard grouping and ranking beyond the simplest case: two datasets and two profiles in
one store, ties, a single model, sanity rows joining only their own groups.

(Bold / tie marks follow significance tests over seeds and are tested with the statistics in
test_leaderboard.py / test_stats.py; here only the grouping, the rows and the ranks.)"""

from __future__ import annotations

import math

import pytest

from disbench.leaderboard import build_leaderboard
from disbench.results import RunRecord


def run(name, dataset, profile, seed, mig, fid=None, kind="train", preset=None, state="completed"):
    metrics = {"mig": mig, "metric_preset": preset or ("quick" if profile in ("quick", "-") else "default")}
    if fid is not None:
        metrics["fid"] = fid
    return RunRecord(run_id=f"{name}-{dataset}-{profile}-s{seed}", kind=kind, name=name,
                     model=name if kind == "train" else None, dataset=dataset, profile=profile, seed=seed,
                     state=state, spec={"display_name": name.upper(), "supervision": "none",
                                        "representation": "z"}, metrics=metrics)  # fmt: skip


def tidy_of(records):
    return build_leaderboard(records).tidy.set_index(["dataset", "profile", "name", "metric"])


def test_two_datasets_and_two_profiles_are_ranked_separately():
    # on dsprites a beats b; on shapes3d b beats a; the paper profile reverses dsprites again
    recs = []
    for seed in (0, 1):
        recs += [run("a", "dsprites", "quick", seed, 0.6 + seed / 100, fid=10.0),
                 run("b", "dsprites", "quick", seed, 0.2 + seed / 100, fid=5.0),
                 run("a", "shapes3d", "quick", seed, 0.1 + seed / 100, fid=3.0),
                 run("b", "shapes3d", "quick", seed, 0.7 + seed / 100, fid=9.0),
                 run("a", "dsprites", "paper", seed, 0.3 + seed / 100),
                 run("b", "dsprites", "paper", seed, 0.5 + seed / 100),
                 run("pca", "dsprites", "-", seed, 0.9, kind="sanity", preset="quick"),
                 run("pca", "shapes3d", "-", seed, 0.8, kind="sanity", preset="quick")]  # fmt: skip
    board = build_leaderboard(recs)
    assert [key for key, _ in board.groups()] == [("dsprites", "paper", "default"), ("dsprites", "quick", "quick"),
                                                  ("shapes3d", "quick", "quick")]  # fmt: skip
    tidy = board.tidy.set_index(["dataset", "profile", "name", "metric"])
    rank = tidy["rank"]
    assert (rank["dsprites", "quick", "a", "mig"], rank["dsprites", "quick", "b", "mig"]) == (1, 2)
    assert (rank["shapes3d", "quick", "a", "mig"], rank["shapes3d", "quick", "b", "mig"]) == (2, 1)
    assert (rank["dsprites", "paper", "a", "mig"], rank["dsprites", "paper", "b", "mig"]) == (2, 1)
    assert (rank["dsprites", "quick", "a", "fid"], rank["dsprites", "quick", "b", "fid"]) == (2, 1)  # lower wins
    assert tidy.loc[("shapes3d", "quick", "a", "mig"), "mean"] == pytest.approx(0.105)
    # a sanity row joins the groups of its dataset at its metric preset only, unranked
    sanity = board.tidy[board.tidy["kind"] == "sanity"]
    assert sorted(zip(sanity["dataset"], sanity["profile"], sanity["mean"])) == [
        ("dsprites", "quick", 0.9), ("shapes3d", "quick", 0.8)]  # fmt: skip
    assert sanity["rank"].isna().all()
    # one display table per group: trained rows first, then the sanity rows
    tables = {t.key: [(r.name, r.trained) for r in t.rows] for t in board.tables()}
    assert tables[("dsprites", "quick", "quick")] == [("a", True), ("b", True), ("pca", False)]
    assert tables[("dsprites", "paper", "default")] == [("a", True), ("b", True)]
    assert tables[("shapes3d", "quick", "quick")] == [("a", True), ("b", True), ("pca", False)]
    wide = board.wide()
    assert len(wide) == 3 + 2 + 3 and set(wide["n_seeds"]) == {2}


def test_tied_means_share_the_best_rank_and_the_next_rank_is_skipped():
    recs = [run(n, "dsprites", "quick", s, v)
            for n, vals in (("a", (0.5, 0.75)), ("b", (0.625, 0.625)), ("c", (0.125, 0.25)), ("d", (0.25, 1.0)))
            for s, v in enumerate(vals)]  # fmt: skip
    rank = tidy_of(recs)["rank"]
    assert [rank["dsprites", "quick", n, "mig"] for n in "abcd"] == [1, 1, 4, 1]  # a, b, d: mean 0.625 (exact in binary)
    fids = [run(n, "dsprites", "quick", 0, 0.5, fid=f) for n, f in (("a", 7.0), ("b", 7.0), ("c", 3.0))]
    rank = tidy_of(fids)["rank"]
    assert [rank["dsprites", "quick", n, "fid"] for n in "abc"] == [2, 2, 1]


def test_a_single_model_is_ranked_first_with_one_row():
    board = build_leaderboard([run("a", "dsprites", "quick", 0, 0.4, fid=12.0),
                               run("a", "dsprites", "quick", 1, 0.5, fid=14.0)])  # fmt: skip
    tidy = board.tidy
    assert list(tidy["rank"]) == [1, 1] and list(tidy["name"]) == ["a", "a"]
    assert tidy.set_index("metric").loc["mig", "mean"] == pytest.approx(0.45)
    (table,) = board.tables()
    assert table.n_trained == 1 and [r.name for r in table.rows] == ["a"]
    assert [c.mean for c in table.rows[0].cells] == pytest.approx([0.45, 13.0])
    assert board.to_markdown().count("| A ") == 1


def test_failed_runs_and_groups_without_trained_runs_are_left_out():
    recs = [run("a", "dsprites", "quick", 0, 0.4), run("b", "dsprites", "quick", 0, 0.9, state="failed"),
            run("pca", "mpi3d_toy", "-", 0, 0.7, kind="sanity", preset="quick")]  # fmt: skip
    tidy = build_leaderboard(recs).tidy
    assert list(zip(tidy["dataset"], tidy["name"])) == [("dsprites", "a")]
    assert not math.isnan(tidy["rank"].iloc[0])
