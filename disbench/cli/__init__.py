"""The ``disbench`` command line.

Each command lives in its own module of this package, which defines a click command
or group named ``command``; :data:`COMMAND_MODULES` lists them. A
:class:`~disbench.errors.DisbenchError` becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import importlib
import sys
import warnings

import click

from disbench import __version__
from disbench.errors import DisbenchError

# command name -> module under disbench.cli defining `command`
COMMAND_MODULES = {
    "datasets": "datasets",
    "train": "train",
    "evaluate": "evaluate",
    "run": "run",
    "study": "study",
    "results": "results",
    "leaderboard": "leaderboard",
    "report": "report",
    "reproduce": "reproduce",
    "check-model": "check_model",
}


class _LazyGroup(click.Group):
    """Imports a command's module only when that command is used (fast ``--help``)."""

    def list_commands(self, ctx):
        return [name for name in COMMAND_MODULES if self._load(name) is not None]

    def get_command(self, ctx, name):
        return self._load(name)

    @staticmethod
    def _load(name):
        if name not in COMMAND_MODULES:
            return None
        try:
            module = importlib.import_module(f"disbench.cli.{COMMAND_MODULES[name]}")
        except ModuleNotFoundError as e:
            if e.name == f"disbench.cli.{COMMAND_MODULES[name]}":
                return None  # command not built yet
            raise
        return module.command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="disbench")
def cli():
    """disbench: disentanglement baselines, metrics and leaderboards."""


#: warnings the CLI prints as one line "disbench: warning: ..." (the user's to act on, not code's)
USER_WARNINGS = ("ProceduralFallbackWarning",)


def main(argv=None) -> int:
    """Entry point: run the CLI; user errors print one line and exit with code 2; the
    :data:`USER_WARNINGS` print as one line each."""
    try:
        with warnings.catch_warnings():  # restores showwarning afterwards
            default = warnings.showwarning

            def show(message, category, filename, lineno, file=None, line=None):
                if category.__name__ in USER_WARNINGS:
                    click.echo(f"disbench: warning: {message}", err=True)
                else:
                    default(message, category, filename, lineno, file, line)

            warnings.showwarning = show
            # without standalone mode click returns ctx.exit()'s code (or the command's return value)
            rv = cli.main(args=argv, prog_name="disbench", standalone_mode=False)
    except DisbenchError as e:
        click.echo(f"disbench: error: {e}", err=True)
        return 2
    except click.exceptions.Abort:
        click.echo("disbench: aborted", err=True)
        return 130
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except click.exceptions.Exit as e:
        return e.exit_code
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":
    sys.exit(main())
