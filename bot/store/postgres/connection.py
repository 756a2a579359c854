"""The PostgreSQL engine's pool: open, migrate, one transaction per write, reads.

One asyncpg pool per store; each unit of work takes a connection with ``async with
pool.acquire()``, and every write is one transaction on it. Several processes may share the
database: migrations run under an advisory lock, and a write that loses a lock fight
(deadlock, serialisation failure) is reported as busy, like SQLite's locked database.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any, Self
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

from bot.store.models import StoreBusy, StoreError
from bot.store.targets import redacted_url
from bot.store.validation import checked_guild

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000

CLAIM_COLUMNS = (
    "c.id, c.guild_id, c.claim, c.verdict, c.note, c.rating_label, c.context, c.external_id, "
    "c.created_by, c.created_at, c.updated_by, c.updated_at, c.active, c.claimant, "
    "c.claim_date"
)

#: Any number: every factbot process takes this advisory lock to migrate the schema.
_MIGRATION_LOCK = 0x66616374  # "fact"

_VERSION_TABLE = "factbot_schema"

_FACTBOT_TABLES = frozenset({"claims", "claim_urls", "audit_log"})


def scope_sql(guild_id: int | None, param: int) -> tuple[str, tuple[Any, ...]]:
    """WHERE fragment (its parameter is ``$param``) for records a guild may see."""
    if checked_guild(guild_id) is None:
        return "c.guild_id IS NULL", ()
    return f"(c.guild_id IS NULL OR c.guild_id = ${param})", (guild_id,)


def _migrations() -> list[tuple[int, str]]:
    found = []
    folder = resources.files("bot.store.postgres").joinpath("migrations")
    for entry in folder.iterdir():
        name = entry.name
        if name.startswith("V") and name.endswith(".sql"):
            found.append((int(name[1:].split("__", 1)[0]), entry.read_text(encoding="utf-8")))
    return sorted(found)


def latest_version() -> int:
    return _migrations()[-1][0]


def _default_index_terms(text: str) -> str:
    return text.casefold()


class PostgresBase:
    """The pool and transactions; the concerns (claims, sources, pages, ...) build on it."""

    def __init__(self, pool: asyncpg.Pool, url: str):
        self._pool = pool
        #: Where the store is, without the password (the SQLite engine's file path).
        self.path = redacted_url(url)
        self._index_terms: Callable[[str], str] = _default_index_terms

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        create: bool = True,
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
        environ: Mapping[str, str] | None = None,
        min_size: int = 1,
        max_size: int = 10,
    ) -> Self:
        """Open the store at ``url`` (``postgresql://user@host:port/db``).

        The password comes from the URL, else ``FACTBOT_DB_PASSWORD``, else what libpq's
        conventions give asyncpg (``PGPASSWORD``, ``~/.pgpass``); ``PGHOST``, ``PGUSER`` and the
        other ``PG*`` variables fill in what the URL leaves out. ``create``: a schema without
        factbot's tables gets them and an older one is migrated; without it only an
        up-to-date store opens. A schema holding another application's tables is refused
        untouched. ``busy_timeout_ms`` bounds a wait for another writer's row locks (as
        SQLite's busy timeout does); the URL's own ``lock_timeout`` parameter wins.
        """
        env = os.environ if environ is None else environ
        shown = redacted_url(url)
        password = env.get("FACTBOT_DB_PASSWORD") or None
        if urlsplit(url).password is not None:
            password = None  # the URL's own wins
        settings = {}
        if "lock_timeout" not in dict(parse_qsl(urlsplit(url).query)):
            settings["lock_timeout"] = str(int(busy_timeout_ms))
        try:
            pool = await asyncpg.create_pool(
                url,
                password=password,
                min_size=min_size,
                max_size=max_size,
                server_settings=settings,
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
            raise StoreError(f"cannot connect to {shown}: {_reason(exc)}") from None
        except TimeoutError:
            raise StoreError(f"cannot connect to {shown}: timed out") from None
        try:
            async with pool.acquire() as conn:
                await _migrate(conn, shown, create=create)
            store = cls(pool, url)
            await store._after_open()
        except BaseException as exc:
            await pool.close()
            if isinstance(exc, DATABASE_ERRORS):
                raise _store_error(exc) from None
            raise
        return store

    async def close(self) -> None:
        await self._pool.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _after_open(self) -> None:
        """Start-up work of the concerns (re-keying URLs); run once by :meth:`open`."""

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[asyncpg.Connection]:
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                yield conn
        except DATABASE_ERRORS as exc:
            raise _store_error(exc) from None

    async def _fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        try:
            async with self._pool.acquire() as conn:
                return list(await conn.fetch(sql, *args))
        except DATABASE_ERRORS as exc:
            raise _store_error(exc) from None


@asynccontextmanager
async def temporary_schema(url: str) -> AsyncIterator[str]:
    """The URL of a new, empty schema in ``url``'s database, dropped again on exit."""
    name = f"factbot_scratch_{secrets.token_hex(8)}"
    try:
        conn = await asyncpg.connect(url, password=os.environ.get("FACTBOT_DB_PASSWORD") or None)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
        raise StoreError(f"cannot connect to {redacted_url(url)}: {_reason(exc)}") from None
    try:
        await conn.execute(f"CREATE SCHEMA {name}")
        parts = urlsplit(url)
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "search_path"]
        yield urlunsplit(parts._replace(query=urlencode([*query, ("search_path", name)])))
    finally:
        try:
            await conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        finally:
            await conn.close()


async def _migrate(conn: asyncpg.Connection, shown: str, *, create: bool) -> None:
    latest = latest_version()
    async with conn.transaction():
        # Two processes starting at once: one migrates, the other then sees it done.
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
        tables = {
            r[0]
            for r in await conn.fetch(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            )
        }
        if _VERSION_TABLE not in tables:
            if tables:
                raise StoreError(f"{shown} is not a factbot database")
            if not create:
                raise StoreError(f"no store at {shown}")
            current = 0
        else:
            if not tables.issuperset(_FACTBOT_TABLES):
                raise StoreError(f"{shown} is not a factbot database")
            current = int(await conn.fetchval(f"SELECT version FROM {_VERSION_TABLE}") or 0)
        if current > latest:
            raise StoreError(
                f"the database is at schema version {current}, newer than this factbot ({latest})"
            )
        if current < latest and not create:
            raise StoreError(
                f"the store at {shown} is at schema version {current}; a command that writes to "
                f"it (factbot run, import, claims add) upgrades it to {latest}"
            )
        if current == 0 and current < latest:
            await conn.execute(f"CREATE TABLE {_VERSION_TABLE} (version INTEGER NOT NULL)")
            await conn.execute(f"INSERT INTO {_VERSION_TABLE} (version) VALUES (0)")
        for version, sql in _migrations():
            if version <= current:
                continue
            log.info("applying store migration V%d", version)
            await conn.execute(sql)
            await conn.execute(f"UPDATE {_VERSION_TABLE} SET version = $1", version)


def _reason(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


#: What a statement can fail with: the server's errors, the client's, and a connection the
#: server or the network dropped (asyncpg reports that as an interface error, an internal
#: client error or a socket error, depending on where in a round trip it lands).
DATABASE_ERRORS = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
)

# Serialization failure, deadlock, lock timeout, statement timeout.
_BUSY_STATES = frozenset({"40001", "40P01", "55P03", "57014"})
# A unique key taken between this transaction's read and its write: every insert the store
# makes checks first or says ON CONFLICT, so only a concurrent writer gets here.
_RACE_STATES = frozenset({"23505"})


def _store_error(exc: BaseException) -> StoreError:
    state = getattr(exc, "sqlstate", None)
    if state in _BUSY_STATES:
        return StoreBusy("the database is busy (locked by another process); try again")
    if state in _RACE_STATES:
        return StoreBusy("another process changed the same record at the same time; try again")
    return StoreError(f"database error: {_reason(exc)}")
