"""Commands: what a caller asks the service to do, as frozen values with imperative names.

Every command carries the time it happens (``at``, or ``now`` for :class:`ExpireHolds`) — the
service never reads the clock — and an optional ``idempotency_key``: a command retried with the
same key returns the first answer and changes nothing (the same key with a different command is
refused). Business outcomes (out of stock, declined, a refused transition) are answers or
``TransitionError`` / ``InputError``; nothing changes when an error is raised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from oms_sourcing.domain import Order
from oms_sourcing.inventory.feeds import Feed
from oms_sourcing.lifecycle import HoldReason
from oms_sourcing.lifecycle.statuses import CancelReason
from oms_sourcing.rules.model import Ruleset

__all__ = [
    "AcceptRequest",
    "ActivateRuleset",
    "ApplyFeed",
    "CancelLines",
    "CancelOrder",
    "Command",
    "CompleteHold",
    "ConfirmArrival",
    "ConfirmPickup",
    "DeclineRequest",
    "Exchange",
    "ExpireHolds",
    "HoldSpec",
    "MarkReady",
    "PlaceHold",
    "ReceiveReturn",
    "ReleaseBackorders",
    "Reship",
    "ShipLine",
    "ShipRequest",
    "SkipHold",
    "SourceOrder",
    "StartReturn",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    """Base of every command. ``idempotency_key``: see the module docstring."""

    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class HoldSpec:
    """A hold to place on an order when it is sourced (remorse time, manual approval …)."""

    name: str
    reason: HoldReason
    until: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceOrder(Command):
    """Source a new order: select the rule, allocate, reserve, send shipment requests.

    ``holds``: pre-shipment dependencies; the requests wait until every one is released.
    """

    order: Order
    at: datetime
    holds: tuple[HoldSpec, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class AcceptRequest(Command):
    request_id: str
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class DeclineRequest(Command):
    """The source declines: its reservations are released and its lines sourced elsewhere."""

    request_id: str
    at: datetime
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ShipLine:
    """Part of a shipment: ``qty`` of line ``line_id`` (``None``: all that is left of it)."""

    line_id: str
    qty: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ShipRequest(Command):
    """The source shipped (all of a request, or ``lines`` of it) in parcel ``shipment_id``.

    A retry with the same ``shipment_id`` changes nothing and answers as the first time.
    """

    request_id: str
    shipment_id: str
    at: datetime
    lines: tuple[ShipLine, ...] = ()
    tracking: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class MarkReady(Command):
    """The pickup store prepared a pickup request from its own stock."""

    request_id: str
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfirmArrival(Command):
    """Ship-to-store: the transferred goods of a pending-arrival pickup request arrived."""

    request_id: str
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfirmPickup(Command):
    """The customer collected a ready pickup request."""

    request_id: str
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelOrder(Command):
    order_id: str
    at: datetime
    reason: CancelReason = CancelReason.CUSTOMERREQ


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelLines(Command):
    """Cancel some lines (a bundle component cancels its whole bundle)."""

    order_id: str
    line_ids: tuple[str, ...]
    at: datetime
    reason: CancelReason = CancelReason.CUSTOMERREQ


@dataclass(frozen=True, slots=True, kw_only=True)
class Reship(Command):
    """The carrier lost the parcel: a new zero-value order ``new_order_id`` ships the lines."""

    order_id: str
    line_ids: tuple[str, ...]
    new_order_id: str
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Exchange(Command):
    """A new linked order ``new_order_id`` ships ``sku`` in place of a shipped line.

    ``wait_for_return``: the new order is held (``PENDING_RETURN``) until the return of the line
    is received in sellable condition. ``qty``: default the line's quantity.
    """

    order_id: str
    line_id: str
    sku: str
    new_order_id: str
    at: datetime
    wait_for_return: bool = False
    qty: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StartReturn(Command):
    order_id: str
    line_ids: tuple[str, ...]
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceiveReturn(Command):
    """The returned lines arrived at ``source`` (a source that accepts returns).

    ``sellable``: in good condition; restocked only if the service restocks returns.
    """

    order_id: str
    line_ids: tuple[str, ...]
    source: str
    at: datetime
    sellable: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplyFeed(Command):
    """Apply a stock feed, then release the backorders of the SKUs it touched."""

    feed: Feed
    at: datetime
    partial: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseBackorders(Command):
    """Source again the backordered and held lines of ``skus`` (``None``: every SKU), oldest
    order first."""

    at: datetime
    skus: frozenset[str] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaceHold(Command):
    order_id: str
    name: str
    reason: HoldReason
    at: datetime
    until: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CompleteHold(Command):
    order_id: str
    name: str
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class SkipHold(Command):
    order_id: str
    name: str
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpireHolds(Command):
    """Time out every open hold whose ``until`` has come, in every order."""

    now: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivateRuleset(Command):
    """Make a ruleset version the active one. Give ``text`` (YAML, validated against the network
    and catalog here) or an already loaded ``ruleset``."""

    at: datetime
    text: str | None = None
    ruleset: Ruleset | None = field(default=None, compare=False)
    path: str = "<ruleset>"
