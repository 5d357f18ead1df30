"""JSON for what the service stores: records, events, answers and rulesets, and back.

A store that keeps rows (the SQL adapter) writes ``encode(value)`` and reads ``decode(text)``;
``decode(encode(x)) == x`` for every record, event and answer of the service, and for compiled
rulesets. Frozen dataclasses are written as ``{"__type__": "module:Class", field: value, ...}``;
``Decimal``, ``datetime``, enums, tuples, frozensets and mappings are tagged so they come back
as they were. Only classes of ``oms_sourcing`` are decoded.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from enum import Enum
from types import MappingProxyType
from typing import Any

from oms_sourcing.errors import InputError

__all__ = ["decode", "encode", "from_jsonable", "to_jsonable"]

_T = "__type__"


def _name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def to_jsonable(value: Any) -> Any:
    """``value`` as plain JSON data (see the module docstring)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return {_T: "float", "v": repr(value)}
    if isinstance(value, Enum):
        return {_T: "enum", "c": _name(type(value)), "v": value.value}
    if isinstance(value, Decimal):
        return {_T: "decimal", "v": str(value)}
    if isinstance(value, datetime):
        return {_T: "datetime", "v": value.isoformat()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {_T: _name(type(value))}
        for f in dataclasses.fields(value):
            out[f.name] = to_jsonable(getattr(value, f.name))
        return out
    if isinstance(value, tuple):
        return {_T: "tuple", "v": [to_jsonable(v) for v in value]}
    if isinstance(value, list):
        return [to_jsonable(v) for v in value]
    if isinstance(value, frozenset | set):
        items = sorted((to_jsonable(v) for v in value), key=lambda x: json.dumps(x, sort_keys=True))
        return {_T: "frozenset" if isinstance(value, frozenset) else "set", "v": items}
    if isinstance(value, Mapping):
        if all(isinstance(k, str) for k in value) and _T not in value:
            return {k: to_jsonable(v) for k, v in value.items()}
        return {_T: "map", "v": [[to_jsonable(k), to_jsonable(v)] for k, v in value.items()]}
    raise InputError(f"cannot store a {type(value).__name__} as JSON",
                     field="value", value=type(value).__name__,
                     expected="a frozen dataclass, enum, Decimal, datetime or plain data")


def _class(name: str) -> Any:
    module, _, qual = name.partition(":")
    if not module.startswith("oms_sourcing."):
        raise InputError(f"refusing to decode {name!r}: only oms_sourcing types are stored",
                         field=_T, value=name, expected="an oms_sourcing type")
    obj: Any = importlib.import_module(module)
    for part in qual.split("."):
        obj = getattr(obj, part)
    return obj


def from_jsonable(data: Any) -> Any:
    """The value ``to_jsonable`` was given."""
    if isinstance(data, list):
        return [from_jsonable(v) for v in data]
    if not isinstance(data, dict):
        return data
    tag = data.get(_T)
    if tag is None:
        return {k: from_jsonable(v) for k, v in data.items()}
    if tag == "float":
        return float(data["v"])
    if tag == "decimal":
        return Decimal(data["v"])
    if tag == "datetime":
        return datetime.fromisoformat(data["v"])
    if tag == "enum":
        return _class(data["c"])(data["v"])
    if tag == "tuple":
        return tuple(from_jsonable(v) for v in data["v"])
    if tag == "frozenset":
        return frozenset(from_jsonable(v) for v in data["v"])
    if tag == "set":
        return {from_jsonable(v) for v in data["v"]}
    if tag == "map":
        return MappingProxyType({from_jsonable(k): from_jsonable(v) for k, v in data["v"]})
    cls = _class(tag)
    values = {k: from_jsonable(v) for k, v in data.items() if k != _T}
    init = {f.name for f in dataclasses.fields(cls) if f.init}
    obj = cls(**{k: v for k, v in values.items() if k in init})
    for k, v in values.items():       # fields outside __init__ (none today), set as stored
        if k not in init:
            object.__setattr__(obj, k, v)
    return obj


def encode(value: Any) -> str:
    """``value`` as a JSON string."""
    return json.dumps(to_jsonable(value), sort_keys=True, separators=(",", ":"))


def decode(text: str) -> Any:
    """The value ``encode`` was given."""
    return from_jsonable(json.loads(text))
