"""JSON Schema of every file format (and of the allocation result the CLI prints), generated
from the pydantic models that validate or document them.

Editors use them to complete and check files: a ruleset starting with
``# yaml-language-server: $schema=../schemas/ruleset.schema.json`` gets completion and inline
errors in VS Code (YAML extension), JetBrains IDEs and any LSP client of yaml-language-server.
The models are imported only when their schema is asked for.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from oms_sourcing.errors import InputError
from oms_sourcing.formats._validate import suggest

__all__ = ["SCHEMA_NAMES", "json_schema", "schema_text", "write_schemas"]

#: The file formats with a schema, in the order the CLI lists them.
SCHEMA_NAMES = ("ruleset", "network", "catalog", "order", "feed", "allocation-result")

_MODELS: dict[str, tuple[str, str]] = {
    "ruleset": ("oms_sourcing.rules.schema", "RulesetFile"),
    "network": ("oms_sourcing.formats.network", "NetworkFile"),
    "catalog": ("oms_sourcing.formats.catalog", "CatalogFile"),
    "order": ("oms_sourcing.formats.orders", "OrderModel"),
    "feed": ("oms_sourcing.formats.feed", "FeedRecord"),
    "allocation-result": ("oms_sourcing.formats.result", "AllocationResultModel"),
}

_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _model(name: str) -> type[BaseModel]:
    if name not in _MODELS:
        hint = suggest(name, SCHEMA_NAMES)
        raise InputError(
            f"no schema named {name!r}"
            + (f"; did you mean {hint!r}?" if hint else "")
            + f" (schemas: {', '.join(SCHEMA_NAMES)})",
            field="name", value=name, expected=" | ".join(SCHEMA_NAMES),
        )
    module_name, class_name = _MODELS[name]
    model: type[BaseModel] = getattr(importlib.import_module(module_name), class_name)
    return model


def json_schema(name: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the file format ``name``.

    Args:
        name: one of :data:`SCHEMA_NAMES`.

    Raises:
        InputError: an unknown name (with a "did you mean").
    """
    schema = _model(name).model_json_schema()
    return {"$schema": _DIALECT, **schema}


def schema_text(name: str) -> str:
    """:func:`json_schema` as the JSON text written to ``schemas/NAME.schema.json``."""
    return json.dumps(json_schema(name), indent=2, ensure_ascii=False) + "\n"


def write_schemas(directory: str | Path, names: tuple[str, ...] = SCHEMA_NAMES) -> list[Path]:
    """Write ``NAME.schema.json`` for each of ``names`` into ``directory``; the paths written."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        target = folder / f"{name}.schema.json"
        target.write_text(schema_text(name), encoding="utf-8")
        written.append(target)
    return written
