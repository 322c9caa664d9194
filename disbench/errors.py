"""Errors a user can cause.

Every error raised because of user input (an unknown name, a missing or damaged file,
a bad argument) is a :class:`DisbenchError` subclass whose message says what to do.
The command line turns them into one line on stderr and exit code 2.
"""


class DisbenchError(Exception):
    """Base class of every error a user can cause and fix."""


class UnknownNameError(DisbenchError, KeyError):
    """An unknown dataset, model, metric, profile or paper name."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else ""


class UnknownConfigKeyError(UnknownNameError):
    """A preset's ``model`` table (or a ``--set``/override) has a key the model's config lacks."""


class MissingFileError(DisbenchError, FileNotFoundError):
    """A file the user must provide (or download) is missing."""


class DataFileError(DisbenchError):
    """A data file exists but is truncated, damaged or has the wrong schema."""


class ChecksumError(DataFileError):
    """A downloaded file's sha256 does not match the manifest."""


class InvalidInputError(DisbenchError, ValueError):
    """An argument has the wrong shape, dtype, range or value."""


def unknown_name(kind: str, name: str, valid) -> UnknownNameError:
    """Build the standard "unknown X" error naming the valid values."""
    valid = sorted(valid)
    return UnknownNameError(f"unknown {kind} {name!r}; valid {kind}s: {', '.join(valid)}")
