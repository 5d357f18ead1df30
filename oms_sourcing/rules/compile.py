"""Turn validated ruleset models into the compiled :class:`~oms_sourcing.rules.model.Ruleset`,
checking what a schema cannot: references (zones; with a network, source codes, groups and tags;
with a catalog, SKU tags), contradictions (``min`` above ``max``, ``objective`` with ``rank``)
and unique rule names. Every problem goes to the :class:`Reporter` with its position.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Protocol

from oms_sourcing.domain import Catalog, Source, SourceKind, SourceSelector, Zone
from oms_sourcing.formats._validate import suggest
from oms_sourcing.rules._report import Loc, Reporter
from oms_sourcing.rules.conditions import (
    Condition,
    FieldIn,
    InZone,
    LineCount,
    OrderValue,
    PostcodePrefix,
    SkuTags,
    condition_cost,
)
from oms_sourcing.rules.model import (
    DEFAULT_POLICY,
    BackorderPolicy,
    BundleMode,
    BundlePolicy,
    DeclineAction,
    DeclinePolicy,
    LineRestriction,
    Objective,
    Policy,
    RankKey,
    Rule,
    Ruleset,
    SourcePolicy,
    SplitMode,
    SplitPolicy,
    StockPolicy,
)
from oms_sourcing.rules.schema import (
    BundlesModel,
    DeclineModel,
    LineRestrictionModel,
    LineSourcesModel,
    ObjectiveModel,
    PolicyModel,
    RuleModel,
    RulesetFile,
    SelectorModel,
    SplitModel,
    StockModel,
    WhenModel,
    ZoneModel,
)

__all__ = ["NetworkLike", "Pieces", "compile_pieces", "did_you_mean", "normal_zone"]


class NetworkLike(Protocol):
    """What the loader needs of a network (a :class:`~oms_sourcing.inventory.network.
    SourceNetwork` fits): its sources, groups, source tags and zones."""

    @property
    def sources(self) -> Sequence[Source]: ...

    @property
    def groups(self) -> Mapping[str, Set[str]]: ...

    @property
    def tags(self) -> Set[str]: ...

    @property
    def zones(self) -> Mapping[str, Zone]: ...


@dataclass(slots=True)
class Pieces:
    """The parts of a ruleset file that validated (``None`` where a part did not).

    When the whole file validates, every part is present; when it does not, the loader still
    compiles the valid parts so that reference errors are reported together with schema errors.
    """

    id: str
    version: str
    description: str
    currency: str | None
    zones: dict[str, ZoneModel | None]
    defaults: PolicyModel | None
    rules: list[RuleModel | None]
    names: list[object]
    rules_given: bool = True

    @classmethod
    def of(cls, model: RulesetFile) -> Pieces:
        return cls(
            id=model.id,
            version=model.version,
            description=model.description,
            currency=model.currency,
            zones=dict(model.zones),
            defaults=model.defaults,
            rules=list(model.rules),
            names=[r.name for r in model.rules],
        )

    @property
    def complete(self) -> bool:
        return self.rules_given and all(r is not None for r in self.rules) and all(
            z is not None for z in self.zones.values()
        )


def _closest(value: str, names: Sequence[str]) -> str | None:
    """A likely intended name: a close spelling, or the one name extending ``value``
    (``hazmat`` -> ``hazmat_certified``)."""
    hint = suggest(value, names)
    if hint is not None:
        return hint
    folded = value.casefold()
    longer = [n for n in names if n.casefold().startswith(folded)]
    return longer[0] if len(longer) == 1 and folded else None


def did_you_mean(value: str, known: Iterable[str], what: str) -> str:
    """``"; did you mean 'x'?"`` or the list of known names (up to 15)."""
    names = sorted(set(known))
    hint = _closest(value, names)
    if hint is not None:
        return f"; did you mean {hint!r}?"
    if not names:
        return f" (there are no {what}s)"
    shown = ", ".join(names[:15]) + (", ..." if len(names) > 15 else "")
    return f" (known {what}s: {shown})"


def normal_zone(zone: Zone) -> Zone:
    """``zone`` with the letter case and spacing :class:`OrderFacts` compares against."""
    return replace(
        zone,
        countries=frozenset(c.strip().upper() for c in zone.countries),
        regions=frozenset(r.strip().upper() for r in zone.regions),
        postcode_prefixes=tuple(
            sorted({p.replace(" ", "").upper() for p in zone.postcode_prefixes})
        ),
    )


_PLAIN_FIELDS = ("country", "region", "channel", "customer_group", "shipping_method")


class _Compiler:
    def __init__(
        self, rep: Reporter, network: NetworkLike | None, catalog: Catalog | None
    ) -> None:
        self.rep = rep
        self.network = network
        self.catalog = catalog
        self.zones: dict[str, Zone] = {}
        self.known_zones: set[str] = set()
        self.currency: str | None = None
        sources = network.sources if network is not None else ()
        self.codes = frozenset(s.code for s in sources)
        self.groups = frozenset(network.groups) if network is not None else frozenset()
        self.source_tags = frozenset(network.tags) if network is not None else frozenset()
        self.kinds = frozenset(s.kind for s in sources)
        items = catalog.items if catalog is not None else {}
        self.sku_tags = frozenset(t for info in items.values() for t in info.tags)
        self.skus = frozenset([s.casefold() for s in items] + (
            [s.casefold() for s in catalog.bundles] if catalog is not None else []
        ))

    # -- the file ---------------------------------------------------------------------------

    def compile(self, p: Pieces) -> Ruleset:
        self.currency = p.currency
        own_zones = self.compile_zones(p.zones)
        defaults = (
            self.policy(p.defaults, ("defaults",), DEFAULT_POLICY)
            if p.defaults is not None
            else DEFAULT_POLICY
        )
        self.check_names(p.names)
        rules = tuple(
            self.rule(m, i, defaults) for i, m in enumerate(p.rules) if m is not None
        )
        if p.rules_given and not p.names:
            self.rep.error(
                ("rules",),
                "the list is empty; a ruleset needs at least one rule (a rule without `when` "
                "matches every order)",
                key=True, code="no-rules",
            )
        return Ruleset(
            id=p.id,
            version=p.version,
            description=p.description,
            currency=p.currency,
            zones=own_zones,
            rules=rules,
            defaults=defaults,
            path=self.rep.path,
        )

    def compile_zones(self, models: Mapping[str, ZoneModel | None]) -> tuple[Zone, ...]:
        network_zones = (
            {name: normal_zone(z) for name, z in self.network.zones.items()}
            if self.network is not None
            else {}
        )
        own: list[Zone] = []
        for name, m in models.items():
            self.known_zones.add(name)
            if m is None:
                continue
            loc: Loc = ("zones", name)
            if not (m.countries or m.regions or m.postcodes):
                self.rep.error(
                    loc,
                    f"zone {name!r} lists no countries, regions or postcodes, so it would contain "
                    "every address; list some, or drop the zone condition from the rules",
                    key=True, code="empty-zone",
                )
            zone = normal_zone(
                Zone(
                    name=name,
                    countries=frozenset(m.countries),
                    regions=frozenset(m.regions),
                    postcode_prefixes=tuple(m.postcodes),
                )
            )
            theirs = network_zones.get(name)
            if theirs is not None and theirs != zone:
                self.rep.warning(
                    loc,
                    f"zone {name!r} is also defined by the network, differently; this ruleset "
                    "uses its own definition (rename one to avoid confusion)",
                    key=True, code="zone-shadows-network",
                )
            own.append(zone)
            self.zones[name] = zone
        for name, zone in network_zones.items():
            self.known_zones.add(name)
            self.zones.setdefault(name, zone)
        return tuple(own)

    def check_names(self, names: Sequence[object]) -> None:
        first: dict[str, int] = {}
        for i, name in enumerate(names):
            if not isinstance(name, str):
                continue
            if name in first:
                k = first[name]
                line = self.rep.position(("rules", k))[0]
                self.rep.error(
                    ("rules", i, "name"),
                    f"rule name {name!r} is already used by rules[{k}] (line {line}); rule "
                    "names must be unique because explanations and decision history name rules",
                    code="duplicate-rule",
                )
            else:
                first[name] = i

    def rule(self, m: RuleModel, i: int, defaults: Policy) -> Rule:
        loc: Loc = ("rules", i)
        return Rule(
            name=m.name,
            description=m.description,
            conditions=self.when(m.when, (*loc, "when")),
            policy=self.policy(m, loc, defaults),
            line=self.rep.position(loc)[0],
        )

    # -- when -------------------------------------------------------------------------------

    def when(self, m: WhenModel | None, loc: Loc) -> tuple[Condition, ...]:
        if m is None:
            return ()
        given = m.model_fields_set
        out: list[Condition] = []
        for key in _PLAIN_FIELDS:
            values: list[str] = getattr(m, key)
            if key not in given:
                continue
            if not values:
                self._empty_list(loc, key)
                continue
            norm = (
                {v.strip().upper() for v in values}
                if key in ("country", "region")
                else {v.strip().casefold() for v in values}
            )
            out.append(FieldIn(key, frozenset(norm)))
        if m.delivery is not None:
            out.append(FieldIn("delivery", frozenset({m.delivery})))
        if "postcode_prefix" in given:
            if m.postcode_prefix:
                out.append(PostcodePrefix(tuple(sorted(set(m.postcode_prefix)))))
            else:
                self._empty_list(loc, "postcode_prefix")
        if "zone" in given:
            zone = self.zone_condition(m.zone, (*loc, "zone"))
            if zone is not None:
                out.append(zone)
        if m.order_value is not None:
            low, high = m.order_value.min, m.order_value.max
            if self._range_ok(low, high, (*loc, "order_value")):
                out.append(OrderValue(low, high, self.currency))
        if m.line_count is not None:
            n_low, n_high = m.line_count.min, m.line_count.max
            if self._range_ok(n_low, n_high, (*loc, "line_count")):
                out.append(LineCount(n_low, n_high))
        if m.sku_tags is not None:
            tags = self.sku_tags_condition(m.sku_tags.any, m.sku_tags.all, m.sku_tags.none,
                                           (*loc, "sku_tags"))
            if tags is not None:
                out.append(tags)
        out.sort(key=lambda c: condition_cost(c.key))
        return tuple(out)

    def _empty_list(self, loc: Loc, key: str) -> None:
        self.rep.error(
            (*loc, key),
            "the list is empty, so no order could match; remove the key to match any "
            f"{key.replace('_', ' ')}",
            code="empty-condition",
        )

    def _range_ok(
        self, low: Decimal | int | None, high: Decimal | int | None, loc: Loc
    ) -> bool:
        if low is None and high is None:
            self.rep.error(loc, "give min, max or both", code="empty-range")
            return False
        if low is not None and high is not None and low > high:
            self.rep.error(
                (*loc, "max"),
                f"max {high} is below min {low}, so no order could match",
                code="empty-range",
            )
            return False
        return True

    def zone_condition(self, names: Sequence[str], loc: Loc) -> InZone | None:
        if not names:
            self._empty_list(loc[:-1], "zone")
            return None
        found: dict[str, Zone] = {}
        for j, name in enumerate(names):
            zone = self.zones.get(name)
            if zone is not None:
                found[name] = zone
                continue
            if name in self.known_zones:  # defined, but its definition had schema errors
                continue
            hint = _closest(name, sorted(self.known_zones))
            if hint is not None:
                message = f"unknown zone {name!r}; did you mean {hint!r}?"
            elif self.network is None:
                message = (
                    f"unknown zone {name!r}; define it under `zones:` (the network's zones are "
                    "known only when the ruleset is loaded with the network)"
                )
            else:
                message = (
                    f"unknown zone {name!r}; define it under `zones:`"
                    f"{did_you_mean(name, self.known_zones, 'zone')}"
                )
            self.rep.error((*loc, j), message, code="unknown-zone")
        if not found:
            return None
        return InZone(tuple(found[n] for n in sorted(found)))

    def sku_tags_condition(
        self, any_of: Sequence[str], all_of: Sequence[str], none_of: Sequence[str], loc: Loc
    ) -> SkuTags | None:
        if not (any_of or all_of or none_of):
            self.rep.error(loc, "give any, all or none (a list of SKU tags)", code="empty-range")
            return None
        for part, tags in (("any", any_of), ("all", all_of), ("none", none_of)):
            self._check_sku_tags(tags, (*loc, part))
        cond = SkuTags(frozenset(any_of), frozenset(all_of), frozenset(none_of))
        clash = (cond.all_of & cond.none_of) or (
            cond.any_of if cond.any_of and cond.any_of <= cond.none_of else frozenset()
        )
        if clash:
            self.rep.error(
                (*loc, "none"),
                f"{', '.join(sorted(clash))} is both required and excluded, so no order could "
                "match",
                code="empty-range",
            )
            return None
        return cond

    def _check_sku_tags(self, tags: Sequence[str], loc: Loc) -> None:
        if self.catalog is None:
            return
        for j, tag in enumerate(tags):
            if tag not in self.sku_tags:
                self.rep.error(
                    (*loc, j),
                    f"no SKU in the catalog is tagged {tag!r}"
                    f"{did_you_mean(tag, self.sku_tags, 'SKU tag')}",
                    code="unknown-sku-tag",
                )

    # -- policy sections ---------------------------------------------------------------------

    def policy(self, m: PolicyModel, loc: Loc, base: Policy) -> Policy:
        objective, rank = base.objective, base.rank
        if m.objective is not None and m.rank is not None:
            self.rep.error(
                (*loc, "rank"),
                "set either objective (optimise weighted costs) or rank (fill sources greedily "
                "in this order), not both",
                key=True, code="objective-and-rank",
            )
        if m.objective is not None:
            objective, rank = self.objective(m.objective), ()
        elif m.rank is not None:
            objective, rank = None, self.rank(m.rank, (*loc, "rank"))
        return Policy(
            sources=(
                self.sources(m.sources, (*loc, "sources"))
                if m.sources is not None
                else base.sources
            ),
            stock=self.stock(m.stock, (*loc, "stock")) if m.stock is not None else base.stock,
            split=self.split(m.split, (*loc, "split")) if m.split is not None else base.split,
            bundle=(
                self.bundles(m.bundles, (*loc, "bundles"))
                if m.bundles is not None
                else base.bundle
            ),
            objective=objective,
            rank=rank,
            backorder=(
                BackorderPolicy(m.backorder) if m.backorder is not None else base.backorder
            ),
            decline=self.decline(m.decline) if m.decline is not None else base.decline,
        )

    def sources(self, m: LineSourcesModel, loc: Loc) -> SourcePolicy:
        include = self.selector(m.include, (*loc, "include")) if m.include is not None else None
        exclude = (
            self.selector(m.exclude, (*loc, "exclude"))
            if m.exclude is not None
            else SourceSelector()
        )
        lines: tuple[LineRestriction, ...] = ()
        restrictions: list[LineRestrictionModel] = getattr(m, "lines", [])
        if restrictions:
            lines = tuple(
                self.restriction(r, (*loc, "lines", j)) for j, r in enumerate(restrictions)
            )
        return SourcePolicy(
            include=include, exclude=exclude, max_distance_km=m.max_distance_km, lines=lines
        )

    def selector(self, m: SelectorModel, loc: Loc) -> SourceSelector:
        selector = SourceSelector(
            codes=frozenset(m.sources),
            groups=frozenset(m.groups),
            kinds=frozenset(SourceKind(k) for k in m.kinds),
            tags=frozenset(m.tags),
        )
        if selector.is_empty and loc[-1] == "include":
            self.rep.error(
                loc,
                "include selects nothing; list sources, groups, kinds or tags, or remove "
                "include to allow every source",
                code="empty-include",
            )
        if self.network is None:
            return selector
        for key, known, what in (
            ("sources", self.codes, "source"),
            ("groups", self.groups, "source group"),
            ("tags", self.source_tags, "source tag"),
        ):
            for j, name in enumerate(getattr(m, key)):
                if name not in known:
                    self.rep.error(
                        (*loc, key, j),
                        f"the network has no {what} {name!r}{did_you_mean(name, known, what)}",
                        code="unknown-" + what.replace(" ", "-"),
                    )
        for j, kind in enumerate(m.kinds):
            if SourceKind(kind) not in self.kinds:
                self.rep.warning(
                    (*loc, "kinds", j),
                    f"the network has no source of kind {kind!r}",
                    code="unused-kind",
                )
        return selector

    def restriction(self, m: LineRestrictionModel, loc: Loc) -> LineRestriction:
        when = m.when
        if not (when.sku_tag or when.sku):
            self.rep.error(
                (*loc, "when"),
                "a line restriction needs sku_tag or sku to pick its lines; to restrict every "
                "line, use the rule's own include/exclude",
                code="empty-line-condition",
            )
        self._check_sku_tags(when.sku_tag, (*loc, "when", "sku_tag"))
        if self.catalog is not None:
            for j, sku in enumerate(when.sku):
                if sku.casefold() not in self.skus:
                    self.rep.warning(
                        (*loc, "when", "sku", j),
                        f"SKU {sku!r} is not in the catalog",
                        code="unknown-sku",
                    )
        src = m.sources
        if src.include is None and src.exclude is None and src.max_distance_km is None:
            self.rep.error(
                (*loc, "sources"),
                "sets no include, exclude or max_distance_km, so it changes nothing",
                code="empty-line-restriction",
            )
        sources = self.sources(src, (*loc, "sources"))
        return LineRestriction(
            sku_tags=frozenset(when.sku_tag),
            skus=frozenset(s.casefold() for s in when.sku),
            include=sources.include,
            exclude=sources.exclude,
            max_distance_km=sources.max_distance_km,
        )

    def stock(self, m: StockModel, loc: Loc) -> StockPolicy:
        safety = m.safety
        if safety is None:
            return StockPolicy(respect_reservations=m.respect_reservations)
        if self.network is not None:
            for key, known, what in (
                ("sources", self.codes, "source"),
                ("groups", self.groups, "source group"),
            ):
                for name in getattr(safety, key):
                    if name not in known:
                        self.rep.error(
                            (*loc, "safety", key, name),
                            f"the network has no {what} {name!r}"
                            f"{did_you_mean(name, known, what)}",
                            key=True, code="unknown-" + what.replace(" ", "-"),
                        )
        return StockPolicy(
            by_source=tuple(safety.sources.items()),
            by_group=tuple(safety.groups.items()),
            by_kind=tuple((SourceKind(k), v) for k, v in safety.kinds.items()),
            default=safety.default if safety.default is not None else Decimal(0),
            respect_reservations=m.respect_reservations,
        )

    def split(self, m: SplitModel, loc: Loc) -> SplitPolicy:
        mode = SplitMode(m.mode)
        if mode is SplitMode.SHIP_COMPLETE and m.max_shipments is not None and (
            m.max_shipments > 1
        ):
            self.rep.error(
                (*loc, "max_shipments"),
                f"ship_complete means one shipment, but max_shipments is {m.max_shipments}; "
                "use mode: hold_until_complete (or allow) to permit several shipments",
                code="split-contradiction",
            )
        return SplitPolicy(
            mode=mode, max_shipments=m.max_shipments, min_shipment_value=m.min_shipment_value,
            one_source_per_line=m.one_source_per_line,
        )

    def bundles(self, m: BundlesModel, loc: Loc) -> BundlePolicy:
        mode = BundleMode(m.mode)
        if mode is BundleMode.SEPARATE and m.split_after_attempts is not None:
            self.rep.error(
                (*loc, "split_after_attempts"),
                "has no effect with mode: separate (separate bundles are always split); "
                "remove it or use together or simultaneous",
                code="bundle-contradiction",
            )
        return BundlePolicy(mode=mode, split_after_attempts=m.split_after_attempts)

    def objective(self, m: ObjectiveModel) -> Objective:
        return Objective(
            shipping_cost=m.shipping_cost,
            distance=m.distance,
            shipments=m.shipments,
            source_priority=m.source_priority,
            transfer_cost=m.transfer_cost,
            transfer_days=m.transfer_days,
            capacity_use=m.capacity_use,
            stock_value=m.stock_value,
        )

    def rank(self, keys: Sequence[str], loc: Loc) -> tuple[RankKey, ...]:
        seen: list[RankKey] = []
        for j, key in enumerate(keys):
            rk = RankKey(key)
            if rk in seen:
                self.rep.error(
                    (*loc, j), f"{key!r} is listed twice; each key ranks once",
                    code="duplicate-rank-key",
                )
                continue
            seen.append(rk)
        return tuple(seen)

    def decline(self, m: DeclineModel) -> DeclinePolicy:
        return DeclinePolicy(attempts=m.attempts, then=DeclineAction(m.then))


def compile_pieces(
    pieces: Pieces,
    rep: Reporter,
    network: NetworkLike | None = None,
    catalog: Catalog | None = None,
) -> Ruleset:
    """Compile the validated parts of a ruleset, reporting reference and consistency errors."""
    return _Compiler(rep, network, catalog).compile(pieces)
