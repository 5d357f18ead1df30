"""Errors raised by oms_sourcing.

Expected business outcomes (out of stock, unfillable, declined, a reservation that does not fit)
are *data* in results, never exceptions. Exceptions are for input the library cannot accept; they
are raised before anything changes, so a failed call leaves every ledger and result untouched.

The hierarchy::

    OmsSourcingError                 root: catch this to catch everything the library raises
    ├── InputError                   one bad value: names the field, the value, what was expected
    │   ├── QuantityError            NaN, infinity, <= 0, or more decimals than the SKU allows
    │   └── UnknownReferenceError    a code nobody defined (source, group, zone, SKU, stock)
    ├── FileError                    a file that cannot be used; carries every ``Problem`` found
    │   ├── NetworkFileError         network.yaml
    │   ├── CatalogFileError         catalog.yaml
    │   ├── OrderFileError           orders JSON / JSONL
    │   ├── FeedError                stock feeds (CSV / JSONL)
    │   └── RulesetError             rulesets/*.yaml
    └── ReservationConflictError     the same order line reserved twice with different contents
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "CatalogFileError",
    "FeedError",
    "FileError",
    "InputError",
    "NetworkFileError",
    "OmsSourcingError",
    "OrderFileError",
    "Problem",
    "QuantityError",
    "ReservationConflictError",
    "RulesetError",
    "UnknownReferenceError",
]


class OmsSourcingError(Exception):
    """Root of every error raised by oms_sourcing."""


class InputError(OmsSourcingError, ValueError):
    """A value the library cannot accept.

    The message always names where the value came from (``where``), the field, the value received
    and what was expected, so the person reading a log line can fix the input without a debugger.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        value: object = None,
        expected: str | None = None,
        where: str | None = None,
    ) -> None:
        super().__init__(message)
        self.field = field
        self.value = value
        self.expected = expected
        self.where = where


class QuantityError(InputError):
    """A quantity that is NaN, infinite, not positive where it must be, or too precise."""


class UnknownReferenceError(InputError):
    """A reference to a code nobody defined; ``known`` lists the codes that do exist."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        value: object = None,
        known: Sequence[str] = (),
        where: str | None = None,
    ) -> None:
        super().__init__(message, field=field, value=value, expected="a known code", where=where)
        self.known = tuple(known)


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem found in a file: where it is and what is wrong.

    ``line`` and ``column`` are 1-based; 0 means "the whole file". ``severity`` is ``"error"`` or
    ``"warning"``. ``str(problem)`` is the ``path:line:col: message`` form editors and CI
    annotations understand.
    """

    path: str
    line: int
    column: int
    message: str
    severity: str = "error"
    code: str = ""

    def __str__(self) -> str:
        prefix = "" if self.severity == "error" else f"{self.severity}: "
        return f"{self.path}:{self.line}:{self.column}: {prefix}{self.message}"


class FileError(OmsSourcingError):
    """A file that cannot be used as it is. ``problems`` lists every error found, in file order."""

    def __init__(self, problems: Iterable[Problem], *, path: str = "") -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.path = path or (self.problems[0].path if self.problems else "")
        errors = [p for p in self.problems if p.severity == "error"] or list(self.problems)
        head = "\n".join(str(p) for p in errors[:20])
        more = f"\n... and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(head + more if head else f"{self.path}: unusable file")


class NetworkFileError(FileError):
    """network.yaml has errors."""


class CatalogFileError(FileError):
    """The catalog file has errors."""


class OrderFileError(FileError):
    """An order file has errors."""


class FeedError(FileError):
    """A stock feed has bad rows; nothing was applied (unless partial application was asked)."""


class RulesetError(FileError):
    """A ruleset has errors; each ``Problem`` carries ``path:line:col`` and, where one exists, a
    "did you mean" suggestion."""


class ReservationConflictError(OmsSourcingError):
    """The same (order, line) key was reserved again with different sources or quantities.

    Reserving the *same* allocation twice is a no-op (retries are safe, also after the line
    shipped or was released); reserving a *different* one under a key reserved before would
    silently change promised stock, so it is refused. Release the first reservation, then
    reserve under a new line id. Also raised for a ``shipment_id`` used again for another
    shipment.
    """
