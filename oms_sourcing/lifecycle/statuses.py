"""Statuses, reasons, actions and stock effects of orders, lines, shipment requests and holds.

Names follow Magento Order Management (MOM) where it has one (``RESOURCED``, ``PRESHIPPED``,
``ONHOLD``, ``LOGISTICS``, ``COMPLETE``; reasons ``OUTOFSTOCK``, ``CUSTOMERREQ``,
``ASSOCIATEDITEMCANCELLED``, ``NOTHINGTOSHIP``, ``PENDING_REMORSE_TIME``, ``FULLYSHIPPED`` …) and
are explicit where MOM expresses a state through queues or holds (``BACKORDERED``, ``HELD``,
``PENDING_ARRIVAL``, ``READY_FOR_PICKUP``, ``PICKED_UP``, ``RETURNED``). MOM's own line names map
roughly as ALLOCATEDSHIP → ``SOURCED``, RECEIVEDBYLOGISTICS → ``ACCEPTED``, PICKDECLINED →
``DECLINED``, PICKREADY → ``READY_FOR_PICKUP``, PICKCONFIRMED → ``PICKED_UP``.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "Action",
    "CancelReason",
    "CompleteReason",
    "HoldReason",
    "HoldStatus",
    "LineStatus",
    "LogisticsReason",
    "NewReason",
    "OrderStatus",
    "RejectReason",
    "RequestKind",
    "RequestStatus",
    "StockEffect",
]


class LineStatus(StrEnum):
    """Where one order line is."""

    NEW = "NEW"                                # received, not sourced yet (MOM: INITIALORDER)
    SOURCED = "SOURCED"                        # a source is chosen and the stock reserved
    BACKORDERED = "BACKORDERED"                # short of stock; waits for stock to arrive
    HELD = "HELD"                              # waits for a later attempt (reason says why)
    PRESHIPPED = "PRESHIPPED"                  # handed over already (store sale); not sourced
    SHIPMENT_REQUESTED = "SHIPMENT_REQUESTED"  # the source was asked to ship it
    ACCEPTED = "ACCEPTED"                      # the source accepted the request
    DECLINED = "DECLINED"                      # the source declined (MOM: PICKDECLINED)
    RESOURCED = "RESOURCED"                    # sourced again after a decline
    PENDING_ARRIVAL = "PENDING_ARRIVAL"        # ship-to-store: on its way to the pickup store
    READY_FOR_PICKUP = "READY_FOR_PICKUP"      # at the pickup store, waiting for the customer
    PICKED_UP = "PICKED_UP"                    # handed over at the pickup store
    SHIPPED = "SHIPPED"                        # shipped to the customer
    RETURN_REQUESTED = "RETURN_REQUESTED"      # the customer announced a return
    RETURNED = "RETURNED"                      # the return was received
    CANCELLED = "CANCELLED"                    # cancelled (reason says why)


class RequestStatus(StrEnum):
    """Where one shipment request (one source, some lines) is."""

    REQUESTED = "REQUESTED"                    # sent to the source, not answered yet (new)
    PENDING_ARRIVAL = "PENDING_ARRIVAL"        # pickup request waiting for a transfer (new)
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"
    PARTIALLY_SHIPPED = "PARTIALLY_SHIPPED"
    SHIPPED = "SHIPPED"
    READY_FOR_PICKUP = "READY_FOR_PICKUP"
    PICKED_UP = "PICKED_UP"
    CANCELLED = "CANCELLED"


class RequestKind(StrEnum):
    """Which kind of shipment request serves a line (a line's *route*).

    ``ship``: a parcel from the source to the customer. ``transfer``: ship-to-store, the source
    sends the goods to the pickup store, which hands them over. ``pickup``: the pickup store hands
    over what it holds itself. ``preshipped``: the line was handed over already; the request only
    asks its source to confirm (shipped) or cancel.
    """

    SHIP = "ship"
    TRANSFER = "transfer"
    PICKUP = "pickup"
    PRESHIPPED = "preshipped"


class OrderStatus(StrEnum):
    """An order's status, derived from its lines, holds and rejection (``derive_order_status``)."""

    NEW = "NEW"
    ONHOLD = "ONHOLD"
    LOGISTICS = "LOGISTICS"
    COMPLETE = "COMPLETE"
    REJECTED = "REJECTED"


class HoldStatus(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    SKIPPED = "skipped"
    TIMED_OUT = "timed-out"


class Action(StrEnum):
    """What can happen to a line, a shipment request or a hold. Verbs, as the service calls them."""

    SOURCE = "source"
    PRESHIP = "preship"
    BACKORDER = "backorder"
    HOLD = "hold"
    REQUEST_SHIPMENT = "request_shipment"
    ACCEPT = "accept"
    DECLINE = "decline"
    RESOURCE = "resource"
    SHIP = "ship"
    SHIP_PART = "ship_part"
    SHIP_TO_STORE = "ship_to_store"
    MARK_ARRIVED = "mark_arrived"
    MARK_READY = "mark_ready"
    PICK_UP = "pick_up"
    CANCEL = "cancel"
    REQUEST_RETURN = "request_return"
    RETURN_RECEIVED = "return_received"
    EXCHANGE = "exchange"
    RESHIP = "reship"
    # holds
    COMPLETE = "complete"
    SKIP = "skip"
    TIME_OUT = "time_out"


class StockEffect(StrEnum):
    """What a transition asks the service to do to stock. The lifecycle itself never touches it.

    ``reserve``: reserve the line at its (new) source. ``release``: release the line's open
    reservation. ``ship``: deduct on hand at the source and close the line's reservation (a
    pre-shipped line has none to close). ``receive``: ship-to-store goods arrived; add them to the
    pickup store's on hand and reserve them there for the line. ``restock``: a return was
    received; put it back on hand if the network restocks returns (off by default, as in MOM)
    and the goods are sellable.
    """

    NONE = "none"
    RESERVE = "reserve"
    RELEASE = "release"
    SHIP = "ship"
    RECEIVE = "receive"
    RESTOCK = "restock"


class CancelReason(StrEnum):
    """Why a line was cancelled (values equal ``oms_sourcing.domain.Reason`` where both exist)."""

    OUTOFSTOCK = "OUTOFSTOCK"
    CUSTOMERREQ = "CUSTOMERREQ"
    ASSOCIATEDITEMCANCELLED = "ASSOCIATEDITEMCANCELLED"
    NOTHINGTOSHIP = "NOTHINGTOSHIP"
    UNFILLABLE = "UNFILLABLE"
    DECLINE_LIMIT = "DECLINE_LIMIT"
    SOURCE_CANCELLED = "SOURCE_CANCELLED"      # a pre-shipped line's source answered "cancelled"
    UNKNOWN_SKU = "UNKNOWN_SKU"
    INVALID_LINE = "INVALID_LINE"
    NO_PICKUP_SOURCE = "NO_PICKUP_SOURCE"


class HoldReason(StrEnum):
    """Why an order or a line waits: order holds (pre-shipment dependencies) and line holds."""

    # order holds (MOM: ONHOLD reasons; the seed guide's pre-shipment dependencies)
    PENDING_REMORSE_TIME = "PENDING_REMORSE_TIME"
    MANUAL_APPROVAL = "MANUAL_APPROVAL"
    ADDRESS_VALIDATION = "ADDRESS_VALIDATION"
    PAYMENT_CAPTURE = "PAYMENT_CAPTURE"
    PENDING_RETURN = "PENDING_RETURN"          # an exchange held until the return is received
    CUSTOM = "CUSTOM"
    # line holds (values equal ``oms_sourcing.domain.Reason``)
    WAITING_FOR_STOCK = "WAITING_FOR_STOCK"
    HOLD_UNTIL_COMPLETE = "HOLD_UNTIL_COMPLETE"
    BUNDLE_NOT_FROM_ONE_SOURCE = "FilterSourceBundleFromOneSource"
    DECLINE_LIMIT = "DECLINE_LIMIT"
    BACKORDERED = "BACKORDERED"


class NewReason(StrEnum):
    INITIALORDER = "INITIALORDER"


class LogisticsReason(StrEnum):
    PENDING_FIRST_SHIPMENT = "PENDING_FIRST_SHIPMENT"
    PARTIALLYSHIPPED = "PARTIALLYSHIPPED"


class CompleteReason(StrEnum):
    FULLYSHIPPED = "FULLYSHIPPED"
    PARTIALLYSHIPPED = "PARTIALLYSHIPPED"
    FULLYCANCELLED = "FULLYCANCELLED"


class RejectReason(StrEnum):
    INVALID_ORDER = "INVALID_ORDER"
    UNKNOWN_SKU = "UNKNOWN_SKU"
    FRAUD = "FRAUD"
