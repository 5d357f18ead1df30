"""The ``oms-sourcing`` command line.

The app is built by :func:`build_app`; each ``_module`` registers its own commands, so nothing
heavy is imported until a command runs.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
from collections.abc import Callable
from typing import Any

import typer

__all__ = ["build_app", "main"]

#: Modules under ``oms_sourcing.cli`` that add commands through ``register(app)``.
COMMAND_MODULES = ("_inventory", "_rules", "_allocation")


def build_app() -> typer.Typer:
    """Create the ``oms-sourcing`` typer application with every command registered."""
    app = typer.Typer(
        name="oms-sourcing",
        help="Decide which source ships each order line; keep stock honest.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    for name in COMMAND_MODULES:
        importlib.import_module(f"oms_sourcing.cli.{name}").register(app)
    for info in app.registered_commands:
        if info.callback is not None:
            info.callback = _quiet_on_closed_pipe(info.callback)
    return app


def _quiet_on_closed_pipe(command: Callable[..., Any]) -> Callable[..., Any]:
    """``command``, ending quietly with status 0 when the reader of its output has gone
    (``oms-sourcing source ... | head``), as other command-line tools do."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except BrokenPipeError:
            # Python would complain once more when it flushes stdout at exit: point stdout
            # at /dev/null first (the recipe in the documentation of the signal module)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(0) from None

    return run


def main() -> None:
    """Entry point of the ``oms-sourcing`` console script."""
    build_app()()
