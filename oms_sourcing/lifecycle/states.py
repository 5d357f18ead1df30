"""The states the lifecycle moves: one per order line and one per shipment request.

States are frozen values. A transition never changes one; it returns a new state (see
``transitions.transition``), so a refused move leaves the caller's state exactly as it was.
"""

from __future__ import annotations

from dataclasses import dataclass

from oms_sourcing.domain import LineId, Order, OrderId, SourceCode
from oms_sourcing.lifecycle.events import RequestId
from oms_sourcing.lifecycle.statuses import LineStatus, RequestKind, RequestStatus

__all__ = ["LineState", "RequestState", "initial_lines"]


@dataclass(frozen=True, slots=True)
class LineState:
    """Where one order line is, and what the rules about its future moves need to know.

    ``reason``: why it is in its status (a hold, cancel or decline reason), ``""`` if none.
    ``route``: the kind of shipment request that serves it (set when it is sourced).
    ``source`` / ``request_id``: the source and request serving it now (cleared on a decline).
    ``attempts``: how many times a source declined it; ``declined_by``: those sources, in order
    (the engine's ``declined``). ``bundle``: the bundle instance it is a component of.
    ``exchanged``: it was exchanged once and cannot be exchanged again.
    """

    order_id: OrderId
    line_id: LineId
    status: LineStatus = LineStatus.NEW
    reason: str = ""
    route: RequestKind | None = None
    source: SourceCode | None = None
    request_id: RequestId | None = None
    attempts: int = 0
    declined_by: tuple[SourceCode, ...] = ()
    bundle: str | None = None
    exchanged: bool = False

    @property
    def subject(self) -> str:
        return f"line {self.line_id} of order {self.order_id}"


@dataclass(frozen=True, slots=True)
class RequestState:
    """One shipment request: one source asked to ship (or hand over) some lines of one order.

    ``to_source``: for a transfer, the pickup store the goods go to.
    """

    order_id: OrderId
    request_id: RequestId
    kind: RequestKind
    source: SourceCode
    line_ids: tuple[LineId, ...]
    status: RequestStatus = RequestStatus.REQUESTED
    reason: str = ""
    to_source: SourceCode | None = None

    @property
    def subject(self) -> str:
        return f"shipment request {self.request_id} ({self.kind.value} from {self.source})"


def initial_lines(order: Order) -> tuple[LineState, ...]:
    """The NEW state of every line of ``order``, in line order (bundles carried over).

    Pre-shipped lines start NEW too; the service moves them on with the ``preship`` action.
    """
    return tuple(LineState(order.id, line.id, bundle=line.bundle) for line in order.lines)
