"""Load a ruleset file: YAML with positions -> schema -> references -> lint.

Every problem is a :class:`~oms_sourcing.errors.Problem` with ``path:line:col``, the field, the
value received, what was expected and, for a likely typo, a "did you mean". Errors are checked
in stages: YAML, then the schema (unknown keys, wrong types, bad choices), then references and
consistency (zones, source codes, groups and tags with a network, SKU tags with a catalog,
duplicate rule names, ``min`` above ``max``) — the last stage also runs on the parts of a file
whose schema is fine, so one run reports as much as it can. Lint warnings come last and only
for a ruleset without errors.

Bad input is refused quickly: files over :data:`MAX_RULESET_BYTES`, more than :data:`MAX_RULES`
rules, and YAML alias bombs are rejected before they are expanded.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from oms_sourcing.domain import Catalog
from oms_sourcing.errors import Problem, RulesetError
from oms_sourcing.formats._validate import validation_problems
from oms_sourcing.formats._yaml import YamlLoadError, parse_yaml
from oms_sourcing.rules._report import Reporter, Stop
from oms_sourcing.rules.compile import NetworkLike, Pieces, compile_pieces
from oms_sourcing.rules.lint import lint_ruleset
from oms_sourcing.rules.model import Ruleset
from oms_sourcing.rules.schema import PolicyModel, RuleModel, RulesetFile, ZoneModel

__all__ = [
    "MAX_RULES",
    "MAX_RULESET_BYTES",
    "MAX_RULESET_NODES",
    "load_ruleset",
    "parse_ruleset",
]

#: Largest ruleset file accepted. A hand-written ruleset is a few kilobytes; the limit keeps
#: loading (pure-Python YAML parsing with positions) well under a second.
MAX_RULESET_BYTES = 64 * 1024
#: Most rules a ruleset may have. A first-match list longer than this cannot be reviewed;
#: per-destination tables belong in zones and shipping lanes.
MAX_RULES = 250
#: Most values a ruleset may expand to, counting every re-use of a YAML alias.
MAX_RULESET_NODES = 50_000


def load_ruleset(
    path: str | Path,
    network: NetworkLike | None = None,
    catalog: Catalog | None = None,
    *,
    collect: bool = True,
) -> Ruleset:
    """Load, check and compile the ruleset file at ``path``.

    Args:
        path: a ruleset YAML file.
        network: when given, source codes, groups, kinds and tags are checked against it, its
            zones can be referred to, and rules whose sources resolve to nothing are reported.
        catalog: when given, SKU tags and SKUs are checked against it.
        collect: report every problem found (``True``) or stop at the first error.

    Returns:
        The compiled :class:`Ruleset`; its ``warnings`` hold the lint findings.

    Raises:
        RulesetError: with every problem (errors and warnings) as ``path:line:col: message``.
    """
    label = str(path)
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as err:
        raise RulesetError(
            [Problem(label, 0, 0, f"cannot read the ruleset: {err.strerror}", code="io")]
        ) from None
    if size > MAX_RULESET_BYTES:
        raise RulesetError([_too_large(label, size)])
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise RulesetError(
            [Problem(label, 0, 0, f"the file is not UTF-8 text (byte {err.start})", code="io")]
        ) from None
    except OSError as err:
        raise RulesetError(
            [Problem(label, 0, 0, f"cannot read the ruleset: {err.strerror}", code="io")]
        ) from None
    return parse_ruleset(text, label, network, catalog, collect=collect)


def parse_ruleset(
    text: str,
    path: str = "<string>",
    network: NetworkLike | None = None,
    catalog: Catalog | None = None,
    *,
    collect: bool = True,
) -> Ruleset:
    """Like :func:`load_ruleset` for YAML ``text``; ``path`` labels the problems."""
    rep = Reporter(path, fail_fast=not collect)
    ruleset: Ruleset | None = None
    try:
        ruleset = _load(text, path, network, catalog, rep)
    except Stop:
        ruleset = None
    if ruleset is None or rep.has_errors:
        problems = rep.sorted()
        if not collect:
            problems = [p for p in problems if p.severity == "error"][:1] or problems
        raise RulesetError(problems, path=path)
    return replace(ruleset, warnings=tuple(rep.sorted()))


def _too_large(path: str, size: int) -> Problem:
    return Problem(
        path, 0, 0,
        f"the file is {size:,} bytes, more than the {MAX_RULESET_BYTES // 1024} KiB a ruleset "
        "may have; is it the right file? (long per-destination tables belong in zones)",
        code="too-large",
    )


def _load(
    text: str,
    path: str,
    network: NetworkLike | None,
    catalog: Catalog | None,
    rep: Reporter,
) -> Ruleset | None:
    size = len(text.encode("utf-8", errors="replace"))
    if size > MAX_RULESET_BYTES:
        rep.add([_too_large(path, size)])
        return None
    bomb = _alias_expansion(text, path)
    if bomb is not None:
        rep.add([bomb])
        return None
    try:
        doc = parse_yaml(text, path)
    except YamlLoadError as err:
        rep.add(err.problems)
        return None
    rep.doc = doc
    data = doc.data
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"{type(data).__name__} {data!r}"
        rep.error(
            (),
            f"a ruleset is a mapping with id, version and rules; the file holds {kind}",
            code="not-a-mapping",
        )
        return None
    rules = data.get("rules")
    if isinstance(rules, list) and len(rules) > MAX_RULES:
        rep.error(
            ("rules", MAX_RULES),
            f"the ruleset has {len(rules)} rules, more than the {MAX_RULES} allowed; a "
            "first-match list that long cannot be reviewed (group destinations into zones)",
            code="too-many-rules",
        )
        return None
    try:
        pieces = Pieces.of(RulesetFile.model_validate(data))
    except ValidationError as err:
        rep.add(validation_problems(RulesetFile, doc, err))
        pieces = _salvage(data)
    ruleset = compile_pieces(pieces, rep, network, catalog)
    if rep.has_errors or not pieces.complete:
        return None
    lint_ruleset(ruleset, pieces, rep, network, catalog)
    return ruleset


def _salvage(data: dict[str, Any]) -> Pieces:
    """The parts of an invalid document that validate on their own, to check their references
    too. A part with schema errors is ``None`` (its errors are already reported)."""

    def valid(model: type[Any], raw: object) -> Any:
        try:
            return model.model_validate(raw)
        except ValidationError:
            return None

    raw_zones = data.get("zones")
    zones = (
        {str(name): valid(ZoneModel, z) for name, z in raw_zones.items()}
        if isinstance(raw_zones, dict)
        else {}
    )
    raw_rules = data.get("rules")
    rules = raw_rules if isinstance(raw_rules, list) else []
    names = [r.get("name") if isinstance(r, dict) else None for r in rules]
    currency = data.get("currency")
    return Pieces(
        id=str(data.get("id", "")),
        version=str(data.get("version", "")),
        description=str(data.get("description", "")),
        currency=currency if isinstance(currency, str) and len(currency) == 3 else None,
        zones=zones,
        defaults=valid(PolicyModel, data["defaults"]) if data.get("defaults") else None,
        rules=[valid(RuleModel, r) for r in rules],
        names=names,
        rules_given=isinstance(raw_rules, list),
    )


def _alias_expansion(text: str, path: str) -> Problem | None:
    """A problem if the document would expand to more than :data:`MAX_RULESET_NODES` values.

    Counts values from the YAML event stream, giving each anchor the size of its subtree, so a
    billion-laughs document is measured by arithmetic, never expanded. Syntax errors are left for
    the real parse to report.
    """
    if "&" not in text or "*" not in text:
        return None
    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = loader_class(text)
    sizes: dict[str, int] = {}
    stack: list[list[Any]] = []  # [anchor, values so far] of each open collection
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.AliasEvent):
                n = sizes.get(event.anchor or "", 1)
            elif isinstance(event, yaml.ScalarEvent):
                n = 1
                if event.anchor:
                    sizes[event.anchor] = 1
            elif isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
                stack.append([event.anchor, 1])
                continue
            elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
                anchor, n = stack.pop()
                if anchor:
                    sizes[anchor] = n
            else:
                continue
            total = n
            if stack:
                stack[-1][1] += n
                total = stack[-1][1]
            if total > MAX_RULESET_NODES:
                mark = event.start_mark
                return Problem(
                    path, mark.line + 1, mark.column + 1,
                    f"the document expands to more than {MAX_RULESET_NODES:,} values through "
                    "nested aliases (a YAML alias bomb?); refusing to load it",
                    code="alias-bomb",
                )
    except yaml.YAMLError:
        return None
    finally:
        loader.dispose()
    return None
