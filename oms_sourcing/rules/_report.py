"""Collecting positioned problems while a ruleset is checked, stopping at the first if asked."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from oms_sourcing.errors import Problem
from oms_sourcing.formats._validate import dotted
from oms_sourcing.formats._yaml import YamlDocument

Loc = tuple[str | int, ...]


class Stop(Exception):
    """Raised by :class:`Reporter` at the first error when it stops early."""


def display_loc(data: Any, loc: Sequence[str | int]) -> str:
    """``loc`` as written in the file: ``zone: dach`` is ``rules[0].when.zone``, not ``zone[0]``.

    Loaders accept one value where a list is expected; the compiled path still indexes it.
    """
    here = data
    shown: list[str | int] = []
    for part in loc:
        if isinstance(part, int) and not isinstance(here, list):
            continue
        shown.append(part)
        if isinstance(here, dict):
            here = here.get(part)
        elif isinstance(here, list) and isinstance(part, int) and 0 <= part < len(here):
            here = here[part]
        else:
            here = None
    return dotted(shown)


class Reporter:
    """Problems of one file, positioned through its :class:`YamlDocument`.

    Args:
        path: the file's label in messages.
        fail_fast: raise :class:`Stop` as soon as an error (not a warning) is added.
    """

    def __init__(self, path: str, *, fail_fast: bool) -> None:
        self.path = path
        self.fail_fast = fail_fast
        self.doc: YamlDocument | None = None
        self.problems: list[Problem] = []

    @property
    def has_errors(self) -> bool:
        return any(p.severity == "error" for p in self.problems)

    def add(self, problems: Iterable[Problem]) -> None:
        for problem in problems:
            self.problems.append(problem)
            if self.fail_fast and problem.severity == "error":
                raise Stop

    def position(self, loc: Sequence[str | int], *, key: bool = False) -> tuple[int, int]:
        if self.doc is None:
            return (0, 0)
        return self.doc.position(loc, key=key)

    def where(self, loc: Sequence[str | int]) -> str:
        return display_loc(self.doc.data if self.doc is not None else None, loc)

    def error(self, loc: Loc, message: str, *, key: bool = False, code: str = "") -> None:
        self._emit(loc, message, key=key, code=code, severity="error")

    def warning(self, loc: Loc, message: str, *, key: bool = False, code: str = "") -> None:
        self._emit(loc, message, key=key, code=code, severity="warning")

    def _emit(self, loc: Loc, message: str, *, key: bool, code: str, severity: str) -> None:
        line, col = self.position(loc, key=key)
        text = f"{self.where(loc)}: {message}" if loc else message
        self.add([Problem(self.path, line, col, text, severity=severity, code=code)])

    def sorted(self) -> list[Problem]:
        """Every problem in file order (errors before warnings at the same place)."""
        return sorted(
            self.problems, key=lambda p: (p.line, p.column, p.severity != "error")
        )
