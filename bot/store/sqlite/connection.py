"""The SQLite engine's connections: open, migrate, one write transaction at a time, reads.

Writes go through one connection, one transaction each (``BEGIN IMMEDIATE`` under an asyncio lock,
so one coroutine never commits another's half-done work). Reads go through a second connection,
which in WAL mode sees only committed data.

A third, plain ``sqlite3`` connection serves point reads (a posted link's URL lookup) on the
event loop's own thread: such a read takes 5-40 us, while each hand-off to aiosqlite's thread and
back costs 30-100 us of thread wake-ups (measured: README "Speed"). In WAL mode a reader never
waits for a writer, so these reads do not hold up the loop.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any, Self

import aiosqlite

from bot.store.models import StoreBusy, StoreError
from bot.store.validation import checked_guild

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000

CLAIM_COLUMNS = (
    "c.id, c.guild_id, c.claim, c.verdict, c.note, c.rating_label, c.context, c.external_id, "
    "c.created_by, c.created_at, c.updated_by, c.updated_at, c.active, c.claimant, "
    "c.claim_date"
)


def scope_sql(guild_id: int | None) -> tuple[str, tuple[Any, ...]]:
    """WHERE fragment for records a guild may see: its own plus global."""
    if checked_guild(guild_id) is None:
        return "c.guild_id IS NULL", ()
    return "(c.guild_id IS NULL OR c.guild_id = ?)", (guild_id,)


def _migrations() -> list[tuple[int, str]]:
    found = []
    for entry in resources.files("bot").joinpath("migrations").iterdir():
        name = entry.name
        if name.startswith("V") and name.endswith(".sql"):
            found.append((int(name[1:].split("__", 1)[0]), entry.read_text(encoding="utf-8")))
    return sorted(found)


def _default_index_terms(text: str) -> str:
    return text.casefold()


class SQLiteBase:
    """Connections and transactions; the concerns (claims, sources, pages, ...) build on it."""

    def __init__(
        self,
        writer: aiosqlite.Connection,
        reader: aiosqlite.Connection,
        point: sqlite3.Connection,
        path: str,
    ):
        self._db = writer
        self._read = reader
        self._point = point
        self._lock = asyncio.Lock()
        self.path = path
        self._index_terms: Callable[[str], str] = _default_index_terms

    # --- lifecycle --------------------------------------------------------------------------

    @classmethod
    async def open(
        cls, path: str | Path, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS, create: bool = True
    ) -> Self:
        """Open the store at ``path``.

        ``create``: a missing (or empty) file becomes a new store and an older store is
        migrated. Without it, only an up-to-date factbot store opens. Either way, a file that
        is not a factbot store is refused untouched (no tables, no switch to WAL).
        """
        path = str(path)
        if not path.strip():
            raise StoreError("the store path is empty")
        if path == ":memory:" or path.startswith("file:"):
            # Two connections must see one database: only a file will do.
            raise StoreError("the store must be a file path")
        parent = Path(path).parent
        if not parent.is_dir():
            raise StoreError(f"cannot open {path}: folder {parent} does not exist")
        if Path(path).is_dir():
            raise StoreError(f"cannot open {path}: it is a folder, not a file")
        await asyncio.to_thread(_check_before_open, path, create)
        try:
            writer = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open {path}: {exc}") from None
        reader: aiosqlite.Connection | None = None
        point: sqlite3.Connection | None = None
        try:
            await _configure(writer, busy_timeout_ms)
            await _migrate(writer)
            reader = await aiosqlite.connect(path, isolation_level=None)
            await _configure(reader, busy_timeout_ms)
            await reader.execute("PRAGMA query_only = ON")
            point = sqlite3.connect(path, isolation_level=None)
            point.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            point.execute("PRAGMA query_only = ON")
            store = cls(writer, reader, point, path)
            await store._after_open()
        except BaseException as exc:
            # Never leave a connection's thread behind: it would keep the process alive.
            if point is not None:
                point.close()
            if reader is not None:
                await reader.close()
            await writer.close()
            if isinstance(exc, sqlite3.Error):
                raise _store_error(exc, path) from None
            raise
        return store

    async def close(self) -> None:
        self._point.close()
        await self._read.close()
        await self._db.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _after_open(self) -> None:
        """Start-up work of the concerns (re-keying URLs); run once by :meth:`open`."""

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._lock:
            try:
                await self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise _store_error(exc, self.path) from None
            try:
                yield self._db
            except sqlite3.Error as exc:
                await self._rollback()
                raise _store_error(exc, self.path) from None
            except BaseException:
                await self._rollback()
                raise
            try:
                await self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                await self._rollback()
                raise _store_error(exc, self.path) from None

    async def _rollback(self) -> None:
        if self._db.in_transaction:
            await self._db.execute("ROLLBACK")

    async def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        try:
            # One hand-off to aiosqlite's thread, not three (execute, fetchall, close): at
            # ~100 us a hop, they were most of a URL lookup's cost.
            return list(await self._read.execute_fetchall(sql, params))
        except sqlite3.Error as exc:
            raise _store_error(exc, self.path) from None

    def _fetchall_now(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """``_fetchall`` for a point read, on this thread (no hand-off)."""
        try:
            return self._point.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise _store_error(exc, self.path) from None


_FACTBOT_TABLES = frozenset({"claims", "claim_urls", "audit_log"})


def _check_before_open(path: str, create: bool) -> None:
    """Refuse, changing nothing, what ``open`` must not turn into (or use as) a store."""
    file = Path(path)
    if file.exists() and not file.is_file():
        raise StoreError(f"cannot open {path}: not a regular file")
    if not file.exists() or file.stat().st_size == 0:
        if create:
            return
        raise StoreError(f"no store at {path}")
    latest = _migrations()[-1][0]
    try:
        # Read-only: probing another application's database must not change a byte of it.
        probe = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
        try:
            version = int(probe.execute("PRAGMA user_version").fetchone()[0])
            tables = {
                row[0] for row in probe.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
        finally:
            probe.close()
    except sqlite3.Error as exc:
        if "not a database" in str(exc):
            raise StoreError(f"{path} is not a factbot database") from None
        raise StoreError(f"cannot open {path}: {exc}") from None
    if version > latest:
        raise StoreError(
            f"the database is at schema version {version}, newer than this factbot ({latest})"
        )
    if version == 0 and not tables and create:
        return  # an empty SQLite file: as good as a new one
    if version == 0 or not tables.issuperset(_FACTBOT_TABLES):
        raise StoreError(f"{path} is not a factbot database")
    if version < latest and not create:
        raise StoreError(
            f"the store at {path} is at schema version {version}; a command that writes to it "
            f"(factbot run, import, claims add) upgrades it to {latest}"
        )


async def _configure(db: aiosqlite.Connection, busy_timeout_ms: int) -> None:
    await db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    await db.execute("PRAGMA foreign_keys = ON")
    # FULL: a write the bot has acknowledged survives a power cut, not only a crash.
    await db.execute("PRAGMA synchronous = FULL")


async def _migrate(db: aiosqlite.Connection) -> None:
    async with db.execute("PRAGMA user_version") as cur:
        row = await cur.fetchone()
    current = int(row[0]) if row else 0
    migrations = _migrations()
    latest = migrations[-1][0] if migrations else 0
    if current > latest:
        raise StoreError(
            f"the database is at schema version {current}, newer than this factbot ({latest})"
        )
    async with db.execute("PRAGMA journal_mode = WAL") as cur:
        await cur.fetchone()
    for version, sql in migrations:
        if version <= current:
            continue
        log.info("applying store migration V%d", version)
        # executescript commits any open transaction first, so the script carries its own.
        try:
            await db.executescript(
                f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;"
            )
        except sqlite3.Error:
            if db.in_transaction:
                await db.execute("ROLLBACK")
            raise


def _store_error(exc: sqlite3.Error, path: str) -> StoreError:
    message = str(exc)
    if "locked" in message:  # SQLITE_BUSY ("database is locked") and SQLITE_LOCKED
        return StoreBusy("the database is busy (locked by another process); try again")
    if isinstance(exc, sqlite3.DatabaseError) and "not a database" in message:
        return StoreError(f"{path} is not a factbot database")
    return StoreError(f"database error: {message}")
