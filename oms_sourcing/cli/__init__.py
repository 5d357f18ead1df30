"""The ``oms-sourcing`` command line.

The app is built by :func:`build_app`; each ``_module`` registers its own commands, so nothing
heavy is imported until a command runs.
"""

from __future__ import annotations

import importlib

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
    return app


def main() -> None:
    """Entry point of the ``oms-sourcing`` console script."""
    build_app()()
