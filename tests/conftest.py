from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from bot.services import open_store
from bot.store import Store
from tests.postgres_server import PostgresCluster
from tests.servers import LocalServer, NetworkTripwire


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In a mutation run (``.ci/mutation.py``), a store test runs on one engine, not both.

    A test on the ``store`` fixture runs once per engine. Outside the PostgreSQL engine's
    package, a mutant is tested by the SQLite run of such a test only (inside it, by the
    PostgreSQL run): the other run goes through the same code above the store, at twice the
    cost (a PostgreSQL schema and its migrations a test). This can only miss a kill, never
    invent one.
    """
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    if "__mutmut_" not in mutant:
        return
    keep, drop = ("[sqlite", "[postgresql")
    if mutant.startswith("bot.store.postgres."):
        keep, drop = drop, keep
    ids = {item.nodeid for item in items}
    twins = [i for i in items if drop in i.nodeid and i.nodeid.replace(drop, keep, 1) in ids]
    if twins:
        config.hook.pytest_deselected(items=twins)
        gone = set(map(id, twins))
        items[:] = [item for item in items if id(item) not in gone]


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One private PostgreSQL server for the whole run, started on first use."""
    cluster = PostgresCluster.for_session()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
async def postgres_url(postgres_cluster: PostgresCluster) -> AsyncIterator[str]:
    """The URL of a fresh, empty schema of its own (dropped after the test)."""
    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(postgres_cluster.dsn())
    try:
        await admin.execute(f"CREATE SCHEMA {schema}")
        yield f"{postgres_cluster.dsn()}?search_path={schema}"
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
    finally:
        await admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a fresh store goes, once for each engine: an SQLite file, a PostgreSQL schema."""
    if request.param == "sqlite":
        return str(tmp_path / "factbot.db")
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def store(store_target: str) -> AsyncIterator[Store]:
    """A real store, on each engine, with the real migrations and text normaliser."""
    opened = await open_store(store_target)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture(autouse=True)
def network_tripwire(monkeypatch: pytest.MonkeyPatch) -> NetworkTripwire:
    """Fail any test the moment it tries to reach beyond loopback or to resolve a name."""
    return NetworkTripwire().install(monkeypatch)


@pytest.fixture
async def http_server() -> AsyncIterator[LocalServer]:
    """A real HTTP server on 127.0.0.1 whose routes the test defines."""
    async with LocalServer() as server:
        yield server


@pytest.fixture
async def mirror_server() -> AsyncIterator[LocalServer]:
    """Another site: a server on another loopback address (127.0.0.2)."""
    async with LocalServer(host="127.0.0.2") as server:
        yield server
