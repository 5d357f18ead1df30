"""Rule selection: the first rule whose conditions all hold decides an order's policy.

Selection is pure and deterministic (rules in file order, conditions in a fixed cheapest-first
order) and fast: it normalises the order once, checks precomputed sets, and builds the trace's
sentences only when somebody reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from oms_sourcing.domain import Catalog, Order
from oms_sourcing.rules.conditions import Condition, OrderFacts
from oms_sourcing.rules.model import Policy, Rule, Ruleset

__all__ = ["RuleTrace", "Selection", "select"]


@dataclass(frozen=True, slots=True)
class RuleTrace:
    """One rule tried for an order: whether it matched, and why (not).

    ``reason`` is the failed condition's explanation (``country is FR, rule wants AT, DE``) for a
    rule that did not match, and what the rule asks for when it matched.
    """

    rule: str
    matched: bool
    reason: str
    condition: str | None = None

    def __str__(self) -> str:
        mark = "matched" if self.matched else "skipped"
        return f"{self.rule}: {mark}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Selection:
    """The policy chosen for one order and how it was chosen.

    ``rule`` is the matching rule, ``None`` when no rule matched and the ruleset's defaults
    apply. ``failed`` holds, for every rule tried before it (in order), the condition that
    failed; :attr:`trace` turns them into sentences on demand.
    """

    policy: Policy
    rule: Rule | None
    failed: tuple[Condition, ...]
    ruleset: Ruleset = field(repr=False, compare=False)
    facts: OrderFacts = field(repr=False, compare=False)

    @property
    def rule_name(self) -> str | None:
        return self.rule.name if self.rule is not None else None

    @property
    def trace(self) -> tuple[RuleTrace, ...]:
        """Every rule tried, in order, with the condition that failed or what matched."""
        out = [
            RuleTrace(rule.name, False, condition.explain(self.facts), condition.key)
            for rule, condition in zip(self.ruleset.rules, self.failed, strict=False)
        ]
        if self.rule is not None:
            out.append(RuleTrace(self.rule.name, True, self.rule.describe()))
        return tuple(out)

    def explain(self) -> str:
        """A few lines for a person: which rule applies and why each earlier one did not."""
        order = self.facts.order.id
        head = (
            f"order {order}: rule {self.rule.name!r} applies"
            if self.rule is not None
            else f"order {order}: no rule matched; the defaults of ruleset "
            f"{self.ruleset.id!r} apply"
        )
        return "\n".join([head, *(f"  {t}" for t in self.trace)])


def select(order: Order, ruleset: Ruleset, catalog: Catalog | None = None) -> Selection:
    """Choose the policy for ``order``: the first rule of ``ruleset`` whose conditions all hold.

    Args:
        order: the order to source.
        ruleset: a compiled ruleset (from :func:`~oms_sourcing.rules.load_ruleset`).
        catalog: where SKU tags come from. Without it every SKU reads as untagged, so
            ``sku_tags`` conditions with ``any``/``all`` fail and ``none`` holds (the trace
            says so).

    Returns:
        The :class:`Selection`; its ``policy`` is never ``None`` (the ruleset's defaults apply
        when no rule matches).
    """
    facts = OrderFacts(order, catalog)
    failed: list[Condition] = []
    for rule in ruleset.rules:
        for condition in rule.conditions:
            if not condition.matches(facts):
                failed.append(condition)
                break
        else:
            return Selection(rule.policy, rule, tuple(failed), ruleset, facts)
    return Selection(ruleset.defaults, None, tuple(failed), ruleset, facts)
