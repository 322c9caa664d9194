"""Command-line changes to a preset profile: ``--set KEY=VALUE`` and ``--sweep KEY=V1,V2,...``.

A *key* is a profile key (:data:`PROFILE_KEYS`: ``steps``, ``batch_size`` ...) or
``model.<field>``, a field of the preset's model config dataclass (``model.beta``). A *value*
is a TOML value (``8``, ``1e-4``, ``true``, ``"bf16"``, ``[32, 64]``), parsed with
:mod:`tomllib`, as the preset files are; a bare word that is not TOML (``bf16``) is taken as
the string it spells, so ``--set precision=bf16`` needs no shell quoting. Whether a key exists
and a value fits its field is checked against the preset (:meth:`disbench.presets.Preset.resolve_profile`),
as a preset file is, so a typo fails before anything runs.

The parsed form is *flat*: ``{"model.beta": 8, "steps": 2000}``; :func:`nested` turns it into
the ``overrides`` of :func:`disbench.train.resolve_config` (``{"steps": 2000, "model": {"beta": 8}}``).
A sweep is a list of ``(key, values)``; :func:`sweep_points` is its Cartesian product, in the
order the keys were given (the last key varies fastest), like Hydra's multirun.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from collections.abc import Iterable

from disbench.errors import InvalidInputError

#: profile keys ``--set`` may change (the others are ``model.<field>``)
PROFILE_KEYS = ("steps", "batch_size", "checkpoint_every", "log_every", "precision")
MODEL_PREFIX = "model."
_BARE_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.+-]*")


def parse_value(text: str, what: str = "value"):
    """One value of ``--set``/``--sweep``: a TOML value (not a table), or a bare word as a string.

    Raises:
        InvalidInputError: text that is neither (``1.2.3``, ``[1,``, an empty value).
    """
    text = text.strip()
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        if _BARE_WORD.fullmatch(text) and text.lower() not in ("true", "false", "inf", "nan"):
            return text
        raise InvalidInputError(f"{what}: {text!r} is not a TOML value (e.g. 8, 1e-4, true, \"bf16\", [1, 2])") from None
    if isinstance(value, dict):
        raise InvalidInputError(f"{what}: {text!r} is a table; give one value")
    return value


def _split_key(item: str, option: str) -> tuple[str, str]:
    key, sep, text = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise InvalidInputError(f"{option} takes KEY=VALUE (e.g. model.beta=8 or steps=2000), got {item!r}")
    if key not in PROFILE_KEYS and not (key.startswith(MODEL_PREFIX) and len(key) > len(MODEL_PREFIX)):
        raise InvalidInputError(
            f"{option}: unknown key {key!r}; valid keys: {', '.join(PROFILE_KEYS)} or model.<field> of the "
            "preset's model config (see `disbench train NAME --help` or baselines/README.md)"
        )
    return key, text


def parse_set(items: Iterable[str], option: str = "--set") -> dict:
    """``("model.beta=8", "steps=2000")`` -> ``{"model.beta": 8, "steps": 2000}`` (flat).

    Raises:
        InvalidInputError: an item without ``=``, a key that is neither a profile key nor
            ``model.<field>``, a key given twice, or a value that is not TOML.
    """
    out: dict = {}
    for item in items:
        key, text = _split_key(item, option)
        if key in out:
            raise InvalidInputError(f"{option} sets {key!r} twice")
        out[key] = parse_value(text, f"{option} {key}")
    return out


def parse_sweep(items: Iterable[str], option: str = "--sweep") -> list[tuple[str, tuple]]:
    """``("model.beta=1,4,8",)`` -> ``[("model.beta", (1, 4, 8))]``; values are split on the
    commas outside quotes and brackets (``model.channels=[32,64],[64,64]`` is two lists).

    Raises:
        InvalidInputError: as :func:`parse_set`; fewer than one value or a value given twice.
    """
    out: list[tuple[str, tuple]] = []
    for item in items:
        key, text = _split_key(item, option)
        if any(k == key for k, _ in out):
            raise InvalidInputError(f"{option} sweeps {key!r} twice")
        try:
            values = tomllib.loads(f"v = [{text}]")["v"]
        except tomllib.TOMLDecodeError:
            values = [parse_value(t, f"{option} {key}") for t in text.split(",")]
        if not values or any(isinstance(v, dict) for v in values):
            raise InvalidInputError(f"{option} {key}: give one or more values, V1,V2,... (got {text!r})")
        if len({repr(v) for v in values}) != len(values):
            raise InvalidInputError(f"{option} {key}: a value is given twice ({text!r})")
        out.append((key, tuple(values)))
    return out


def sweep_points(sweep: list[tuple[str, tuple]]) -> list[dict]:
    """The Cartesian product of a sweep as flat dicts, last key fastest; ``[{}]`` for no sweep."""
    keys = [k for k, _ in sweep]
    return [dict(zip(keys, combo)) for combo in itertools.product(*(v for _, v in sweep))]


def nested(flat: dict) -> dict:
    """Flat ``{"model.beta": 8, "steps": 2000}`` -> ``{"steps": 2000, "model": {"beta": 8}}``
    (``"model"`` always present), the ``overrides`` of :func:`disbench.train.resolve_config`."""
    out: dict = {"model": {}}
    for key, value in flat.items():
        if key.startswith(MODEL_PREFIX):
            out["model"][key[len(MODEL_PREFIX):]] = value
        else:
            out[key] = value
    return out
