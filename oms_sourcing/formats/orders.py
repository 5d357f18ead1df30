"""Orders as JSON: one object per order; JSONL (one per line) for histories.

Numbers are read as ``Decimal`` (``2.5`` stays exactly 2.5) and every quantity is checked
against its SKU's precision in the catalog. A bad order is reported with its line in the file,
its id, the line id, the field and the value, and no order from the file is returned.
"""

from __future__ import annotations

import reprlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from oms_sourcing._json import JsonProblem, line_col, loads, locate, raw_decode
from oms_sourcing.domain import (
    Catalog,
    Delivery,
    LineId,
    LineKind,
    Location,
    Order,
    OrderId,
    OrderLine,
    Shipping,
    Sku,
    SourceCode,
    parse_quantity,
    validate_order,
)
from oms_sourcing.errors import InputError, OrderFileError, Problem
from oms_sourcing.formats._validate import allowed_keys, data_path, dotted, suggest

__all__ = [
    "AddressModel",
    "OrderLineModel",
    "OrderModel",
    "load_orders",
    "order_from_model",
    "order_to_dict",
    "parse_order",
]

_FROZEN = ConfigDict(extra="forbid", frozen=True)
Id = Annotated[str, Field(min_length=1, max_length=200)]
Number = Decimal | int | str


def _id(v: object) -> object:
    # Ids are strings; JSON producers often send numbers. Accept integers, never floats.
    return str(v) if isinstance(v, int) and not isinstance(v, bool) else v


class AddressModel(BaseModel):
    model_config = _FROZEN
    country: str | None = Field(None, description="ISO 3166-1 alpha-2, e.g. DE.")
    region: str | None = None
    postcode: str | None = None
    city: str | None = None
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)

    @field_validator("country")
    @classmethod
    def _country(cls, v: str | None) -> str | None:
        if v is None:
            return None
        code = v.strip().upper()
        if len(code) != 2 or not code.isalpha():
            raise ValueError(f"country must be a two-letter ISO code like 'DE', got {v!r}")
        return code

    @field_validator("postcode", mode="before")
    @classmethod
    def _postcode(cls, v: object) -> object:
        return _id(v)


class ShippingModel(BaseModel):
    model_config = _FROZEN
    method: str = Field("standard", description="Shipping method as the storefront names it.")
    address: AddressModel = AddressModel()


def _number(v: object) -> object:
    # Checked before the union: pydantic would report one error per member (decimal, int, str).
    if isinstance(v, bool) or not isinstance(v, Decimal | int | float | str):
        raise ValueError("must be a number or a decimal string like \"2.5\"")
    if isinstance(v, Decimal | float) and not Decimal(v).is_finite():
        raise ValueError("must be a finite number")
    return v


def _timestamp(v: object) -> object:
    # pydantic would read a number (or "0") as seconds since 1970: an ISO-8601 string only.
    if isinstance(v, datetime):
        return v
    if not isinstance(v, str):
        raise ValueError("must be an ISO-8601 string with a time zone, e.g. "
                         "\"2026-11-02T06:02:31+00:00\"")
    try:
        return datetime.fromisoformat(v.strip())
    except ValueError:
        raise ValueError("is not an ISO-8601 timestamp; write e.g. "
                         "\"2026-11-02T06:02:31+00:00\"") from None


class OrderLineModel(BaseModel):
    model_config = _FROZEN
    id: Id
    sku: Id
    qty: Number = Field(description="Quantity, at most the SKU's decimal_qty decimals.")
    kind: Literal["regular", "virtual", "preshipped"] = "regular"
    unit_price: Number = Field(Decimal(0), description="Price of one unit, for order value rules.")
    bundle: str | None = Field(None, description="Bundle instance id shared by its components.")
    bundle_sku: str | None = None
    preshipped_source: str | None = None
    allow_backorder: bool | None = None

    @field_validator("id", "sku", "bundle", mode="before")
    @classmethod
    def _ids(cls, v: object) -> object:
        return _id(v)

    @field_validator("qty", "unit_price", mode="before")
    @classmethod
    def _numbers(cls, v: object) -> object:
        return _number(v)


class OrderModel(BaseModel):
    """One order as JSON."""

    model_config = _FROZEN
    id: Id
    created_at: datetime = Field(description="ISO-8601 with a time zone.")
    channel: str = "default"
    customer_group: str = "general"
    currency: str = "EUR"
    delivery: Literal["ship", "pickup"] = "ship"
    pickup_source: str | None = None
    shipping: ShippingModel = ShippingModel()
    parent_order: str | None = None
    lines: tuple[OrderLineModel, ...] = Field(min_length=1)

    @field_validator("id", "parent_order", mode="before")
    @classmethod
    def _ids(cls, v: object) -> object:
        return _id(v)

    @field_validator("created_at", mode="before")
    @classmethod
    def _created(cls, v: object) -> object:
        return _timestamp(v)


class _FieldError(Exception):
    """An :class:`InputError` of one field of a line: ``loc`` is the field's path in the order."""

    def __init__(self, loc: tuple[str | int, ...], err: InputError) -> None:
        self.loc = loc
        self.err = err


def order_from_model(model: OrderModel, catalog: Catalog | None = None) -> Order:
    """Turn a validated ``OrderModel`` into an :class:`Order`, checking quantities per SKU.

    Raises:
        InputError / QuantityError: naming the order, line, field and value.
    """
    try:
        return _order(model, catalog)
    except _FieldError as err:
        raise err.err from None


def _order(model: OrderModel, catalog: Catalog | None) -> Order:
    where = f"order {model.id}"
    lines = []
    for i, ln in enumerate(model.lines):
        lwhere = f"{where} line {ln.id}"
        decimals = catalog.decimals(ln.sku) if catalog is not None else 0
        try:
            qty = parse_quantity(ln.qty, decimals=decimals, where=lwhere)
        except InputError as err:
            raise _FieldError(("lines", i, "qty"), err) from None
        try:
            price = parse_quantity(ln.unit_price, decimals=6, field="unit_price", where=lwhere,
                                   positive=False)
        except InputError as err:
            raise _FieldError(("lines", i, "unit_price"), err) from None
        lines.append(OrderLine(
            id=LineId(ln.id),
            sku=Sku(ln.sku),
            qty=qty,
            kind=LineKind(ln.kind),
            unit_price=price,
            bundle=ln.bundle,
            bundle_sku=Sku(ln.bundle_sku) if ln.bundle_sku else None,
            preshipped_source=SourceCode(ln.preshipped_source) if ln.preshipped_source else None,
            allow_backorder=ln.allow_backorder,
        ))
    a = model.shipping.address
    order = Order(
        id=OrderId(model.id),
        created_at=model.created_at,
        lines=tuple(lines),
        channel=model.channel,
        customer_group=model.customer_group,
        delivery=Delivery(model.delivery),
        pickup_source=SourceCode(model.pickup_source) if model.pickup_source else None,
        shipping=Shipping(
            method=model.shipping.method,
            address=Location(lat=a.lat, lon=a.lon, country=a.country, region=a.region,
                             postcode=a.postcode, city=a.city),
        ),
        currency=model.currency,
        parent_order=OrderId(model.parent_order) if model.parent_order else None,
    )
    validate_order(order, catalog)
    return order


#: Where a value of a parsed order stands in its file: ``(path, key) -> (line, column)``.
Locator = Callable[[Sequence[str | int], bool], tuple[int, int]]

_SHOW = reprlib.Repr()
_SHOW.maxstring = 60
_SHOW.maxother = 60
_SHOW.maxlist = _SHOW.maxdict = 4
_SHOW.maxlevel = 2


def _shown(value: object) -> str:
    """A received value for a message: short, whatever its size or nesting."""
    if isinstance(value, dict | list | tuple):
        return _SHOW.repr(value)
    if isinstance(value, float | Decimal) and not Decimal(value).is_finite():
        return "NaN" if value != value else ("-Infinity" if value < 0 else "Infinity")
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _problems_of(
    err: ValidationError, data: Any, path: str, line: int, at: Locator | None = None
) -> list[Problem]:
    oid = data.get("id") if isinstance(data, Mapping) else None
    head = f"order {_shown(oid) if not isinstance(oid, str) else oid}: " if oid is not None else ""
    out = []
    seen: set[tuple[str | int, ...]] = set()
    errors = err.errors(include_url=False)
    for e in errors:
        loc = list(e["loc"])
        if e["type"] == "too_short" and any(
            o is not e and list(o["loc"])[: len(loc)] == loc for o in errors
        ):
            continue  # "lines is empty" only because a line inside it failed: noise
        # union members and validators add tags to loc that are not keys of the data; one
        # message per place in the data (the first member's says enough)
        found, rest = data_path(data, loc)
        place = tuple(found + rest)
        if place in seen:
            continue
        seen.add(place)
        name = dotted(place)
        kind = e["type"]
        shown = e.get("input")
        value = f" (got {_shown(shown)})"
        if kind == "missing":
            msg = f"{head}{name} is required"
        elif kind == "extra_forbidden":
            hint = suggest(str(place[-1]), allowed_keys(OrderModel, place[:-1]))
            msg = f"{head}unknown field {name}"
            msg += f"; did you mean {hint!r}?" if hint else ""
        elif kind == "too_short" and place == ("lines",):
            msg = f"{head}lines: an order needs at least one line"
        elif kind == "value_error":
            # our validators' sentences: "must be ...", "is not ..." follow the field's name
            text = str(e["msg"]).removeprefix("Value error, ")
            sep = " " if text.startswith(("must ", "is ")) else ": "
            msg = f"{head}{name}{sep}{text}" + ("" if "got " in text else value)
        else:
            msg = f"{head}{name}: {e['msg']}{value}"
        ln, col = at(tuple(found), kind == "extra_forbidden") if at else (line, 1)
        out.append(Problem(path, ln, col, msg, code=kind))
    out.sort(key=lambda p: (p.line, p.column))
    return out


def parse_order(
    data: Any,
    catalog: Catalog | None = None,
    *,
    path: str = "<order>",
    line: int = 1,
    at: Locator | None = None,
) -> Order:
    """Validate one order given as parsed JSON (a dict).

    Args:
        at: where each value stands in the file, for ``path:line:col`` of the field itself;
            without it every problem is reported at ``line``, column 1.

    Raises:
        OrderFileError: with one ``Problem`` per mistake, at ``path:line:col``.
    """
    try:
        model = OrderModel.model_validate(data)
    except ValidationError as err:
        raise OrderFileError(_problems_of(err, data, path, line, at), path=path) from None
    try:
        return _order(model, catalog)
    except _FieldError as err:
        ln, col = at(err.loc, False) if at else (line, 1)
        raise OrderFileError([Problem(path, ln, col, str(err.err))], path=path) from None
    except InputError as err:
        top = err.field if isinstance(data, Mapping) and err.field in data else None
        ln, col = at((top,), False) if at and top else (line, 1)
        raise OrderFileError([Problem(path, ln, col, str(err))], path=path) from None


@dataclass(frozen=True, slots=True)
class _Record:
    """One order of a file: its first line, its data, and where it stands in ``text``."""

    line: int
    data: Any
    text: str
    start: int
    first_line: int  # the line of text[0] in the file

    def at(self, loc: Sequence[str | int], key: bool) -> tuple[int, int]:
        line, col = line_col(self.text, locate(self.text, self.start, loc, key=key))
        return self.first_line + line - 1, col


def _records(text: str, path: str, jsonl: bool) -> Iterator[_Record | Problem]:
    if jsonl:
        for number, raw in enumerate(text.splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                yield _Record(number, loads(raw, unit="line"), raw, 0, number)
            except JsonProblem as err:
                yield Problem(path, number, line_col(raw, err.pos)[1], err.message)
        return
    try:
        data = loads(text)
    except JsonProblem as err:
        if err.message.endswith("extra data after the first value") and text.lstrip().startswith(
            "{"
        ):
            # several objects, one per line: JSONL whatever the file is called (e.g. stdin)
            yield from _records(text, path, jsonl=True)
            return
        yield Problem(path, *line_col(text, err.pos), err.message)
        return
    if isinstance(data, list):
        # Locate each element to report its line: decode the array element by element.
        pos = text.index("[") + 1
        for _ in data:
            while text[pos] in " \t\r\n,":
                pos += 1
            item, end = raw_decode(text, pos)
            yield _Record(text.count("\n", 0, pos) + 1, item, text, pos, 1)
            pos = end
    else:
        start = len(text) - len(text.lstrip())
        yield _Record(text.count("\n", 0, start) + 1, data, text, start, 1)


def load_orders(
    path: str | Path, catalog: Catalog | None = None, *, collect: bool = True
) -> list[Order]:
    """Load orders from ``.jsonl``/``.ndjson`` (one per line) or ``.json`` (an object or a list).

    Args:
        catalog: SKU precisions to check quantities against (whole units without it).
        collect: report every bad order (default) or stop at the first.

    Raises:
        OrderFileError: every problem as ``path:line:col: order ID line LID: field ...``, at
            the line and column of the field; duplicate order ids are problems too. No order is
            returned when any is bad.
    """
    p = Path(path)
    label = str(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise OrderFileError([Problem(label, 0, 0, f"cannot read orders: {err}")]) from None
    jsonl = p.suffix.lower() in (".jsonl", ".ndjson")
    return parse_orders(_records(text, label, jsonl), catalog, path=label, collect=collect)


def parse_orders(
    records: Iterable[tuple[int, Any] | _Record | Problem],
    catalog: Catalog | None = None,
    *,
    path: str = "<orders>",
    collect: bool = True,
) -> list[Order]:
    """Validate ``(line number, parsed JSON)`` pairs; see :func:`load_orders`."""
    orders: list[Order] = []
    problems: list[Problem] = []
    first_line: dict[str, int] = {}
    for rec in records:
        if isinstance(rec, Problem):
            problems.append(rec)
            if not collect:
                break
            continue
        if isinstance(rec, _Record):
            number, data, at = rec.line, rec.data, rec.at
        else:
            (number, data), at = rec, None
        try:
            order = parse_order(data, catalog, path=path, line=number, at=at)
        except OrderFileError as err:
            problems.extend(err.problems)
        else:
            if order.id in first_line:
                ln, col = at(("id",), False) if at else (number, 1)
                problems.append(Problem(
                    path, ln, col,
                    f"order {order.id}: id is used again (first at line "
                    f"{first_line[order.id]}); order ids must be unique",
                ))
            else:
                first_line[order.id] = number
                orders.append(order)
        if problems and not collect:
            break
    if problems:
        raise OrderFileError(problems, path=path)
    return orders


def _num(d: Decimal) -> str:
    return format(d.normalize(), "f") if d == d.to_integral_value() else str(d)


def order_to_dict(order: Order) -> dict[str, Any]:
    """The JSON form of ``order`` (inverse of :func:`parse_order`); quantities as strings."""
    a = order.shipping.address
    address = {k: v for k, v in (("country", a.country), ("region", a.region),
                                 ("postcode", a.postcode), ("city", a.city),
                                 ("lat", a.lat), ("lon", a.lon)) if v is not None}
    out: dict[str, Any] = {
        "id": order.id,
        "created_at": order.created_at.isoformat(),
        "channel": order.channel,
        "customer_group": order.customer_group,
        "currency": order.currency,
        "delivery": order.delivery.value,
        "shipping": {"method": order.shipping.method, "address": address},
        "lines": [],
    }
    if order.pickup_source:
        out["pickup_source"] = order.pickup_source
    if order.parent_order:
        out["parent_order"] = order.parent_order
    for ln in order.lines:
        line: dict[str, Any] = {"id": ln.id, "sku": ln.sku, "qty": _num(ln.qty),
                                "kind": ln.kind.value, "unit_price": _num(ln.unit_price)}
        for key in ("bundle", "bundle_sku", "preshipped_source", "allow_backorder"):
            value = getattr(ln, key)
            if value is not None:
                line[key] = value
        out["lines"].append(line)
    return out
