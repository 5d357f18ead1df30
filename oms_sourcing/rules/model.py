"""A compiled ruleset: frozen domain objects, no pydantic, nothing left to validate.

:class:`Policy` is everything the allocator needs to source one order: which sources
(:class:`SourcePolicy`, with per-line restrictions), how much of their stock
(:class:`StockPolicy`), how the order may split (:class:`SplitPolicy`, :class:`BundlePolicy`),
what to optimise (:class:`Objective`) or how to rank sources for the greedy fill
(:class:`RankKey`), and what to do with short, declined lines (:class:`BackorderPolicy`,
:class:`DeclinePolicy`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from oms_sourcing.domain import Source, SourceKind, SourceSelector, Zone
from oms_sourcing.errors import Problem, UnknownReferenceError
from oms_sourcing.rules.conditions import Condition, InZone, SkuTags

__all__ = [
    "DEFAULT_POLICY",
    "BackorderPolicy",
    "BundleMode",
    "BundlePolicy",
    "DeclineAction",
    "DeclinePolicy",
    "LineRestriction",
    "Objective",
    "Policy",
    "RankKey",
    "Rule",
    "Ruleset",
    "SourcePolicy",
    "SplitMode",
    "SplitPolicy",
    "StockPolicy",
]


class SplitMode(StrEnum):
    """How an order may be divided into shipments.

    ``allow``: lines may ship from several sources; quantity no source has follows the backorder
    policy. ``ship_complete``: the whole order ships in one shipment from one source; when no
    source can, the order is held. ``hold_until_complete``: nothing ships until every line can be
    sourced (then in up to ``max_shipments`` shipments) — Magento Order Management's "hold back".
    """

    ALLOW = "allow"
    SHIP_COMPLETE = "ship_complete"
    HOLD_UNTIL_COMPLETE = "hold_until_complete"


class BundleMode(StrEnum):
    """Magento Order Management's bundle restriction: SHIPTOGETHER, SHIPSIMULTANEOUSLY,
    SHIPSEPARATELY."""

    TOGETHER = "together"
    SIMULTANEOUS = "simultaneous"
    SEPARATE = "separate"


class RankKey(StrEnum):
    """Keys of the greedy fill's source order; ties always break on priority, then code.

    ``priority``: lower priority value first (Magento MSI's default algorithm). ``distance``:
    nearer first, sources without coordinates last (MSI's distance algorithm). ``stock``: more
    available quantity of the order's SKUs first (fewer splits). ``cost``: cheaper shipping lane
    first.
    """

    PRIORITY = "priority"
    DISTANCE = "distance"
    STOCK = "stock"
    COST = "cost"


class BackorderPolicy(StrEnum):
    """What happens to quantity no allowed source can ship. A SKU whose catalog entry forbids
    backorders narrows ``allow`` to ``hold``."""

    ALLOW = "allow"
    CANCEL = "cancel"
    HOLD = "hold"


class DeclineAction(StrEnum):
    HOLD = "hold"
    CANCEL = "cancel"


@dataclass(frozen=True, slots=True)
class LineRestriction:
    """Narrows the sources of the lines it applies to (it never widens the rule's filter).

    It applies to a line when the line's SKU carries one of ``sku_tags`` (if any are listed)
    and is one of ``skus`` (case-folded, if any are listed).
    """

    sku_tags: frozenset[str] = frozenset()
    skus: frozenset[str] = frozenset()
    include: SourceSelector | None = None
    exclude: SourceSelector = field(default_factory=SourceSelector)
    max_distance_km: float | None = None

    def applies_to(self, sku: str, tags: frozenset[str]) -> bool:
        """Whether the restriction covers a line of ``sku`` whose catalog tags are ``tags``."""
        return (not self.sku_tags or not tags.isdisjoint(self.sku_tags)) and (
            not self.skus or sku.casefold() in self.skus
        )

    def allows(self, source: Source) -> bool:
        """Include/exclude check only; distance needs the destination (see max_distance_km)."""
        return (self.include is None or self.include.matches(source)) and not (
            self.exclude.matches(source)
        )

    def describe(self) -> str:
        parts = []
        if self.sku_tags:
            parts.append(f"SKU tagged {' or '.join(sorted(self.sku_tags))}")
        if self.skus:
            parts.append(f"SKU in {', '.join(sorted(self.skus))}")
        return "lines with " + " and ".join(parts)


@dataclass(frozen=True, slots=True)
class SourcePolicy:
    """Which sources may ship the order's lines.

    ``include`` ``None`` means every source; ``exclude`` removes sources from that;
    ``max_distance_km`` drops sources farther from the destination (sources without coordinates
    are dropped when a maximum is set). Every :class:`LineRestriction` that applies to a line
    narrows its sources further.
    """

    include: SourceSelector | None = None
    exclude: SourceSelector = field(default_factory=SourceSelector)
    max_distance_km: float | None = None
    lines: tuple[LineRestriction, ...] = ()

    def allows(self, source: Source) -> bool:
        """Whether the order-level include/exclude admit ``source`` (distance not checked)."""
        return (self.include is None or self.include.matches(source)) and not (
            self.exclude.matches(source)
        )

    def restrictions_for(self, sku: str, tags: frozenset[str]) -> tuple[LineRestriction, ...]:
        """The line restrictions that apply to a line of ``sku`` tagged ``tags``."""
        return tuple(r for r in self.lines if r.applies_to(sku, tags))

    def allows_for_line(self, source: Source, sku: str, tags: frozenset[str]) -> bool:
        """Whether ``source`` may ship a line of ``sku`` (distance not checked)."""
        return self.allows(source) and all(
            r.allows(source) for r in self.lines if r.applies_to(sku, tags)
        )

    def max_distance_for_line(self, sku: str, tags: frozenset[str]) -> float | None:
        """The tightest distance limit for a line of ``sku``; ``None`` when unlimited."""
        limits = [self.max_distance_km] + [
            r.max_distance_km for r in self.lines if r.applies_to(sku, tags)
        ]
        present = [d for d in limits if d is not None]
        return min(present) if present else None


@dataclass(frozen=True, slots=True)
class StockPolicy:
    """How much of each source's stock a rule may use.

    Safety stock is held back per SKU at a source; the most specific setting wins: the source's
    code, then its groups (the largest value among them), then its kind, then ``default``.
    ``respect_reservations``: stock reserved by other orders is unavailable (``False`` lets a
    rule see on-hand stock, e.g. for what-if simulations).
    """

    by_source: tuple[tuple[str, Decimal], ...] = ()
    by_group: tuple[tuple[str, Decimal], ...] = ()
    by_kind: tuple[tuple[SourceKind, Decimal], ...] = ()
    default: Decimal = Decimal(0)
    respect_reservations: bool = True
    _sources: Mapping[str, Decimal] = field(init=False, repr=False, compare=False, hash=False)
    _groups: Mapping[str, Decimal] = field(init=False, repr=False, compare=False, hash=False)
    _kinds: Mapping[str, Decimal] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        # Sorted pairs keep the policy hashable and comparable; the dicts keep lookups O(1).
        for name, pairs in (
            ("by_source", self.by_source),
            ("by_group", self.by_group),
            ("by_kind", self.by_kind),
        ):
            object.__setattr__(self, name, tuple(sorted(pairs)))
        object.__setattr__(self, "_sources", MappingProxyType(dict(self.by_source)))
        object.__setattr__(self, "_groups", MappingProxyType(dict(self.by_group)))
        object.__setattr__(self, "_kinds", MappingProxyType(dict(self.by_kind)))

    @property
    def has_safety_stock(self) -> bool:
        return bool(self.by_source or self.by_group or self.by_kind or self.default)

    def safety_for(self, source: Source) -> Decimal:
        """Units of each SKU ``source`` keeps back from sourcing under this policy."""
        found = self._sources.get(source.code)
        if found is not None:
            return found
        if self._groups:
            group_values = [self._groups[g] for g in source.groups if g in self._groups]
            if group_values:
                return max(group_values)
        found = self._kinds.get(source.kind)
        if found is not None:
            return found
        return self.default


@dataclass(frozen=True, slots=True)
class SplitPolicy:
    """How the order may split; see :class:`SplitMode`. ``max_shipments`` caps the number of
    shipments (sources); ``min_shipment_value`` refuses shipments worth less (order currency);
    ``one_source_per_line``: each line ships from a single source (lines may still differ)."""

    mode: SplitMode = SplitMode.ALLOW
    max_shipments: int | None = None
    min_shipment_value: Decimal | None = None
    one_source_per_line: bool = False


@dataclass(frozen=True, slots=True)
class BundlePolicy:
    """How bundle components ship; a ``together`` or ``simultaneous`` bundle may split after
    ``split_after_attempts`` failed sourcing attempts (``None``: never)."""

    mode: BundleMode = BundleMode.TOGETHER
    split_after_attempts: int | None = None


@dataclass(frozen=True, slots=True)
class Objective:
    """Weights of the optimiser's objective; every weight is an exact ``Decimal`` >= 0.

    Terms: lane cost (per currency unit), distance (per km), shipments (per parcel), source
    priority (per priority step), transfer cost (per currency unit) and transfer days (per day)
    for ship-to-store, capacity use (per percent of a source's daily capacity), and stock value
    (per currency unit of the bid price of the units a plan takes; see
    ``allocation.lookahead``).
    """

    shipping_cost: Decimal = Decimal(0)
    distance: Decimal = Decimal(0)
    shipments: Decimal = Decimal(0)
    source_priority: Decimal = Decimal(0)
    transfer_cost: Decimal = Decimal(0)
    transfer_days: Decimal = Decimal(0)
    capacity_use: Decimal = Decimal(0)
    stock_value: Decimal = Decimal(0)

    @property
    def is_zero(self) -> bool:
        """All weights are zero: every plan scores the same."""
        return not any(getattr(self, f.name) for f in fields(self))

    def weights(self) -> dict[str, Decimal]:
        """Weight of every term, by name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class DeclinePolicy:
    """A line declined ``attempts`` times is no longer re-sourced; it is held or cancelled."""

    attempts: int = 3
    then: DeclineAction = DeclineAction.HOLD


@dataclass(frozen=True, slots=True)
class Policy:
    """Everything the allocator needs to source an order.

    Exactly one of ``objective`` (optimise) and ``rank`` (greedy fill) is in use: ``rank`` is
    empty when ``objective`` is set, and ``objective`` is ``None`` when ``rank`` is set.
    """

    sources: SourcePolicy = SourcePolicy()
    stock: StockPolicy = StockPolicy()
    split: SplitPolicy = SplitPolicy()
    bundle: BundlePolicy = BundlePolicy()
    objective: Objective | None = Objective(shipping_cost=Decimal(1))
    rank: tuple[RankKey, ...] = ()
    backorder: BackorderPolicy = BackorderPolicy.HOLD
    decline: DeclinePolicy = DeclinePolicy()

    @property
    def uses_rank(self) -> bool:
        """Whether sources are filled greedily in ``rank`` order instead of optimised."""
        return bool(self.rank)


#: What applies where neither a rule nor the ruleset's ``defaults`` say otherwise: every source,
#: no safety stock, reservations respected, splits allowed, bundles together, cheapest shipping,
#: short quantity held, a line declined three times held.
DEFAULT_POLICY = Policy()


@dataclass(frozen=True, slots=True)
class Rule:
    """One compiled rule: its conditions (cheapest first) and the policy it selects."""

    name: str
    conditions: tuple[Condition, ...]
    policy: Policy
    description: str = ""
    line: int = field(default=0, compare=False)

    @property
    def always_matches(self) -> bool:
        """A rule without conditions (a fallback) matches every order."""
        return not self.conditions

    def describe(self) -> str:
        if not self.conditions:
            return "every order (fallback)"
        return "; ".join(c.describe() for c in self.conditions)


@dataclass(frozen=True, slots=True)
class Ruleset:
    """A compiled ruleset.

    ``rules`` are tried top to bottom and the first whose conditions all hold decides the
    policy; when none does, ``defaults`` applies. ``zones`` are the ruleset's own zones
    (conditions may also refer to the network's zones, resolved when the ruleset was loaded).
    ``warnings`` are the lint findings of loading (not part of equality).
    """

    id: str
    version: str
    rules: tuple[Rule, ...]
    defaults: Policy = DEFAULT_POLICY
    description: str = ""
    currency: str | None = None
    zones: tuple[Zone, ...] = ()
    path: str = field(default="", compare=False)
    warnings: tuple[Problem, ...] = field(default=(), compare=False)

    def __len__(self) -> int:
        return len(self.rules)

    def rule(self, name: str) -> Rule:
        """The rule called ``name``.

        Raises:
            UnknownReferenceError: no rule has that name.
        """
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise UnknownReferenceError(
            f"ruleset {self.id!r} has no rule {name!r}",
            field="rule", value=name, known=[r.name for r in self.rules],
        )

    @property
    def fallback(self) -> Rule | None:
        """The first rule without conditions, if any."""
        return next((r for r in self.rules if r.always_matches), None)

    @property
    def uses_sku_tags(self) -> bool:
        """Whether selection or line restrictions read SKU tags (then pass a catalog)."""
        return any(
            isinstance(c, SkuTags) for r in self.rules for c in r.conditions
        ) or any(
            line.sku_tags
            for policy in self._policies()
            for line in policy.sources.lines
        )

    @property
    def zone_names(self) -> tuple[str, ...]:
        """Every zone a condition refers to, including the network's, sorted."""
        names = {z.name for z in self.zones}
        for r in self.rules:
            for c in r.conditions:
                if isinstance(c, InZone):
                    names.update(c.names)
        return tuple(sorted(names))

    def _policies(self) -> Iterable[Policy]:
        yield self.defaults
        for r in self.rules:
            yield r.policy
