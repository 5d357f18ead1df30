"""Validate a positioned YAML document against a pydantic model and report ``file:line:col``.

Pydantic says *what* is wrong and at which logical location (``rules.2.when.countri``); the
:class:`~oms_sourcing.formats._yaml.YamlDocument` knows *where* that is in the file. This module
joins the two and adds "did you mean" suggestions for misspelt keys and choices.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from oms_sourcing._suggest import suggest
from oms_sourcing.errors import Problem
from oms_sourcing.formats._yaml import YamlDocument

__all__ = [
    "allowed_keys", "data_path", "dotted", "suggest", "validate_document", "validation_problems",
]

M = TypeVar("M", bound=BaseModel)


def dotted(path: Sequence[str | int]) -> str:
    """``("rules", 2, "when")`` -> ``rules[2].when``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _data_path(data: Any, loc: Sequence[str | int]) -> tuple[list[str | int], list[str | int]]:
    """Split pydantic's ``loc`` into the part that exists in ``data`` and the model-only rest.

    Union members and validators add tags (``'function-after[...]'``, class names) to ``loc``
    that are not keys of the data; they are skipped.
    """
    here = data
    path: list[str | int] = []
    for i, part in enumerate(loc):
        in_dict = isinstance(here, dict) and part in here
        in_list = isinstance(here, list) and isinstance(part, int) and 0 <= part < len(here)
        if in_dict or in_list:
            path.append(part)
            here = here[part]
        elif isinstance(here, dict) and isinstance(part, str) and i == len(loc) - 1:
            return path, [part]
    return path, []


data_path = _data_path


def _unwrap(tp: Any) -> list[Any]:
    """The model classes a field annotation may hold (through Optional, list, dict, unions)."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(tp) for m in _unwrap(arg)]
    if origin in (list, tuple, set, frozenset, Sequence):
        return [m for arg in typing.get_args(tp) if arg is not Ellipsis for m in _unwrap(arg)]
    if origin is dict:
        args = typing.get_args(tp)
        return _unwrap(args[1]) if len(args) == 2 else []
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [tp]
    return []


def _models_at(model: type[BaseModel], path: Sequence[str | int]) -> list[type[BaseModel]]:
    """The model classes that may describe the mapping at ``path`` (for key suggestions)."""
    current = [model]
    for part in path:
        if isinstance(part, int):
            continue
        nxt: list[type[BaseModel]] = []
        for m in current:
            for name, info in m.model_fields.items():
                if part in (name, info.alias):
                    nxt.extend(_unwrap(info.annotation))
            if not nxt and m.model_fields:
                # a dict[str, Model] field: any key leads to the value model
                for info in m.model_fields.values():
                    if typing.get_origin(info.annotation) is dict:
                        nxt.extend(_unwrap(info.annotation))
        current = nxt or current
    return current


def _field_names(models: Iterable[type[BaseModel]]) -> list[str]:
    names: list[str] = []
    for m in models:
        for name, info in m.model_fields.items():
            names.append(info.alias or name)
    return sorted(set(names))


def allowed_keys(model: type[BaseModel], path: Sequence[str | int]) -> list[str]:
    """The keys the mapping at ``path`` of a ``model`` document may have (for suggestions)."""
    return _field_names(_models_at(model, path))


def _choices(ctx: dict[str, Any] | None) -> list[str]:
    if not ctx or "expected" not in ctx:
        return []
    return re.findall(r"'([^']*)'", str(ctx["expected"]))


def validation_problems(
    model: type[BaseModel], doc: YamlDocument, err: ValidationError
) -> list[Problem]:
    """One :class:`Problem` per pydantic error, positioned and with suggestions, in file order."""
    problems: list[Problem] = []
    seen: set[tuple[int, int, str]] = set()

    for e in err.errors(include_url=False):
        loc = list(e["loc"])
        path, missing = _data_path(doc.data, loc)
        kind = e["type"]
        value = e.get("input")
        where = dotted(path)
        if kind == "extra_forbidden":
            key = path[-1] if path else "?"
            line, col = doc.position(path, key=True)
            allowed = _field_names(_models_at(model, path[:-1]))
            hint = suggest(str(key), allowed)
            msg = f"{dotted(path[:-1])}: unknown key {key!r}"
            msg += f"; did you mean {hint!r}?" if hint else ""
            msg += f" (allowed: {', '.join(allowed)})" if allowed and not hint else ""
        elif kind == "missing":
            line, col = doc.position(path)
            name = missing[0] if missing else loc[-1]
            msg = f"{where}: required key {name!r} is missing"
        else:
            line, col = doc.position(path)
            text = e["msg"]
            if kind.startswith("value_error") and text.startswith("Value error, "):
                text = text[len("Value error, "):]
            shown = repr(value) if not isinstance(value, dict | list) else type(value).__name__
            msg = f"{where}: {text} (got {shown})"
            if isinstance(value, str):
                hint = suggest(value, _choices(e.get("ctx")))
                if hint and hint != value:
                    msg += f"; did you mean {hint!r}?"
        # A union reports one error per member at the same place; the first says enough.
        key3 = (line, col, where if kind != "extra_forbidden" else msg)
        if key3 in seen:
            continue
        seen.add(key3)
        problems.append(Problem(doc.path, line, col, msg, code=kind))
    problems.sort(key=lambda p: (p.line, p.column))
    return problems


def validate_document(model: type[M], doc: YamlDocument) -> M | list[Problem]:
    """Validate ``doc.data`` with ``model``; the model, or the positioned problems."""
    try:
        return model.model_validate(doc.data)
    except ValidationError as err:
        return validation_problems(model, doc, err)
