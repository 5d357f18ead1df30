"""Warnings about rulesets that load but probably do not do what their author meant.

- ``unreachable-rule``: an earlier rule matches every order this rule matches, so it never
  applies. Found soundly for the simple cases: the earlier rule has no conditions, or each of its
  conditions is implied by this rule's condition on the same key (``country: [DE, AT]`` before
  ``country: [DE]``, a wider value range, a shorter postcode prefix, a superset of zones).
- ``no-fallback``: no rule matches every order; unmatched orders get the ``defaults``.
- ``no-sources``: a rule's (or a line restriction's) sources resolve to nothing: everything it
  includes it also excludes, or, with a network, no enabled source passes.
- ``zero-objective``: every objective weight is 0, so all plans score the same.
- ``no-catalog``: the ruleset reads SKU tags but was loaded without a catalog, so tag names were
  not checked (and :func:`~oms_sourcing.rules.select` needs a catalog to see them).

Duplicate rule names are errors, reported by the compiler.
"""

from __future__ import annotations

from collections.abc import Sequence

from oms_sourcing.domain import Catalog, Source, SourceSelector
from oms_sourcing.rules._report import Loc, Reporter
from oms_sourcing.rules.compile import NetworkLike, Pieces
from oms_sourcing.rules.conditions import Condition
from oms_sourcing.rules.model import LineRestriction, Policy, Rule, Ruleset, SourcePolicy
from oms_sourcing.rules.schema import PolicyModel

__all__ = ["lint_ruleset", "shadowing_rule"]


def shadowing_rule(rules: Sequence[Rule], index: int) -> Rule | None:
    """The first rule before ``rules[index]`` that matches every order ``rules[index]`` matches.

    A rule shadows a later one when each of its conditions is implied by the later rule's
    condition on the same key (a rule without conditions shadows everything after it).
    """
    later = rules[index]
    by_key: dict[str, Condition] = {c.key: c for c in later.conditions}
    for earlier in rules[:index]:
        if all(
            (mine := by_key.get(c.key)) is not None and mine.implies(c)
            for c in earlier.conditions
        ):
            return earlier
    return None


def _covers(exclude: SourceSelector, include: SourceSelector) -> bool:
    """Whether every item ``include`` lists is also excluded (so nothing can remain)."""
    return (
        not include.is_empty
        and include.codes <= exclude.codes
        and include.groups <= exclude.groups
        and include.kinds <= exclude.kinds
        and include.tags <= exclude.tags
    )


class _Linter:
    def __init__(
        self,
        rep: Reporter,
        network: NetworkLike | None,
        catalog: Catalog | None,
    ) -> None:
        self.rep = rep
        self.network = network
        self.catalog = catalog
        self.enabled: tuple[Source, ...] = (
            tuple(s for s in network.sources if s.enabled) if network is not None else ()
        )

    def run(self, ruleset: Ruleset, pieces: Pieces) -> None:
        rules = ruleset.rules
        for i, rule in enumerate(rules):
            earlier = shadowing_rule(rules, i)
            if earlier is None:
                continue
            why = (
                "has no conditions, so it matches every order"
                if earlier.always_matches
                else "matches every order this rule matches"
            )
            self.rep.warning(
                ("rules", i),
                f"rule {rule.name!r} can never match: rule {earlier.name!r} (line {earlier.line}) "
                f"comes first and {why}",
                code="unreachable-rule",
            )
        if ruleset.fallback is None:
            self.rep.warning(
                ("rules",),
                "no fallback rule: orders that match no rule get the `defaults` policy; end the "
                "list with a rule without `when` to make that choice visible",
                key=True, code="no-fallback",
            )
        sections: list[tuple[Loc, PolicyModel, str, Policy]] = []
        if pieces.defaults is not None:
            sections.append((("defaults",), pieces.defaults, "defaults", ruleset.defaults))
        models = [(i, m) for i, m in enumerate(pieces.rules) if m is not None]
        for (i, m), rule in zip(models, ruleset.rules, strict=True):
            sections.append((("rules", i), m, f"rule {m.name!r}", rule.policy))
        for loc, model, label, policy in sections:
            if model.sources is not None:
                self.sources(policy.sources, (*loc, "sources"), label)
            if model.objective is not None and policy.objective is not None and (
                policy.objective.is_zero
            ):
                self.rep.warning(
                    (*loc, "objective"),
                    "every weight is 0, so all plans score the same and ties decide (priority, "
                    "then code); give shipping_cost or another weight a value, or use rank",
                    key=True, code="zero-objective",
                )
        if self.catalog is None and ruleset.uses_sku_tags:
            self.rep.warning(
                self._first_tag_use(pieces),
                "SKU tags come from the catalog, and none was given: tag names were not "
                "checked, and orders are matched on tags only when select() gets a catalog",
                code="no-catalog",
            )

    def sources(self, policy: SourcePolicy, loc: Loc, label: str) -> None:
        include = policy.include
        if include is not None and _covers(policy.exclude, include):
            self.rep.warning(
                loc,
                f"{label} excludes everything it includes, so no source can ship its orders",
                code="no-sources",
            )
            return
        allowed: tuple[Source, ...] | None = None
        if self.network is not None:
            allowed = tuple(s for s in self.enabled if policy.allows(s))
            if not allowed:
                self.rep.warning(
                    loc,
                    f"no enabled source of the network passes the include/exclude of {label}, "
                    "so its orders cannot be sourced",
                    code="no-sources",
                )
                return
        for j, line in enumerate(policy.lines):
            self.restriction(line, allowed, (*loc, "lines", j), label)

    def restriction(
        self,
        line: LineRestriction,
        allowed: tuple[Source, ...] | None,
        loc: Loc,
        label: str,
    ) -> None:
        if line.include is not None and _covers(line.exclude, line.include):
            self.rep.warning(
                loc,
                f"{line.describe()} exclude everything they include, so no source can ship "
                "them",
                code="no-sources",
            )
            return
        if allowed is not None and not any(line.allows(s) for s in allowed):
            self.rep.warning(
                loc,
                f"no source allowed by {label} also passes this restriction, so "
                f"{line.describe()} cannot be sourced",
                code="no-sources",
            )

    def _first_tag_use(self, pieces: Pieces) -> Loc:
        candidates: list[tuple[Loc, PolicyModel]] = []
        if pieces.defaults is not None:
            candidates.append((("defaults",), pieces.defaults))
        candidates += [(("rules", i), m) for i, m in enumerate(pieces.rules) if m is not None]
        for loc, m in candidates:
            when = getattr(m, "when", None)
            if when is not None and when.sku_tags is not None:
                return (*loc, "when", "sku_tags")
            if m.sources is not None:
                for j, line in enumerate(m.sources.lines):
                    if line.when.sku_tag:
                        return (*loc, "sources", "lines", j, "when", "sku_tag")
        return ()


def lint_ruleset(
    ruleset: Ruleset,
    pieces: Pieces,
    rep: Reporter,
    network: NetworkLike | None = None,
    catalog: Catalog | None = None,
) -> None:
    """Add the lint warnings of ``ruleset`` (compiled from ``pieces``) to ``rep``."""
    _Linter(rep, network, catalog).run(ruleset, pieces)
