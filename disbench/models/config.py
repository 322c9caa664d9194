"""One frozen config dataclass per baseline, built from a preset profile's ``model`` table.

As nanoGPT's ``GPTConfig``: each hyper-parameter is written once, as a field with its
default and a doc (units, the paper's symbol), and read once, as ``self.config.<field>``.
A baseline names its config class (``config_class = BetaVAEConfig``); the training core
builds it with :meth:`BaselineConfig.from_table`, which rejects unknown keys by name and
checks each value against the field's type, and records :meth:`BaselineConfig.to_dict`
in the run's ``config.json``.

Example::

    @dataclass(frozen=True)
    class MyConfig(BaselineConfig):
        num_latents: int = param(10, "latent dimensions d")
        beta: float = param(4.0, "β, weight of the KL term (Eq. 4); dimensionless")
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass

from disbench.errors import InvalidInputError, UnknownConfigKeyError


def param(default, doc: str):
    """A config field with ``default`` and its documentation ``doc`` (units, symbol, source);
    the doc is kept in the field's metadata (``dataclasses.fields(cfg)[i].metadata["doc"]``)."""
    return dataclasses.field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class BaselineConfig:
    """Base of the per-baseline config dataclasses (no fields of its own).

    Subclasses are ``@dataclass(frozen=True)`` with a default and a :func:`param` doc for
    every field, and may check values in ``__post_init__`` (raising
    :class:`~disbench.errors.InvalidInputError`).
    """

    @classmethod
    def from_table(cls, table: dict | None = None, *, where: str = "") -> BaselineConfig:
        """The config from a preset's ``model`` table (missing keys take their defaults).

        Values are checked against the field types: ``float`` fields accept ints (converted),
        tuple fields accept lists, ``X | None`` fields accept None; bools are never numbers.

        Args:
            table: key -> value (e.g. the parsed ``[profiles.quick.model]`` table).
            where: what the table is, for messages (``"preset 'beta_vae' profile 'quick'"``).

        Raises:
            UnknownConfigKeyError: a key that is not a field (names the key, ``where`` and the
                valid keys).
            InvalidInputError: a value of the wrong type, or one ``__post_init__`` rejects.
        """
        table = dict(table or {})
        names = [f.name for f in dataclasses.fields(cls)]
        where = f"{where}: " if where else ""
        for key in table:
            if key not in names:
                raise UnknownConfigKeyError(
                    f"{where}unknown model key {key!r} for {cls.__name__}; valid keys: {', '.join(names) or '(none)'}"
                )
        hints = typing.get_type_hints(cls)
        values = {k: _coerce(v, hints[k], f"{where}model key {k!r}") for k, v in table.items()}
        try:
            return cls(**values)
        except InvalidInputError as e:
            raise InvalidInputError(f"{where}{e}") from None

    def to_dict(self) -> dict:
        """Every field as plain JSON values (tuples as lists), in field order."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def describe(cls) -> list[tuple[str, str, object, str]]:
        """``(name, type, default, doc)`` of every field, in order (for documentation)."""
        hints = typing.get_type_hints(cls)
        return [(f.name, _type_name(hints[f.name]), f.default, f.metadata.get("doc", ""))
                for f in dataclasses.fields(cls)]


def check_choice(name: str, value, choices) -> None:
    """For ``__post_init__``: raise InvalidInputError unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise InvalidInputError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")


def _coerce(value, hint, what: str):
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (hint,) = [a for a in args if a is not type(None)]
        origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise InvalidInputError(f"{what} must be a list, got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], what) for v in value)
        if len(value) != len(args):
            raise InvalidInputError(f"{what} must be a list of {len(args)} values, got {value!r}")
        return tuple(_coerce(v, a, what) for v, a in zip(value, args))
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint in (str, bool) and isinstance(value, hint):
        return value
    raise InvalidInputError(f"{what} must be {_type_name(hint)}, got {value!r}")


def _type_name(hint) -> str:
    return hint.__name__ if isinstance(hint, type) else str(hint).replace("typing.", "")


def _plain(value):
    return [_plain(v) for v in value] if isinstance(value, (tuple, list)) else value
