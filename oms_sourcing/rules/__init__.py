"""Sourcing rules as code: rulesets in YAML, checked when loaded, compiled to frozen objects.

::

    from oms_sourcing.rules import load_ruleset, select

    ruleset = load_ruleset("rulesets/cost.yaml", network=network, catalog=catalog)
    for warning in ruleset.warnings:
        print(warning)                     # rulesets/cost.yaml:41:5: warning: ...
    chosen = select(order, ruleset, catalog)
    chosen.policy                          # what the allocator needs
    print(chosen.explain())                # which rule applies, and why each earlier one did not

A ruleset that cannot be used raises :class:`~oms_sourcing.errors.RulesetError` whose
``problems`` each read ``path:line:col: message``.
"""

from __future__ import annotations

from oms_sourcing.rules.compile import NetworkLike
from oms_sourcing.rules.conditions import (
    Condition,
    FieldIn,
    InZone,
    LineCount,
    OrderFacts,
    OrderValue,
    PostcodePrefix,
    SkuTags,
)
from oms_sourcing.rules.dump import dump_ruleset, ruleset_to_dict
from oms_sourcing.rules.lint import shadowing_rule
from oms_sourcing.rules.loader import (
    MAX_RULES,
    MAX_RULESET_BYTES,
    MAX_RULESET_NODES,
    load_ruleset,
    parse_ruleset,
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
from oms_sourcing.rules.select import RuleTrace, Selection, select

__all__ = [
    "DEFAULT_POLICY",
    "MAX_RULES",
    "MAX_RULESET_BYTES",
    "MAX_RULESET_NODES",
    "BackorderPolicy",
    "BundleMode",
    "BundlePolicy",
    "Condition",
    "DeclineAction",
    "DeclinePolicy",
    "FieldIn",
    "InZone",
    "LineCount",
    "LineRestriction",
    "NetworkLike",
    "Objective",
    "OrderFacts",
    "OrderValue",
    "Policy",
    "PostcodePrefix",
    "RankKey",
    "Rule",
    "RuleTrace",
    "Ruleset",
    "Selection",
    "SkuTags",
    "SourcePolicy",
    "SplitMode",
    "SplitPolicy",
    "StockPolicy",
    "dump_ruleset",
    "load_ruleset",
    "parse_ruleset",
    "ruleset_to_dict",
    "select",
    "shadowing_rule",
]
