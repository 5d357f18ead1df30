"""The message bus: runs a command's handler in one unit of work, with idempotency keys, and
hands the outbox's events to subscribers after the commit, at least once."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace

from oms_sourcing.errors import InputError
from oms_sourcing.service import commands as c
from oms_sourcing.service._tx import Environment, Tx
from oms_sourcing.service.answers import ReservationConflict
from oms_sourcing.service.handlers import handler_for
from oms_sourcing.service.model import IdempotencyRecord, OutboxMessage
from oms_sourcing.service.ports import UnitOfWork

__all__ = ["MessageBus", "Subscriber", "command_fingerprint", "dispatch"]

log = logging.getLogger("oms_sourcing.service")

Subscriber = Callable[[OutboxMessage], None]


def command_fingerprint(command: c.Command) -> str:
    """A SHA-256 of the command without its idempotency key (same command, same fingerprint)."""
    return hashlib.sha256(repr(replace(command, idempotency_key=None)).encode()).hexdigest()


def handle(command: c.Command, uow: UnitOfWork, env: Environment) -> object:
    """Run ``command`` in ``uow`` (entered, not committed): the handler's answer.

    With an idempotency key seen before, the first answer is returned and nothing runs.

    Raises:
        InputError: the key was used before for a different command.
    """
    key = command.idempotency_key
    fingerprint = command_fingerprint(command) if key else ""
    if key:
        seen = uow.idempotency.get(key)
        if seen is not None:
            if seen.fingerprint != fingerprint:
                raise InputError(
                    f"idempotency key {key!r} was used for another command; a retry must send "
                    "the same command, a new command needs a new key",
                    field="idempotency_key", value=key, expected="a new key",
                )
            return seen.answer
    answer = handler_for(command)(command, Tx(uow, env))
    if key and not isinstance(answer, ReservationConflict):
        uow.idempotency.add(IdempotencyRecord(key, fingerprint, answer))
    return answer


def dispatch(uow_factory: Callable[[], UnitOfWork], subscribers: Sequence[Subscriber],
             limit: int = 1000) -> int:
    """Hand pending outbox messages to every subscriber, then mark each delivered (a crash in
    between delivers it again: at least once; subscribers deduplicate by ``message.id``).
    A subscriber that raises leaves its message pending. Returns how many were delivered."""
    with uow_factory() as uow:
        pending = uow.outbox.pending(limit)
    delivered = 0
    for message in pending:
        try:
            for subscriber in subscribers:
                subscriber(message)
        except Exception:
            log.exception("subscriber failed on %s; it stays in the outbox", message.id)
            break
        with uow_factory() as uow:
            uow.outbox.mark_delivered(message.id)
            uow.commit()
        delivered += 1
    return delivered


class MessageBus:
    """Commands in, answers out: one unit of work per command, committed unless the handler
    raised or answered with a reservation conflict (then nothing changed); the outbox is
    dispatched to ``subscribers`` after each commit."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork], env: Environment,
                 subscribers: Sequence[Subscriber] = ()) -> None:
        self.uow_factory = uow_factory
        self.env = env
        self.subscribers = list(subscribers)

    def handle(self, command: c.Command) -> object:
        with self.uow_factory() as uow:
            answer = handle(command, uow, self.env)
            if isinstance(answer, ReservationConflict):
                uow.rollback()
            else:
                uow.commit()
        if self.subscribers:
            dispatch(self.uow_factory, self.subscribers)
        return answer
