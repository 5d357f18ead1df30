"""Alembic's environment for the stock store: run programmatically by
:func:`oms_sourcing.store.engine.migrate` on the connection it passes in."""

from __future__ import annotations

from alembic import context

from oms_sourcing.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
