"""The catalog: what the engine needs to know about each SKU.

A SKU missing from the catalog gets the defaults of :class:`SkuInfo`: sold in whole units,
stock-managed, no backorders, no tags. Keeping the catalog optional lets a merchant start with a
network and a feed only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import NewType

from oms_sourcing.errors import UnknownReferenceError

__all__ = [
    "BackorderMode",
    "Backorders",
    "BundleComponent",
    "BundleDefinition",
    "Catalog",
    "Sku",
    "SkuInfo",
]

Sku = NewType("Sku", str)


class BackorderMode(StrEnum):
    """Whether a SKU may be sold beyond its stock (Magento's backorders setting)."""

    NONE = "none"
    ALLOW = "allow"
    ALLOW_UNTIL = "allow_until"


@dataclass(frozen=True, slots=True)
class Backorders:
    """Backorder setting of a SKU. ``limit`` (only with ``allow_until``) is how far below zero the
    salable quantity may go; it becomes the SKU's negative out-of-stock threshold, as Magento
    MSI's per-product threshold does (see :meth:`threshold`)."""

    mode: BackorderMode = BackorderMode.NONE
    limit: Decimal | None = None

    @property
    def allowed(self) -> bool:
        return self.mode is not BackorderMode.NONE

    @property
    def unlimited(self) -> bool:
        """Backorders without a limit (``allow``): the SKU is salable for any quantity."""
        return self.mode is BackorderMode.ALLOW

    def threshold(self, default: Decimal = Decimal(0)) -> Decimal:
        """The SKU's out-of-stock threshold in a stock whose own threshold is ``default``.

        ``allow_until: N`` gives ``-N`` (limited backorders: N may be sold beyond stock),
        whatever the stock says; ``allow`` gives 0 (MSI ignores a positive threshold when
        backorders are on, and 0 then means backorders without limit); without backorders
        the stock's figure applies. Salable quantity is stock minus reservations minus this.
        """
        if self.mode is BackorderMode.ALLOW_UNTIL:
            return -(self.limit or Decimal(0))
        if self.mode is BackorderMode.ALLOW:
            return Decimal(0)
        return default

    @property
    def floor(self) -> Decimal | None:
        """How low available stock may go: 0 without backorders, ``-limit`` with a limit, ``None``
        (unbounded) with plain ``allow``."""
        if self.mode is BackorderMode.NONE:
            return Decimal(0)
        if self.mode is BackorderMode.ALLOW_UNTIL:
            return -(self.limit or Decimal(0))
        return None


@dataclass(frozen=True, slots=True)
class BundleComponent:
    sku: Sku
    qty: Decimal


@dataclass(frozen=True, slots=True)
class BundleDefinition:
    """A bundle SKU sold as one item and shipped as its components."""

    sku: Sku
    components: tuple[BundleComponent, ...]


@dataclass(frozen=True, slots=True)
class SkuInfo:
    sku: Sku
    name: str = ""
    stock_managed: bool = True
    backorders: Backorders = field(default_factory=Backorders)
    decimals: int = 0
    tags: frozenset[str] = frozenset()



class Catalog:
    """Immutable lookup of SKU settings and bundle definitions."""

    __slots__ = ("_bundles", "_items")

    def __init__(
        self,
        items: Iterable[SkuInfo] = (),
        bundles: Iterable[BundleDefinition] = (),
    ) -> None:
        self._items: Mapping[str, SkuInfo] = MappingProxyType({i.sku: i for i in items})
        self._bundles: Mapping[str, BundleDefinition] = MappingProxyType(
            {b.sku: b for b in bundles}
        )

    @property
    def items(self) -> Mapping[str, SkuInfo]:
        return self._items

    @property
    def bundles(self) -> Mapping[str, BundleDefinition]:
        return self._bundles

    def __contains__(self, sku: object) -> bool:
        return sku in self._items or sku in self._bundles

    def __len__(self) -> int:
        return len(self._items)

    def info(self, sku: str) -> SkuInfo:
        """Settings of ``sku``; the defaults for a SKU the catalog does not list."""
        found = self._items.get(sku)
        if found is not None:
            return found
        return SkuInfo(sku=Sku(sku))

    def decimals(self, sku: str) -> int:
        found = self._items.get(sku)
        return found.decimals if found is not None else 0

    def stock_managed(self, sku: str) -> bool:
        found = self._items.get(sku)
        return found.stock_managed if found is not None else True

    def bundle(self, sku: str) -> BundleDefinition:
        """The definition of bundle ``sku``; raises ``UnknownReferenceError`` if there is none."""
        found = self._bundles.get(sku)
        if found is None:
            raise UnknownReferenceError(
                f"no bundle definition for SKU {sku!r}",
                field="bundle", value=sku, known=sorted(self._bundles),
            )
        return found
