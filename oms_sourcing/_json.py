"""JSON for the order and feed readers: hostile input becomes a positioned message, never a crash.

``json.loads`` raises more than ``JSONDecodeError`` on input a person or a fuzzer can write:
``RecursionError`` for arrays nested a few thousand deep and ``ValueError`` for an integer of more
than 4,300 digits (Python's limit on converting such numbers). :func:`loads` turns each into a
:class:`JsonProblem` with a line, a column and a sentence; :func:`locate` finds where a value of a
parsed record stands in its text, so a validation error can name the field's own line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from decimal import Decimal
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Any

__all__ = ["JsonProblem", "line_col", "loads", "locate", "raw_decode"]

_DECODER = json.JSONDecoder(parse_float=Decimal)
_WS = re.compile(r"[ \t\n\r]*")
_LONG_DIGITS = re.compile(r"\d{4300,}")
_HUGE_EXPONENT = re.compile(r"-?\d+(?:\.\d+)?[eE][-+]?\d{7,}")


class JsonProblem(Exception):
    """Text that is not usable JSON: ``pos`` (0-based offset in the text) and a sentence."""

    def __init__(self, pos: int, message: str) -> None:
        super().__init__(message)
        self.pos = pos
        self.message = message


def line_col(text: str, pos: int) -> tuple[int, int]:
    """1-based line and column of offset ``pos`` in ``text``."""
    pos = max(0, min(pos, len(text)))
    return text.count("\n", 0, pos) + 1, pos - (text.rfind("\n", 0, pos) + 1) + 1


def _describe(err: json.JSONDecodeError, unit: str) -> str:
    msg = err.msg[:1].lower() + err.msg[1:]
    if msg.endswith(" at"):  # "Unterminated string starting at": say where
        line, col = line_col(err.doc, err.pos)
        msg += f" line {line} column {col}" if "\n" in err.doc else f" column {col}"
    if msg.startswith("unterminated string") or err.pos >= len(err.doc.rstrip()):
        msg += f"; the {unit} ends before the JSON value does (was it cut short?)"
    return f"invalid JSON: {msg}"


def raw_decode(text: str, pos: int = 0, *, unit: str = "file") -> tuple[Any, int]:
    """``json.JSONDecoder.raw_decode`` (numbers with a point as ``Decimal``), with every failure
    as a :class:`JsonProblem`; ``unit`` names what ``text`` is (a file, a line) in messages."""
    try:
        return _DECODER.raw_decode(text, pos)
    except json.JSONDecodeError as err:
        raise JsonProblem(err.pos, _describe(err, unit)) from None
    except RecursionError:
        raise JsonProblem(pos, "JSON nested too deeply (arrays or objects inside each other "
                               "thousands of levels deep); refusing to read it") from None
    except ArithmeticError:
        # decimal.InvalidOperation: an exponent beyond what Decimal holds (1e9999999999999999999)
        found = _HUGE_EXPONENT.search(text, pos)
        raise JsonProblem(found.start() if found else pos,
                          "a number with an exponent out of range; no field takes it") from None
    except ValueError:
        # Python refuses to convert an integer of more than 4,300 digits
        found = _LONG_DIGITS.search(text, pos)
        where = found.start() if found else pos
        digits = len(found.group()) if found else 4300
        raise JsonProblem(where, f"a number of {digits:,} digits; no field takes a number that "
                                 "long") from None


def loads(text: str, *, unit: str = "file") -> Any:
    """Parse one JSON value filling ``text`` (see :func:`raw_decode`)."""
    start = _WS.match(text, 0)
    data, end = raw_decode(text, start.end() if start else 0, unit=unit)
    rest = _WS.match(text, end)
    end = rest.end() if rest else end
    if end != len(text):
        raise JsonProblem(end, "invalid JSON: extra data after the first value")
    return data


def _skip(text: str, pos: int) -> int:
    found = _WS.match(text, pos)
    return found.end() if found else pos


def locate(text: str, start: int, path: Sequence[str | int], *, key: bool = False) -> int:
    """Offset in ``text`` of the value at ``path`` inside the JSON value starting at ``start``
    (the key's offset for the last step when ``key``); the deepest part found when a step is
    missing. As ``json`` does, the last of duplicate keys counts."""
    pos = _skip(text, start)
    try:
        for depth, part in enumerate(path):
            last = depth == len(path) - 1
            ch = text[pos:pos + 1]
            if ch == "{" and isinstance(part, str):
                found = _member(text, pos, part, key=key and last)
            elif ch == "[" and isinstance(part, int):
                found = _element(text, pos, part)
            else:
                return pos
            if found is None:
                return pos
            pos = found
    except (ValueError, IndexError, RecursionError):
        pass
    return pos


def _member(text: str, pos: int, name: str, *, key: bool) -> int | None:
    found: int | None = None
    pos = _skip(text, pos + 1)
    while text[pos:pos + 1] == '"':
        key_at = pos
        got, pos = scanstring(text, pos + 1)
        pos = _skip(text, pos)
        if text[pos:pos + 1] != ":":
            return found
        pos = _skip(text, pos + 1)
        if got == name:
            found = key_at if key else pos
        _, pos = _DECODER.raw_decode(text, pos)
        pos = _skip(text, pos)
        if text[pos:pos + 1] != ",":
            break
        pos = _skip(text, pos + 1)
    return found


def _element(text: str, pos: int, index: int) -> int | None:
    pos = _skip(text, pos + 1)
    for _ in range(index):
        if text[pos:pos + 1] == "]":
            return None
        _, pos = _DECODER.raw_decode(text, pos)
        pos = _skip(text, pos)
        if text[pos:pos + 1] != ",":
            return None
        pos = _skip(text, pos + 1)
    return pos if text[pos:pos + 1] not in ("]", "") else None
