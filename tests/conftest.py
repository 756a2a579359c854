from __future__ import annotations

import os
import resource
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from bot import links
from bot.services import open_store
from bot.store import Store
from tests.postgres_server import PostgresCluster
from tests.servers import LocalServer, NetworkTripwire

# Modules whose mutants a mutation run tests with their own test file only. links is pure code
# under everything (store, CLI, bot): about 250 to 580 tests reach each function, at a minute
# a surviving mutant, while tests/test_links.py pins each of its behaviours in seconds.
_OWN_TESTS = {"bot.links.": "tests/test_links.py::"}
# Such a run takes seconds of CPU; one still running after this many loops (mutmut's own limit,
# 15 times the time of every test reaching the function, is six minutes for some links mutants).
_OWN_TESTS_CPU_S = 60


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In a mutation run (``.ci/mutation.py``), a store test runs on one engine, not both.

    A test on the ``store`` fixture runs once per engine. Outside the PostgreSQL engine's
    package, a mutant is tested by the SQLite run of such a test only (inside it, by the
    PostgreSQL run): the other run goes through the same code above the store, at twice the
    cost (a PostgreSQL schema and its migrations a test). This can only miss a kill, never
    invent one. A mutant of a module in ``_OWN_TESTS`` runs that module's test file only, and
    is stopped (a timeout) after ``_OWN_TESTS_CPU_S`` seconds of CPU.
    """
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    if "__mutmut_" not in mutant:
        return
    keep, drop = ("[sqlite", "[postgresql")
    if mutant.startswith("bot.store.postgres."):
        keep, drop = drop, keep
    ids = {item.nodeid for item in items}
    dropped = [i for i in items if drop in i.nodeid and i.nodeid.replace(drop, keep, 1) in ids]
    for module, own in _OWN_TESTS.items():
        if mutant.startswith(module):
            dropped = [i for i in items if not i.nodeid.startswith(own)]
            limit = int(time.process_time()) + _OWN_TESTS_CPU_S
            soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
            if hard != resource.RLIM_INFINITY:
                limit = min(limit, hard)
            if soft == resource.RLIM_INFINITY or soft > limit:
                resource.setrlimit(resource.RLIMIT_CPU, (limit, hard))  # SIGXCPU: a timeout
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        gone = set(map(id, dropped))
        items[:] = [item for item in items if id(item) not in gone]


@pytest.fixture(autouse=True)
def _link_keys_computed_afresh() -> None:
    """Each test keys its URLs itself, never from the cache an earlier test filled.

    mutmut forks each mutant's test process from one that has run the tests already: with
    ``canonical_url``'s cache warm, a bug in the code below it never runs and the mutant
    survives; the run's map of which tests reach a function also misses every test whose URLs
    an earlier test keyed first.
    """
    links.canonical_url.cache_clear()
    links._site_host.cache_clear()


@pytest.fixture(autouse=True, scope="session")
def _derived_files_in_the_runs_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The semantic model's derived graph (bot.semantic.cache_dir) goes to a folder of this
    run, not the user's cache: derived once a run, by the first test that loads the model."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FACTBOT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        yield


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
