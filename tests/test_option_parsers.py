"""Property tests (hypothesis) of the command line's option parsers: ``--seeds 0 1 2`` /
``--models a,b c`` expansion, value splitting, seed parsing."""

from __future__ import annotations

import string

import click
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from disbench.cli import main
from disbench.cli.run import LIST_OPTIONS, expand_list_options, parse_seeds, split_values
from disbench.errors import InvalidInputError

settings.register_profile("disbench", deadline=None, max_examples=200)  # a loaded 2-core machine
settings.load_profile("disbench")

# an option value: no leading dash (a negative number is a value too), no comma
word = st.text(alphabet=string.ascii_letters + string.digits + "_.", min_size=1, max_size=8)
value = st.one_of(word, st.integers(-99, -1).map(str))
other_option = st.sampled_from(["--profile", "--device", "--out", "--executor"])
group = st.one_of(
    st.tuples(st.sampled_from(LIST_OPTIONS), st.lists(value, min_size=1, max_size=4)),
    st.tuples(other_option, st.lists(value, min_size=1, max_size=1)),
    st.tuples(st.sampled_from(["--no-progress", "--no-sanity"]), st.just([])),
)


def pairs(expanded: list[str]) -> list[tuple[str, str | None]]:
    """Read click's view of an expanded argument list: (option, value) per occurrence."""
    out, i = [], 0
    while i < len(expanded):
        opt = expanded[i]
        takes_value = opt not in ("--no-progress", "--no-sanity")
        out.append((opt, expanded[i + 1] if takes_value else None))
        i += 2 if takes_value else 1
    return out


@given(st.lists(group, max_size=6))
def test_expanding_list_options_gives_one_value_per_occurrence_in_order(groups):
    args = [token for opt, values in groups for token in (opt, *values)]
    got = pairs(expand_list_options(args, LIST_OPTIONS))
    want = [(opt, v) for opt, values in groups for v in (values or [None])]
    assert got == want


@given(st.lists(st.sampled_from(["--seeds", "--models", "--x"]) | value, max_size=6), st.lists(value, max_size=4))
def test_everything_after_a_double_dash_is_left_alone(before, after):
    out = expand_list_options([*before, "--", *after], LIST_OPTIONS)
    assert out[len(out) - len(after) - 1:] == ["--", *after]
    assert out[: len(out) - len(after) - 1] == expand_list_options(before, LIST_OPTIONS)


def test_an_option_without_values_is_passed_on_for_click_to_report():
    assert expand_list_options(["--seeds"], LIST_OPTIONS) == ["--seeds"]
    assert expand_list_options(["--seeds", "--models", "a"], LIST_OPTIONS) == ["--seeds", "--models", "a"]


@given(st.lists(st.text(alphabet="ab ,", max_size=8), max_size=5))
def test_split_values_flattens_strips_and_deduplicates_in_order(values):
    got = split_values(values)
    parts = [p.strip() for v in values for p in v.split(",") if p.strip()]
    assert got == list(dict.fromkeys(parts))
    assert all(g and "," not in g and g == g.strip() for g in got)


@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=6), st.sampled_from([",", ", ", " ,"]))
def test_parse_seeds_reads_comma_and_space_separated_integers(seeds, sep):
    got = parse_seeds([sep.join(str(s) for s in seeds[: len(seeds) // 2]), *map(str, seeds[len(seeds) // 2:])])
    assert got == list(dict.fromkeys(seeds))


@given(st.text(min_size=1, max_size=4).filter(lambda s: s.strip() and "," not in s and not (s.strip().isascii()
                                                                                               and s.strip().isdigit())))  # fmt: skip
@example("²")  # str.isdigit() is True, int() refuses it
@example("٣")  # an Arabic-Indic digit: int() would take it
@example("-1")
def test_parse_seeds_rejects_anything_else_with_a_user_error(token):
    with pytest.raises(InvalidInputError, match="non-negative integers"):
        parse_seeds([token])


@pytest.mark.parametrize("token", ["-1", "1.5", "²", "٣", "x"])
def test_cli_bad_seed_is_one_line_exit_2(token, capsys):
    # an unknown model: were the seed accepted, the error would name the model instead
    assert main(["run", "--models", "nope", "--seeds", token, "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "non-negative integers" in err, err


def test_list_options_reach_the_command(monkeypatch):
    from disbench.cli import run as run_cli

    seen = {}

    @click.command(cls=run_cli.ListOptionsCommand)
    @click.option("--seeds", multiple=True)
    @click.option("--models", multiple=True)
    def cmd(seeds, models):
        seen.update(seeds=parse_seeds(seeds), models=split_values(models))

    cmd.main(["--seeds", "2", "0,1", "2", "--models", "a,b", "c", "a"], standalone_mode=False)
    assert seen == {"seeds": [2, 0, 1], "models": ["a", "b", "c"]}


@given(st.dictionaries(word, word.map(lambda w: f"pkg.mod:{w}"), max_size=4))
def test_parse_encoders_reads_name_equals_reference(entries):
    from disbench.cli.run import parse_encoders

    assert parse_encoders([f" {n} = {r} " for n, r in entries.items()]) == entries


@pytest.mark.parametrize("values", [["noequals"], ["=pkg:f"], ["name="], ["a=pkg:f", "a=pkg:g"]])
def test_parse_encoders_rejects_entries_without_name_or_reference_and_repeats(values):
    from disbench.cli.run import parse_encoders

    with pytest.raises(InvalidInputError, match="--encoders"):
        parse_encoders(values)
