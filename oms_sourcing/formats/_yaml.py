"""YAML with positions: every value and key remembers its ``line:column``.

PyYAML's ``safe_load`` forgets where things came from, so an error found by validation could only
say "rules.2.when.countri". This loader composes the node graph (which has marks), builds plain
Python values from it, and keeps a map from each value's path (``("rules", 2, "when")``) to its
position, so every error can be reported as ``file:line:col``.

It also refuses the inputs that make naive loaders hang or lie: duplicate keys (PyYAML keeps the
last silently), alias bombs (a few hundred bytes expanding to billions of nodes), and files larger
than ``MAX_BYTES``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from oms_sourcing.errors import Problem

__all__ = ["MAX_BYTES", "MAX_NODES", "YamlDocument", "YamlLoadError", "load_yaml", "parse_yaml"]

#: Largest file accepted; a ruleset or network bigger than this is a mistake, not a config.
MAX_BYTES = 8 * 1024 * 1024
#: Most values one document may expand to (counting alias re-uses), against alias bombs.
MAX_NODES = 500_000

#: Most nesting levels (mappings and lists inside each other) a document may have.
MAX_DEPTH = 200
#: Most digits an integer may have; no field of these files comes near it, and Python refuses
#: to convert integers of more than 4,300 digits.
MAX_INT_DIGITS = 100

PathKey = tuple[str | int, ...]
_MERGE_TAG = "tag:yaml.org,2002:merge"
_INT_TAG = "tag:yaml.org,2002:int"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_MAX_INT_BITS = int(MAX_INT_DIGITS * 3.33) + 1


def _short(text: str, limit: int = 40) -> str:
    """``text`` quoted, cut to ``limit`` characters for a message."""
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


class YamlLoadError(Exception):
    """The document is not usable YAML; ``problems`` says where and why."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = tuple(problems)


@dataclass(slots=True)
class YamlDocument:
    """Plain data of one YAML document plus where each value and key stands (1-based)."""

    path: str
    data: Any
    value_pos: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    key_pos: dict[PathKey, tuple[int, int]] = field(default_factory=dict)

    def position(self, loc: Sequence[str | int], *, key: bool = False) -> tuple[int, int]:
        """Best position for ``loc``: the exact node if known, else its nearest known parent."""
        here: PathKey = tuple(loc)
        while True:
            if key and here in self.key_pos:
                return self.key_pos[here]
            if here in self.value_pos:
                return self.value_pos[here]
            if here in self.key_pos:
                return self.key_pos[here]
            if not here:
                return (1, 1)
            here = here[:-1]


class _Builder:
    def __init__(self, path: str, loader: Any) -> None:
        self.path = path
        self.loader = loader
        self.nodes = 0
        self.doc = YamlDocument(path=path, data=None)
        self.problems: list[Problem] = []

    def problem(self, node: Node, message: str) -> None:
        mark = node.start_mark
        self.problems.append(Problem(self.path, mark.line + 1, mark.column + 1, message))

    def build(self, node: Node, where: PathKey, depth: int = 0) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _TooLarge(node)
        if depth > MAX_DEPTH:
            raise _TooDeep(node)
        self.doc.value_pos.setdefault(where, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        if isinstance(node, SequenceNode):
            return [self.build(item, (*where, i), depth + 1) for i, item in enumerate(node.value)]
        if isinstance(node, MappingNode):
            return self._mapping(node, where, depth)
        self.problem(node, f"unsupported YAML node {type(node).__name__}")
        return None

    def scalar(self, node: ScalarNode) -> Any:
        """The value of a scalar; one YAML resolves to what Python cannot hold is a problem."""
        if len(node.value) > MAX_INT_DIGITS and node.tag == _INT_TAG:
            digits = sum(c.isdigit() for c in node.value)
            if digits > MAX_INT_DIGITS:
                self.problem(node, f"a number of {digits:,} digits; no value here has more than "
                                   f"{MAX_INT_DIGITS} (quote it if it is text)")
                return None
        try:
            value = self.loader.construct_object(node, deep=True)
        except (ValueError, OverflowError) as err:
            # e.g. ``2026-02-30``: YAML reads it as a date and Python refuses the day
            kind = "date" if node.tag == _TIMESTAMP_TAG else node.tag.rsplit(":", 1)[-1]
            self.problem(node, f"{_short(node.value)} is not a valid {kind} ({err}); quote it "
                               "if it is text")
            return None
        if isinstance(value, int) and value.bit_length() > _MAX_INT_BITS:
            # 0x... and 0o... literals are not capped by the digit count above
            self.problem(node, f"the number {_short(node.value)} is too large; no value here has "
                               f"more than {MAX_INT_DIGITS} digits")
            return None
        return value

    def _mapping(self, node: MappingNode, where: PathKey, depth: int) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        merged: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                # "<<: *defaults" — merged keys never override explicit ones, as in YAML 1.1.
                sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                for src in sources:
                    value = self.build(src, where, depth + 1)
                    if not isinstance(value, dict):
                        self.problem(src, "a merge key '<<' needs a mapping (or a list of them)")
                        continue
                    for k, v in value.items():
                        merged.setdefault(k, v)
                continue
            if not isinstance(key_node, ScalarNode):
                self.problem(key_node, "mapping keys must be plain scalars (strings or numbers)")
                continue
            key = self.scalar(key_node)
            if key is None and key_node.tag != "tag:yaml.org,2002:null":
                continue  # reported by scalar()
            if key in out:
                self.problem(
                    key_node,
                    f"duplicate key {key!r} (the first is at line "
                    f"{self.doc.key_pos[(*where, key)][0]}); YAML would keep only the last one",
                )
                continue
            self.doc.key_pos[(*where, key)] = (
                key_node.start_mark.line + 1,
                key_node.start_mark.column + 1,
            )
            out[key] = self.build(value_node, (*where, key), depth + 1)
        for k, v in merged.items():
            out.setdefault(k, v)
        return out


def _oversized(root: Node) -> tuple[Node, str] | None:
    """The first collection that expands past ``MAX_NODES`` values (counting every re-use of an
    alias), or one that contains itself, with the reason; by arithmetic on the node graph, which
    shares aliased nodes, so an alias bomb is measured without being expanded."""
    sizes: dict[int, int] = {}
    open_: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if isinstance(node, ScalarNode):
            sizes[key] = 1
            continue
        children: list[Node] = (
            list(node.value) if isinstance(node, SequenceNode)
            else [part for pair in node.value for part in pair]
        )
        if done:
            open_.discard(key)
            total = 1 + sum(sizes[id(c)] for c in children)
            if total > MAX_NODES:
                return node, (f"document expands to more than {MAX_NODES:,} values (nested "
                              "aliases?); refusing to load it")
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in open_:
            return node, "an alias refers to a collection it is part of; refusing to load it"
        open_.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    return None


class _TooLarge(Exception):
    def __init__(self, node: Node) -> None:
        self.node = node


class _TooDeep(Exception):
    def __init__(self, node: Node) -> None:
        self.node = node


def _reader_problem(err: yaml.reader.ReaderError, text: str, path: str) -> Problem:
    """A character YAML does not allow (a control character): where it is and what it is."""
    pos = err.position if 0 <= err.position <= len(text) else 0
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    char = err.character if isinstance(err.character, str) else chr(err.character)
    code = ord(char)
    escape = f"\\x{code:02X}" if code <= 0xFF else f"\\u{code:04X}"
    return Problem(path, line, col, f"YAML does not allow the control character U+{code:04X}; "
                                    f'remove it, or write it as "{escape}" inside double quotes')


def _too_deep(text: str, path: str) -> Problem | None:
    """A problem if collections nest deeper than ``MAX_DEPTH``, from the event stream alone (the
    parser is a state machine; composing nodes would recurse once per level)."""
    events = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    depth = 0
    try:
        while events.check_event():
            event = events.get_event()
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
                    return Problem(path, line, col,
                                   f"nesting deeper than {MAX_DEPTH} levels; refusing to load it")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return None  # a syntax error: reported by the caller
    finally:
        events.dispose()
    return None


def _syntax_problem(text: str, path: str) -> Problem:
    try:
        pure = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as err:  # the pure reader checks every character at once
        return _reader_problem(err, text, path)
    try:
        pure.get_single_node()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        what = err.problem or "invalid YAML"
        context = f" ({err.context})" if err.context else ""
        return Problem(path, line, col, f"YAML syntax error: {what}{context}")
    except yaml.reader.ReaderError as err:
        return _reader_problem(err, text, path)
    except yaml.YAMLError as err:
        return Problem(path, 0, 0, f"YAML error: {err}")
    except RecursionError:
        # the pure composer recurses once per level (libyaml stops at 1,000 levels)
        return _too_deep(text, path) or Problem(
            path, 0, 0, f"nesting deeper than {MAX_DEPTH} levels; refusing to load it"
        )
    finally:
        pure.dispose()
    return Problem(path, 0, 0, "YAML error: the document could not be parsed")


def parse_yaml(text: str, path: str = "<string>") -> YamlDocument:
    """Parse one YAML document from ``text``; ``path`` is used in positions and errors.

    Raises:
        YamlLoadError: for syntax errors, an empty document, duplicate keys, alias bombs,
            over-deep nesting or a text over ``MAX_BYTES``.
    """
    if len(text.encode("utf-8", errors="replace")) > MAX_BYTES:
        raise YamlLoadError(
            [Problem(path, 0, 0, f"file is larger than {MAX_BYTES // (1024 * 1024)} MiB; "
                     "split it or check that the right file was given")]
        )
    # libyaml's composer when PyYAML has it: about 5x faster, same marks.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        try:
            root = loader.get_single_node()
        except (yaml.YAMLError, RecursionError) as err:
            # libyaml and pure-Python PyYAML word syntax errors differently; report the pure
            # parser's words so messages do not depend on how PyYAML was built. Not for deep
            # nesting (libyaml stops at 1,000 levels; the pure-Python composer recurses once per
            # level and its scanner is quadratic in the depth): that is found from the events.
            if isinstance(err, yaml.MarkedYAMLError) and "depth" in str(err.problem):
                mark = err.problem_mark
                line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
                deep: Problem | None = Problem(
                    path, line, col, f"nesting deeper than {MAX_DEPTH} levels (more than 1,000 "
                    "here); refusing to load it",
                )
            else:
                deep = _too_deep(text, path) if isinstance(err, RecursionError) else None
            raise YamlLoadError([deep or _syntax_problem(text, path)]) from None
        if root is None:
            raise YamlLoadError([Problem(path, 0, 0, "file is empty; expected a YAML mapping")])
        big = _oversized(root) if "*" in text else None  # no alias, nothing re-used
        if big is not None:
            mark = big[0].start_mark
            raise YamlLoadError([Problem(path, mark.line + 1, mark.column + 1, big[1])])
        builder = _Builder(path, loader)
        try:
            data = builder.build(root, ())
        except _TooLarge as err:
            mark = err.node.start_mark
            raise YamlLoadError(
                [Problem(path, mark.line + 1, mark.column + 1,
                         f"document expands to more than {MAX_NODES:,} values "
                         "(nested aliases?); refusing to load it")]
            ) from None
        except _TooDeep as err:
            mark = err.node.start_mark
            raise YamlLoadError(
                [Problem(path, mark.line + 1, mark.column + 1,
                         f"nesting deeper than {MAX_DEPTH} levels; refusing to load it")]
            ) from None
        except yaml.constructor.ConstructorError as err:
            mark = err.problem_mark
            line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
            raise YamlLoadError(
                [Problem(path, line, col, f"YAML value error: {err.problem}")]
            ) from None
        if builder.problems:
            raise YamlLoadError(builder.problems)
        builder.doc.data = data
        return builder.doc
    finally:
        loader.dispose()


def load_yaml(path: str | Path) -> YamlDocument:
    """Read and parse one YAML file (see :func:`parse_yaml`)."""
    p = Path(path)
    label = str(path)
    try:
        size = p.stat().st_size
    except OSError as err:
        raise YamlLoadError([Problem(label, 0, 0, f"cannot read file: {err.strerror}")]) from None
    if size > MAX_BYTES:
        raise YamlLoadError(
            [Problem(label, 0, 0, f"file is {size:,} bytes, larger than the "
                     f"{MAX_BYTES // (1024 * 1024)} MiB limit")]
        )
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise YamlLoadError(
            [Problem(label, 0, 0, f"file is not UTF-8 text (byte {err.start})")]
        ) from None
    except OSError as err:
        raise YamlLoadError([Problem(label, 0, 0, f"cannot read file: {err.strerror}")]) from None
    return parse_yaml(text, label)
