"""The service layer: use cases of the order lifecycle over a unit of work.

A command (``commands``) goes to its handler (``handlers``) through the message bus (``bus``),
in one unit of work (``ports.UnitOfWork``; ``memory`` implements it in memory): select →
allocate → reserve atomically → shipment requests, and accept / decline / ship / cancel /
reship / exchange / return / feeds / backorders / holds / rulesets after that. Every event goes
to the outbox in the same transaction; every decision is stored with its inputs and can be
replayed (``replay``). ``Sourcing`` (``facade``) holds it all for an embedding OMS::

    service = in_memory(network, catalog, ruleset)
    answer = service.source(order, at=now)
"""

from oms_sourcing.service.answers import (
    FeedAnswer,
    LineView,
    OrderView,
    ReleaseAnswer,
    RequestView,
    ReservationConflict,
    RulesetAnswer,
)
from oms_sourcing.service.bus import MessageBus, dispatch
from oms_sourcing.service.facade import FlowEntry, Sourcing, in_memory
from oms_sourcing.service.memory import MemoryStore, MemoryUnitOfWork
from oms_sourcing.service.model import (
    DecisionRecord,
    DefaultHold,
    OrderRecord,
    OutboxMessage,
    RequestRecord,
    Settings,
)
from oms_sourcing.service.replay import ReplayReport, replay

__all__ = [
    "DecisionRecord",
    "DefaultHold",
    "FeedAnswer",
    "FlowEntry",
    "LineView",
    "MemoryStore",
    "MemoryUnitOfWork",
    "MessageBus",
    "OrderRecord",
    "OrderView",
    "OutboxMessage",
    "ReleaseAnswer",
    "ReplayReport",
    "RequestRecord",
    "RequestView",
    "ReservationConflict",
    "RulesetAnswer",
    "Settings",
    "Sourcing",
    "dispatch",
    "in_memory",
    "replay",
]
