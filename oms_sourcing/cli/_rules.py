"""Commands for rulesets and file formats: ``validate`` and ``schema``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from oms_sourcing.domain import Catalog
    from oms_sourcing.errors import Problem
    from oms_sourcing.rules import NetworkLike

__all__ = ["register", "schema", "validate"]


def _print_problems(problems: tuple[Problem, ...] | list[Problem]) -> None:
    for problem in problems:
        typer.echo(str(problem))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def validate(
    ruleset: Annotated[Path, typer.Argument(help="The ruleset YAML file to check.")],
    network: Annotated[
        Path | None,
        typer.Option("--network", "-n", help="network.yaml: check source codes, groups, tags, "
                     "kinds and zones against it."),
    ] = None,
    catalog: Annotated[
        Path | None,
        typer.Option("--catalog", "-c", help="catalog.yaml: check SKU tags and SKUs."),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail (exit 1) on warnings too.")
    ] = False,
    first: Annotated[
        bool, typer.Option("--first", help="Stop at the first error instead of listing all.")
    ] = False,
) -> None:
    """Check a ruleset; print each problem as path:line:col: message.

    Exits 0 with a one-line summary when the ruleset can be used, 1 when it has errors (or
    warnings, with --strict).
    """
    from oms_sourcing.errors import FileError, RulesetError
    from oms_sourcing.rules import load_ruleset

    net: NetworkLike | None = None
    cat: Catalog | None = None
    try:
        if network is not None:
            from oms_sourcing.formats.network import load_network

            net = load_network(network)
        if catalog is not None:
            from oms_sourcing.formats.catalog import load_catalog

            cat = load_catalog(catalog)
    except FileError as err:
        _print_problems(err.problems)
        typer.echo(f"{ruleset}: not checked: {err.path or 'an input file'} has errors")
        raise typer.Exit(1) from None

    try:
        loaded = load_ruleset(ruleset, network=net, catalog=cat, collect=not first)
    except RulesetError as err:
        _print_problems(err.problems)
        errors = sum(1 for p in err.problems if p.severity == "error")
        warnings = len(err.problems) - errors
        typer.echo(
            f"{ruleset}: {_plural(errors, 'error')}, {_plural(warnings, 'warning')}"
        )
        raise typer.Exit(1) from None

    _print_problems(loaded.warnings)
    checked = [what for what, given in (("network", net), ("catalog", cat)) if given is not None]
    against = f", checked against the {' and '.join(checked)}" if checked else ""
    verdict = "ok" if not (strict and loaded.warnings) else "failed (--strict)"
    typer.echo(
        f"{ruleset}: {verdict}: {_plural(len(loaded.rules), 'rule')}, "
        f"{_plural(len(loaded.zones), 'zone')}, {_plural(len(loaded.warnings), 'warning')}"
        f"{against}"
    )
    for note in _unchecked(net is None, cat is None):
        typer.echo(f"{ruleset}: {note}")
    if strict and loaded.warnings:
        raise typer.Exit(1)


def _unchecked(no_network: bool, no_catalog: bool) -> list[str]:
    """What a check without a network or a catalog could not look at."""
    notes = []
    if no_network:
        notes.append("not checked: source codes, source groups, kinds and tags, and the "
                     "network's zone names (give --network to check them)")
    if no_catalog:
        notes.append("not checked: SKUs and SKU tags (give --catalog to check them)")
    return notes


def schema(
    name: Annotated[
        str,
        typer.Argument(help="ruleset | network | catalog | order | feed | allocation-result, "
                            "or 'all' with --output."),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to this file (a folder for 'all') instead "
                     "of printing."),
    ] = None,
) -> None:
    """Print (or write) the JSON Schema of a file format or of the allocation result, for
    editors and CI checks."""
    from oms_sourcing.errors import InputError
    from oms_sourcing.rules.schemas import SCHEMA_NAMES, schema_text, write_schemas

    try:
        if name == "all":
            if output is None:
                typer.echo("'all' writes one file per format: give a folder with --output")
                raise typer.Exit(2)
            for path in write_schemas(output, SCHEMA_NAMES):
                typer.echo(f"wrote {path}")
            return
        text = schema_text(name)
    except InputError as err:
        typer.echo(f"error: {err}")
        raise typer.Exit(2) from None
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}")


def register(app: typer.Typer) -> None:
    """Add ``validate`` and ``schema`` to the ``oms-sourcing`` app."""
    app.command("validate")(validate)
    app.command("schema")(schema)
