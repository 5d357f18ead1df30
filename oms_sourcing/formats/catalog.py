"""catalog.yaml: per-SKU settings and bundle definitions.

Example::

    skus:
      - sku: FABRIC-LINEN
        stock_managed: true
        backorders: {allow_until: 10}     # none | allow | {allow_until: N}
        decimal_qty: 1
        tags: [oversize]
    bundles:
      - sku: KIT-STARTER
        components: [{sku: PAN-24, qty: 1}, {sku: LID-24, qty: 1}]
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from oms_sourcing.domain import (
    MAX_DECIMALS,
    BackorderMode,
    Backorders,
    BundleComponent,
    BundleDefinition,
    Catalog,
    Sku,
    SkuInfo,
    parse_quantity,
)
from oms_sourcing.errors import CatalogFileError, Problem, QuantityError
from oms_sourcing.formats._validate import suggest, validate_document
from oms_sourcing.formats._yaml import YamlDocument, YamlLoadError, load_yaml, parse_yaml

__all__ = ["BundleModel", "CatalogFile", "SkuModel", "catalog_from_model", "load_catalog",
           "parse_catalog"]

_FROZEN = ConfigDict(extra="forbid", frozen=True)
SkuStr = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")]


class AllowUntil(BaseModel):
    model_config = _FROZEN
    allow_until: Decimal = Field(ge=0, description="How many units may be sold beyond stock.")

    @field_validator("allow_until", mode="before")
    @classmethod
    def _exact(cls, v: object) -> Decimal:
        return parse_quantity(v, decimals=MAX_DECIMALS, field="allow_until", positive=False)


class SkuModel(BaseModel):
    model_config = _FROZEN
    sku: SkuStr = Field(description="The SKU, unique in the catalog.")
    name: str = ""
    stock_managed: bool = Field(
        True, description="false: virtual/unlimited, stock is never checked or reserved."
    )
    backorders: Literal["none", "allow"] | AllowUntil = Field(
        "none", description="none | allow | {allow_until: N}"
    )
    decimal_qty: int = Field(
        0, ge=0, le=MAX_DECIMALS,
        description="Decimal places a quantity of this SKU may have (1 for 2.5 m of fabric).",
    )
    tags: tuple[str, ...] = Field((), description="Free tags rules select on: hazmat, oversize.")


class ComponentModel(BaseModel):
    model_config = _FROZEN
    sku: SkuStr
    qty: Decimal = Field(Decimal(1), description="Units of the component per bundle.")

    @field_validator("qty", mode="before")
    @classmethod
    def _exact(cls, v: object) -> Decimal:
        return parse_quantity(v, decimals=MAX_DECIMALS, field="qty")


class BundleModel(BaseModel):
    model_config = _FROZEN
    sku: SkuStr = Field(description="The bundle's own SKU, as ordered.")
    components: tuple[ComponentModel, ...] = Field(min_length=1)


class CatalogFile(BaseModel):
    """The catalog file: SKU settings and bundle definitions."""

    model_config = _FROZEN
    skus: tuple[SkuModel, ...] = ()
    bundles: tuple[BundleModel, ...] = ()


def _backorders(value: Literal["none", "allow"] | AllowUntil) -> Backorders:
    if isinstance(value, AllowUntil):
        return Backorders(BackorderMode.ALLOW_UNTIL, value.allow_until)
    return Backorders(BackorderMode(value))


def _cross_check(model: CatalogFile, doc: YamlDocument | None, path: str) -> list[Problem]:
    def at(*loc: str | int) -> tuple[int, int]:
        return doc.position(loc) if doc is not None else (0, 0)

    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(model.skus):
        if item.sku in seen:
            line, col = at("skus", i, "sku")
            first = at("skus", seen[item.sku], "sku")[0]
            problems.append(Problem(path, line, col,
                                    f"skus[{i}].sku: {item.sku!r} is listed twice (first at "
                                    f"line {first}); merge the two entries"))
        else:
            seen[item.sku] = i
    bundle_skus: set[str] = set()
    for b, bundle in enumerate(model.bundles):
        if bundle.sku in bundle_skus:
            line, col = at("bundles", b, "sku")
            problems.append(Problem(path, line, col,
                                    f"bundles[{b}].sku: bundle {bundle.sku!r} is defined twice"))
        bundle_skus.add(bundle.sku)
        for c, comp in enumerate(bundle.components):
            if comp.sku not in seen:
                line, col = at("bundles", b, "components", c, "sku")
                hint = suggest(comp.sku, seen)
                problems.append(Problem(
                    path, line, col,
                    f"bundles[{b}].components[{c}].sku: {comp.sku!r} is not in skus"
                    + (f"; did you mean {hint!r}?" if hint else "; add it to skus"),
                ))
                continue
            decimals = model.skus[seen[comp.sku]].decimal_qty
            try:
                parse_quantity(comp.qty, decimals=decimals)
            except QuantityError:
                line, col = at("bundles", b, "components", c, "qty")
                problems.append(Problem(
                    path, line, col,
                    f"bundles[{b}].components[{c}].qty: {comp.qty} has more decimals than "
                    f"{comp.sku} allows (decimal_qty: {decimals})",
                ))
    return problems


def catalog_from_model(model: CatalogFile, *, path: str = "<catalog>") -> Catalog:
    """Compile a validated ``CatalogFile`` into a :class:`~oms_sourcing.domain.Catalog`.

    Raises:
        CatalogFileError: duplicate SKUs or bundles, bundle components not in the catalog.
    """
    problems = _cross_check(model, None, path)
    if problems:
        raise CatalogFileError(problems, path=path)
    return _compile(model)


def _compile(model: CatalogFile) -> Catalog:
    items = [
        SkuInfo(
            sku=Sku(s.sku), name=s.name, stock_managed=s.stock_managed,
            backorders=_backorders(s.backorders), decimals=s.decimal_qty,
            tags=frozenset(s.tags),
        )
        for s in model.skus
    ]
    bundles = [
        BundleDefinition(
            sku=Sku(b.sku),
            components=tuple(BundleComponent(Sku(c.sku), c.qty) for c in b.components),
        )
        for b in model.bundles
    ]
    return Catalog(items, bundles)


def _from_document(doc: YamlDocument) -> Catalog:
    if doc.data is not None and not isinstance(doc.data, dict):
        raise CatalogFileError(
            [Problem(doc.path, 1, 1, "a catalog is a mapping with 'skus' and 'bundles'")]
        )
    result = validate_document(CatalogFile, doc)
    if isinstance(result, list):
        raise CatalogFileError(result, path=doc.path)
    problems = _cross_check(result, doc, doc.path)
    if problems:
        raise CatalogFileError(problems, path=doc.path)
    return _compile(result)


def load_catalog(path: str | Path) -> Catalog:
    """Load and check a catalog file.

    Raises:
        CatalogFileError: every problem found, each as ``path:line:col: message``.
    """
    try:
        doc = load_yaml(path)
    except YamlLoadError as err:
        raise CatalogFileError(err.problems, path=str(path)) from None
    return _from_document(doc)


def parse_catalog(text: str, path: str = "<string>") -> Catalog:
    """Like :func:`load_catalog` for YAML text."""
    try:
        doc = parse_yaml(text, path)
    except YamlLoadError as err:
        raise CatalogFileError(err.problems, path=path) from None
    return _from_document(doc)
