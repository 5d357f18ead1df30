"""Engines for the stock store: a SQLite file by default, PostgreSQL by URL.

:func:`create_store_engine` makes the engine and brings the schema to the newest migration on
first use (a SQLite file, and its folder, are created; nothing to install). On SQLite every
transaction that writes begins with ``BEGIN IMMEDIATE`` — it takes the file's write lock at once,
so two writers never both read a cell and then both write it — and the file is in WAL mode, so
readers do not wait for writers. On PostgreSQL transactions are READ COMMITTED (the default);
see :mod:`oms_sourcing.store.stock` for why that is enough.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from oms_sourcing.errors import InputError

#: The default store: a SQLite file in the working directory.
DEFAULT_URL = "sqlite:///oms_sourcing.db"

#: Execution option of a connection that only reads: on SQLite its transaction begins DEFERRED.
READ_ONLY = "oms_sourcing_read_only"

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_MIGRATION_LOCK = 7_180_318  # the advisory lock key PostgreSQL migrations take turns on


def create_store_engine(url: str = DEFAULT_URL, **kwargs: Any) -> Engine:
    """An engine for ``url`` with the schema migrated to the newest version.

    Args:
        url: ``sqlite:///path.db`` (default ``sqlite:///oms_sourcing.db``) or
            ``postgresql+psycopg://user:password@host/db``.
        kwargs: passed to :func:`sqlalchemy.create_engine`.

    Raises:
        InputError: a URL of another database.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {}).setdefault("timeout", 60)
        engine = create_engine(parsed, **kwargs)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    elif backend == "postgresql":
        engine = create_engine(parsed, **kwargs)
    else:
        raise InputError(
            f"store URL {parsed.render_as_string(hide_password=True)!r}: the stock store runs on "
            "SQLite or PostgreSQL; use sqlite:///path.db or postgresql+psycopg://user@host/db",
            field="url", value=parsed.render_as_string(hide_password=True),
            expected="sqlite:///... or postgresql+psycopg://...",
        )
    migrate(engine)
    return engine


def migrate(engine: Engine) -> None:
    """Upgrade the schema to the newest migration (a no-op when it is there), in one
    transaction; concurrent first uses take turns."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
        _upgrade(conn)


def _upgrade(conn: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = conn
    command.upgrade(config, "head")


def _sqlite_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    # pysqlite would begin transactions itself, lazily and DEFERRED; the "begin" event does it
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # WAL: durable across a killed process
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    read_only = conn.get_execution_options().get(READ_ONLY, False)
    conn.exec_driver_sql("BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")
