"""Write a compiled ruleset back as a ruleset document (the inverse of loading).

``parse_ruleset(dump_ruleset(r)) == r`` for every ruleset ``r`` loaded without a network; a ruleset
whose conditions name the network's zones loads back with that network. Values come out
normalised (upper-case countries, sorted lists) and every rule spells out the sections that
differ from the ruleset's ``defaults``.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import yaml

from oms_sourcing.domain import SourceSelector, Zone
from oms_sourcing.rules.model import (
    DEFAULT_POLICY,
    BundlePolicy,
    DeclinePolicy,
    LineRestriction,
    Objective,
    Policy,
    Ruleset,
    SourcePolicy,
    SplitPolicy,
    StockPolicy,
)

__all__ = ["SCHEMA_COMMENT", "dump_ruleset", "ruleset_to_dict"]

#: First line of a written ruleset: lets YAML editors complete and check it.
SCHEMA_COMMENT = "# yaml-language-server: $schema=../schemas/ruleset.schema.json"


def _num(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _selector(selector: SourceSelector) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, values in (
        ("sources", selector.codes),
        ("groups", selector.groups),
        ("kinds", {k.value for k in selector.kinds}),
        ("tags", selector.tags),
    ):
        if values:
            out[key] = sorted(values)
    return out


def _filter(
    include: SourceSelector | None, exclude: SourceSelector, max_km: float | None
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if include is not None:
        out["include"] = _selector(include)
    if not exclude.is_empty:
        out["exclude"] = _selector(exclude)
    if max_km is not None:
        out["max_distance_km"] = int(max_km) if max_km.is_integer() else max_km
    return out


def _line(line: LineRestriction) -> dict[str, Any]:
    when: dict[str, Any] = {}
    if line.sku_tags:
        when["sku_tag"] = sorted(line.sku_tags)
    if line.skus:
        when["sku"] = sorted(line.skus)
    return {
        "when": when,
        "sources": _filter(line.include, line.exclude, line.max_distance_km),
    }


def _sources(policy: SourcePolicy) -> dict[str, Any]:
    out = _filter(policy.include, policy.exclude, policy.max_distance_km)
    if policy.lines:
        out["lines"] = [_line(line) for line in policy.lines]
    return out


def _stock(policy: StockPolicy) -> dict[str, Any]:
    out: dict[str, Any] = {"respect_reservations": policy.respect_reservations}
    if policy.has_safety_stock:
        safety: dict[str, Any] = {}
        if policy.default:
            safety["default"] = _num(policy.default)
        for key, pairs in (
            ("kinds", [(k.value, v) for k, v in policy.by_kind]),
            ("groups", list(policy.by_group)),
            ("sources", list(policy.by_source)),
        ):
            if pairs:
                safety[key] = {name: _num(v) for name, v in pairs}
        out["safety"] = safety
    return out


def _split(policy: SplitPolicy) -> dict[str, Any]:
    out: dict[str, Any] = {"mode": policy.mode.value}
    if policy.max_shipments is not None:
        out["max_shipments"] = policy.max_shipments
    if policy.min_shipment_value is not None:
        out["min_shipment_value"] = _num(policy.min_shipment_value)
    if policy.one_source_per_line:
        out["one_source_per_line"] = True
    return out


def _bundles(policy: BundlePolicy) -> dict[str, Any]:
    out: dict[str, Any] = {"mode": policy.mode.value}
    if policy.split_after_attempts is not None:
        out["split_after_attempts"] = policy.split_after_attempts
    return out


def _objective(objective: Objective) -> dict[str, Any]:
    return {name: _num(w) for name, w in objective.weights().items() if w}


def _decline(policy: DeclinePolicy) -> dict[str, Any]:
    return {"attempts": policy.attempts, "then": policy.then.value}


def _policy(policy: Policy, base: Policy) -> dict[str, Any]:
    """The sections of ``policy`` that differ from ``base`` (all of them when base is None)."""
    out: dict[str, Any] = {}
    if policy.sources != base.sources:
        out["sources"] = _sources(policy.sources)
    if policy.stock != base.stock:
        out["stock"] = _stock(policy.stock)
    if policy.split != base.split:
        out["split"] = _split(policy.split)
    if policy.bundle != base.bundle:
        out["bundles"] = _bundles(policy.bundle)
    if (policy.objective, policy.rank) != (base.objective, base.rank):
        if policy.objective is not None:
            out["objective"] = _objective(policy.objective)
        else:
            out["rank"] = [k.value for k in policy.rank]
    if policy.backorder != base.backorder:
        out["backorder"] = policy.backorder.value
    if policy.decline != base.decline:
        out["decline"] = _decline(policy.decline)
    return out


def _zone(zone: Zone) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if zone.countries:
        out["countries"] = sorted(zone.countries)
    if zone.regions:
        out["regions"] = sorted(zone.regions)
    if zone.postcode_prefixes:
        out["postcodes"] = list(zone.postcode_prefixes)
    return out


def ruleset_to_dict(ruleset: Ruleset) -> dict[str, Any]:
    """The ruleset as plain data in the file format (strings for every exact amount)."""
    out: dict[str, Any] = {"id": ruleset.id, "version": ruleset.version}
    if ruleset.description:
        out["description"] = ruleset.description
    if ruleset.currency is not None:
        out["currency"] = ruleset.currency
    if ruleset.zones:
        out["zones"] = {z.name: _zone(z) for z in ruleset.zones}
    defaults = _policy(ruleset.defaults, DEFAULT_POLICY)
    if defaults:
        out["defaults"] = defaults
    rules = []
    for rule in ruleset.rules:
        item: dict[str, Any] = {"name": rule.name}
        if rule.description:
            item["description"] = rule.description
        if rule.conditions:
            item["when"] = {c.key: c.to_data() for c in rule.conditions}
        item.update(_policy(rule.policy, ruleset.defaults))
        rules.append(item)
    out["rules"] = rules
    return out


def _is_short(data: object) -> bool:
    """Whether ``data`` reads best on one line: scalars, lists and small mappings of them."""
    def simple(value: object) -> bool:
        if isinstance(value, list):
            return all(isinstance(v, str | int | float | bool) for v in value)
        if isinstance(value, dict):
            return all(simple(v) for v in value.values())
        return isinstance(value, str | int | float | bool)

    return simple(data) and len(json.dumps(data, default=str)) <= 72


class _Dumper(yaml.SafeDumper):
    """Block style for structure, flow style (``[DE, AT]``, ``{min: '50'}``) for short leaves."""


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    return dumper.represent_sequence(
        "tag:yaml.org,2002:seq", data, flow_style=_is_short(data)
    )


def _represent_dict(dumper: yaml.SafeDumper, data: dict[Any, Any]) -> yaml.Node:
    return dumper.represent_mapping(
        "tag:yaml.org,2002:map", data.items(), flow_style=_is_short(data)
    )


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    # YAML reads NEL and the Unicode line/paragraph separators as line breaks; only the
    # double-quoted style escapes them, so use it for such strings to read them back intact.
    style = '"' if any(ch in data for ch in "\x85\u2028\u2029") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(dict, _represent_dict)


def dump_ruleset(ruleset: Ruleset) -> str:
    """The ruleset as YAML text, starting with :data:`SCHEMA_COMMENT`."""
    body = yaml.dump(
        ruleset_to_dict(ruleset), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100
    )
    return f"{SCHEMA_COMMENT}\n{body}"
