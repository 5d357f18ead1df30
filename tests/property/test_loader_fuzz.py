"""Fuzzing the five loaders from the bundled examples: whatever a mutation does to a file, the
loader accepts it or raises an ``OmsSourcingError`` whose problems name that file, and it
answers within a time bound.

The mutations are what a bad export, a cut transfer or a hostile user produce: flipped bytes,
truncation, deleted and duplicated lines and keys, deep nesting, huge numbers, control
characters, impossible dates and YAML alias bombs. The bases are the files of ``examples/`` and
``rulesets/`` (the long ones cut to their first records, so each example runs in milliseconds).
``OMS_FUZZ_EXAMPLES`` sets the examples per loader (CI's default takes a few seconds in all).
"""

from __future__ import annotations

import json
import os
import re
import signal
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from oms_sourcing.errors import FileError, OmsSourcingError
from oms_sourcing.formats.catalog import load_catalog
from oms_sourcing.formats.network import load_network
from oms_sourcing.formats.orders import load_orders
from oms_sourcing.inventory.feeds import check_feed, read_feed
from oms_sourcing.inventory.stock import StockLedger
from oms_sourcing.rules.loader import load_ruleset

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
EXAMPLES_PER_LOADER = int(os.environ.get("OMS_FUZZ_EXAMPLES", "30"))
#: Far above what any mutated example takes (milliseconds), far below "never ends".
TIME_BOUND_S = 20


def _lines(path: Path, n: int) -> str:
    return "".join(path.read_text(encoding="utf-8").splitlines(keepends=True)[:n])


def _small_catalog() -> str:
    data = yaml.safe_load((EXAMPLES / "catalog.yaml").read_text(encoding="utf-8"))
    skus = data["skus"][:30]
    known = {s["sku"] for s in skus}
    bundles = [b for b in data.get("bundles", []) if all(c["sku"] in known
                                                          for c in b["components"])]
    bundles += [{"sku": "KIT-FUZZ", "components": [{"sku": skus[0]["sku"], "qty": 2},
                                                    {"sku": skus[1]["sku"]}]}]
    return yaml.safe_dump({"skus": skus, "bundles": bundles}, sort_keys=False)


def _orders_array() -> str:
    records = [json.loads(line) for line in _lines(EXAMPLES / "orders.jsonl", 4).splitlines()]
    return json.dumps(records, indent=2) + "\n"


def _feed_jsonl() -> str:
    rows = _lines(EXAMPLES / "stock.csv", 25).splitlines()
    header = rows[0].split(",")
    return "".join(json.dumps(dict(zip(header, r.split(","), strict=True))) + "\n"
                   for r in rows[1:])


# kind -> (file name, text) of each base
BASES: dict[str, list[tuple[str, str]]] = {
    "network": [("network.yaml", (EXAMPLES / "network.yaml").read_text(encoding="utf-8"))],
    "catalog": [("catalog.yaml", _small_catalog())],
    "ruleset": [(p.name, p.read_text(encoding="utf-8"))
                for p in sorted((ROOT / "rulesets").glob("*.yaml"))],
    "orders": [("orders.jsonl", _lines(EXAMPLES / "orders.jsonl", 12)),
               ("orders.json", _orders_array())],
    "feed": [("stock.csv", _lines(EXAMPLES / "stock.csv", 40)), ("stock.jsonl", _feed_jsonl())],
}

# --------------------------------------------------------------------------------------------
# Mutations: each draws its parameters and returns bytes -> bytes
# --------------------------------------------------------------------------------------------

Mutation = Callable[[bytes], bytes]
where = st.integers(0, 10**9)  # a position, taken modulo the size of what it indexes


def _split(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True) or [b""]


_VALUE = re.compile(rb"(?<=: )[^\n,}\]]+")


def _put(d: bytes, i: int, block: bytes, *, at_value: bool) -> bytes:
    """``block`` in place of the ``i``-th value of a ``key: value`` (most mutations only reach
    the parsers' deep paths there), or inserted at offset ``i``."""
    spots = list(_VALUE.finditer(d)) if at_value else []
    if not spots:
        pos = i % (len(d) + 1)
        return d[:pos] + block + d[pos:]
    m = spots[i % len(spots)]
    return d[: m.start()] + block + d[m.end():]


@st.composite
def flip(draw: st.DrawFn) -> Mutation:
    pos, byte = draw(where), draw(st.integers(0, 255))
    return lambda d: d[: pos % len(d)] + bytes([byte]) + d[pos % len(d) + 1:] if d else d


@st.composite
def truncate(draw: st.DrawFn) -> Mutation:
    pos = draw(where)
    return lambda d: d[: pos % (len(d) + 1)]


@st.composite
def delete_line(draw: st.DrawFn) -> Mutation:
    i = draw(where)

    def apply(d: bytes) -> bytes:
        lines = _split(d)
        del lines[i % len(lines)]
        return b"".join(lines)
    return apply


@st.composite
def duplicate_line(draw: st.DrawFn) -> Mutation:
    i, times = draw(where), draw(st.sampled_from([1, 2, 1000]))

    def apply(d: bytes) -> bytes:
        lines = _split(d)
        k = i % len(lines)
        return b"".join([*lines[:k], *[lines[k]] * (times + 1), *lines[k + 1:]])
    return apply


_JSON_MEMBER = re.compile(rb'"\w+": (?:"[^"\n]*"|[-\w.]+|null)')
_YAML_KEY = re.compile(rb"(?m)^( *)(- )?(\w+): .*$")


@st.composite
def duplicate_key(draw: st.DrawFn) -> Mutation:
    i = draw(where)

    def apply(d: bytes) -> bytes:
        members = list(_JSON_MEMBER.finditer(d))
        if members:  # JSON: `"k": v` again right after itself, in the same object
            m = members[i % len(members)]
            return d[: m.end()] + b", " + m.group() + d[m.end():]
        keys = list(_YAML_KEY.finditer(d))
        if not keys:
            return d
        m = keys[i % len(keys)]  # YAML: the key line again, at the key's own indentation
        indent = m.group(1) + (b"  " if m.group(2) else b"")
        again = indent + m.group(3) + m.group()[m.start(3) - m.start():][len(m.group(3)):]
        return d[: m.end()] + b"\n" + again + d[m.end():]
    return apply


@st.composite
def nest(draw: st.DrawFn) -> Mutation:
    pos = draw(where)
    depth = draw(st.sampled_from([3, 150, 201, 999, 1001, 20_000]))
    opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"a": ', b"}"), (b"{a: ", b"}")]))
    inner = draw(st.sampled_from([b"", b"1"]))
    block = opener * depth + inner + closer * depth
    at_value = draw(st.booleans())
    return lambda d: _put(d, pos, block, at_value=at_value)


@st.composite
def huge_number(draw: st.DrawFn) -> Mutation:
    i = draw(where)
    digits = draw(st.sampled_from([13, 19, 101, 4_301, 50_000]))
    number = draw(st.sampled_from([b"9" * digits, b"0x" + b"f" * digits, b"-" + b"9" * digits,
                                   b"9" * digits + b".5", b"1e" + b"9" * min(digits, 30)]))

    at_value = draw(st.booleans())

    def apply(d: bytes) -> bytes:
        runs = list(re.finditer(rb"\d+", d))
        if at_value or not runs:
            return _put(d, i, number, at_value=True)
        m = runs[i % len(runs)]
        return d[: m.start()] + number + d[m.end():]
    return apply


@st.composite
def long_text(draw: st.DrawFn) -> Mutation:
    pos = draw(where)
    text = draw(st.sampled_from([b"x", b'"x', b"'x", b"# x"])) + b"x" * draw(
        st.sampled_from([1_000, 140_000])
    )
    return lambda d: _put(d, pos, text, at_value=False)


@st.composite
def control(draw: st.DrawFn) -> Mutation:
    pos = draw(where)
    char = draw(st.sampled_from(
        [0x00, 0x01, 0x08, 0x0B, 0x0C, 0x1B, 0x7F, 0x85, 0xA0, 0x2028, 0xFEFF, 0xFFFE, 0x1F600]
    ))
    raw = chr(char).encode("utf-8")
    return lambda d: _put(d, pos, raw, at_value=False)


@st.composite
def odd_value(draw: st.DrawFn) -> Mutation:
    i = draw(where)
    value = draw(st.sampled_from([
        b"2026-02-30", b"2026-13-01T25:61:00Z", b"NaN", b".nan", b"-.inf", b"Infinity", b"-1",
        b"0", b"null", b"~", b"[]", b"{}", b"true", b'"', b"'", b"*undefined", b"&a", b"? x",
        b"!!python/object/apply:os.system [echo]", b"!!binary AAAA", b"!!float x", b"<<: 1",
        b"1_000", b"0o777", b"1:20:30", b"\\ud800", b'"\\ud800"',
    ]))

    return lambda d: _put(d, i, value, at_value=True)


@st.composite
def alias_bomb(draw: st.DrawFn) -> Mutation:
    levels = draw(st.integers(1, 12))
    bomb = [b'lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    bomb += [f"lol{i}: &lol{i} [".encode() + b", ".join([f"*lol{i - 1}".encode()] * 9) + b"]"
             for i in range(1, levels)]
    target = draw(st.sampled_from([b"", b"sources: ", b"skus: ", b"rules: "]))
    tail = [target + f"*lol{levels - 1}".encode()] if target else []
    return lambda d: b"\n".join([*bomb, *tail]) + b"\n" + d


MUTATION = st.one_of(flip(), truncate(), delete_line(), duplicate_line(), duplicate_key(),
                     nest(), huge_number(), long_text(), control(), odd_value(), alias_bomb())

# --------------------------------------------------------------------------------------------
# The loaders
# --------------------------------------------------------------------------------------------

_CATALOG = load_catalog(EXAMPLES / "catalog.yaml")
_NETWORK = load_network(EXAMPLES / "network.yaml")


def _feed(path: Path) -> object:
    feed = read_feed(path)
    ledger = StockLedger([s.code for s in _NETWORK.sources], _CATALOG)
    problems = check_feed(ledger, feed)  # the checks that need the ledger, too
    assert all(p.path == str(path) for p in problems), problems
    return feed


LOADERS: dict[str, Callable[[Path], Any]] = {
    "network": load_network,
    "catalog": load_catalog,
    "ruleset": lambda p: load_ruleset(p, _NETWORK, _CATALOG),
    "orders": lambda p: load_orders(p, _CATALOG),
    "feed": _feed,
}


class _TooSlow(Exception):
    pass


@contextmanager
def _time_bound(seconds: float) -> Iterator[None]:
    """Interrupt the block after ``seconds`` (a hang is a failure, not a stuck CI run)."""

    def stop(signum: int, frame: FrameType | None) -> None:
        raise _TooSlow(f"the loader took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_every_base_file_loads_as_it_is() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for kind, bases in BASES.items():
            for name, text in bases:
                path = Path(tmp) / name
                path.write_text(text, encoding="utf-8")
                LOADERS[kind](path)


@pytest.mark.parametrize("kind", sorted(BASES))
def test_a_mutated_example_is_accepted_or_refused_with_the_projects_own_error(
    kind: str,
) -> None:
    @settings(max_examples=EXAMPLES_PER_LOADER, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(base=st.sampled_from(BASES[kind]), mutations=st.lists(MUTATION, min_size=1,
                                                                  max_size=3))
    def check(base: tuple[str, str], mutations: list[Mutation]) -> None:
        name, text = base
        data = text.encode("utf-8")
        for mutate in mutations:
            data = mutate(data)
        note(f"{name}: {data[:300]!r}{' ...' if len(data) > 300 else ''} ({len(data):,} bytes)")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            path.write_bytes(data)
            try:
                with _time_bound(TIME_BOUND_S):
                    LOADERS[kind](path)
            except OmsSourcingError as err:
                assert str(err)
                if isinstance(err, FileError):
                    assert err.problems, err
                    assert all(p.path == str(path) for p in err.problems), err.problems

    check()
