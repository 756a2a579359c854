"""Answering once across processes: the repeat window, the page-fetch turn, the fetch limit.

Several processes share one database, and one message can reach two of them (a resumed shard,
a mis-split, a failover): what each keeps in memory is not enough. The repeat window is a row
each answer claims (the unique key makes the claim atomic), a page fetch waits its turn on an
advisory lock named after the page, and a member's fetches are counted in a table.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from bot.store.postgres.connection import DATABASE_ERRORS, PostgresBase, _store_error

#: Forget claims on the repeat window this often (in claims made by this process).
_PRUNE_EVERY = 1000


class OnceMixin(PostgresBase):
    def __init__(self, pool: asyncpg.Pool, url: str) -> None:
        super().__init__(pool, url)
        # A fetch turn holds a pooled connection while the page is read: at most half the pool,
        # so lookups and the cache write itself always find one.
        self._fetch_turns = asyncio.Semaphore(max(1, pool.get_max_size() // 2))
        self._claims_made = 0

    async def claim_first_reply(
        self, channel_id: int, url_key: str, *, window_s: float, now: float | None = None
    ) -> bool:
        """True for exactly one caller, across processes, per link and channel a window."""
        now = time.time() if now is None else float(now)
        self._claims_made += 1
        async with self._write() as db:
            won = await db.fetchval(
                "INSERT INTO reply_window (channel_id, url_key, claimed_at) VALUES ($1, $2, $3) "
                "ON CONFLICT (channel_id, url_key) DO UPDATE SET claimed_at = EXCLUDED.claimed_at "
                "WHERE reply_window.claimed_at <= $4 RETURNING true",
                channel_id,
                url_key,
                now,
                now - window_s,
            )
            if self._claims_made % _PRUNE_EVERY == 0:
                await db.execute("DELETE FROM reply_window WHERE claimed_at <= $1", now - window_s)
                await db.execute("DELETE FROM member_fetches WHERE fetched_at <= $1", now - 60)
        return bool(won)

    async def release_first_reply(self, channel_id: int, url_key: str) -> None:
        """A claimed answer that could not be posted: the next post of the link may claim it."""
        async with self._write() as db:
            await db.execute(
                "DELETE FROM reply_window WHERE channel_id = $1 AND url_key = $2",
                channel_id,
                url_key,
            )

    @asynccontextmanager
    async def page_fetch_turn(self, url_key: str) -> AsyncIterator[bool]:
        """Wait until no other process is reading ``url_key``; True: look in the cache again."""
        name = f"factbot:page:{url_key}"
        async with self._fetch_turns:
            try:
                async with self._pool.acquire() as conn:
                    # A session lock: the connection going away (a crash) releases it too.
                    await conn.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", name)
                    try:
                        yield True
                    finally:
                        await conn.execute(
                            "SELECT pg_advisory_unlock(hashtextextended($1, 0))", name
                        )
            except DATABASE_ERRORS as exc:
                raise _store_error(exc) from None

    async def allow_member_fetch(
        self, member_id: int, *, per_minute: int, now: float | None = None
    ) -> bool:
        """At most ``per_minute`` fetches a member in any sliding minute, across processes."""
        now = time.time() if now is None else float(now)
        async with self._write() as db:
            # One member's checks queue here; everyone else's pass.
            await db.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                f"factbot:member:{member_id}",
            )
            await db.execute(
                "DELETE FROM member_fetches WHERE member_id = $1 AND fetched_at <= $2",
                member_id,
                now - 60,
            )
            recent = await db.fetchval(
                "SELECT count(*) FROM member_fetches WHERE member_id = $1", member_id
            )
            if recent >= per_minute:
                return False
            await db.execute(
                "INSERT INTO member_fetches (member_id, fetched_at) VALUES ($1, $2)",
                member_id,
                now,
            )
        return True
