"""Fact-check requests from members: the queue, who asked (ids and a count), and closing."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import asyncpg

from bot.store.models import CheckRequest, ClosedRequest, NotFound, RequestItem, RequestLimit
from bot.store.postgres.connection import PostgresBase
from bot.store.postgres.seen import _row_count
from bot.store.validation import checked_guild

_COLUMNS = (
    "r.id, r.guild_id, r.kind, r.key, r.url, r.channel_id, r.message_id, r.asked_at, "
    "(SELECT count(*) FROM request_askers a WHERE a.request = r.id), r.state, r.claim_id, "
    "r.closed_at"
)
_ORDER = "ORDER BY 9 DESC, r.asked_at, r.id"  # most asked, then oldest


def _request(row: Any) -> CheckRequest:
    return CheckRequest(*row)


class RequestsMixin(PostgresBase):
    async def file_requests(
        self,
        guild_id: int,
        items: Sequence[RequestItem],
        *,
        member_id: int,
        channel_id: int,
        message_id: int,
        per_hour: int,
        now: float | None = None,
    ) -> list[CheckRequest]:
        """File ``items`` into the server's queue, deduplicated by key; one ask per member each.

        RequestLimit (nothing filed) when the member already asked ``per_hour`` times this hour.
        """
        checked_guild(guild_id)
        clock = time.time() if now is None else float(now)
        async with self._write() as db:
            # One member's asks are counted and filed one transaction at a time, across
            # processes; and one open request per key (two first asks: one request).
            await db.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended('requests', $1))", guild_id
            )
            asked = await db.fetchval(
                "SELECT count(*) FROM request_askers a JOIN check_requests r ON r.id = a.request "
                "WHERE r.guild_id = $1 AND a.member_id = $2 AND a.asked_at > $3",
                guild_id,
                member_id,
                clock - 3600,
            )
            if asked >= per_hour:
                raise RequestLimit(
                    f"You have asked for {per_hour} checks in the last hour; try again later."
                )
            ids = []
            for item in items:
                request_id = await _open_request_id(db, guild_id, item.key)
                if request_id is None:
                    request_id = await db.fetchval(
                        "INSERT INTO check_requests (guild_id, kind, key, url, channel_id, "
                        "message_id, asked_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                        guild_id,
                        item.kind,
                        item.key,
                        item.url,
                        channel_id,
                        message_id,
                        clock,
                    )
                await db.execute(
                    "INSERT INTO request_askers (request, member_id, asked_at) "
                    "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    request_id,
                    member_id,
                    clock,
                )
                ids.append(request_id)
            rows = await db.fetch(
                f"SELECT {_COLUMNS} FROM check_requests r WHERE r.id = ANY($1::bigint[]) {_ORDER}",
                ids,
            )
            return [_request(r) for r in rows]

    async def open_requests(
        self, guild_id: int, *, limit: int = 1000, offset: int = 0
    ) -> list[CheckRequest]:
        """A server's open requests, most asked first, then oldest first."""
        checked_guild(guild_id)
        rows = await self._fetch(
            f"SELECT {_COLUMNS} FROM check_requests r WHERE r.guild_id = $1 "
            f"AND r.state = 'open' {_ORDER} LIMIT $2 OFFSET $3",
            guild_id,
            limit,
            offset,
        )
        return [_request(r) for r in rows]

    async def count_open_requests(self, guild_id: int) -> int:
        rows = await self._fetch(
            "SELECT count(*) FROM check_requests WHERE guild_id = $1 AND state = 'open'",
            guild_id,
        )
        return int(rows[0][0])

    async def close_request(
        self,
        request_id: int,
        *,
        guild_id: int,
        claim_id: int | None = None,
        now: float | None = None,
    ) -> ClosedRequest:
        """A moderator's choice from the queue: this request is answered (by ``claim_id``)."""
        checked_guild(guild_id)
        async with self._write() as db:
            found = await db.fetchval(
                "SELECT 1 FROM check_requests WHERE id = $1 AND guild_id = $2 "
                "AND state = 'open' FOR UPDATE",
                request_id,
                guild_id,
            )
            if found is None:
                raise NotFound(f"no open request #{request_id}")
            if claim_id is not None:
                found = await db.fetchval(
                    "SELECT 1 FROM claims WHERE id = $1 AND (guild_id IS NULL OR guild_id = $2)",
                    claim_id,
                    guild_id,
                )
                if found is None:
                    raise NotFound(f"no claim #{claim_id}")
            (closed,) = await _close(db, [(request_id, claim_id)], now)
            return closed

    async def close_covered_requests(
        self, claim_ids: Sequence[int] | None, *, now: float | None = None
    ) -> list[ClosedRequest]:
        """Close the open link requests the claims now cover (a server's claim: in that server;
        a global one: everywhere). ``None``: any active claim (what changed while the bot was
        offline)."""
        if claim_ids is not None and not claim_ids:
            return []
        which = "" if claim_ids is None else "AND c.id = ANY($1::bigint[])"
        async with self._write() as db:
            rows = await db.fetch(
                f"SELECT r.id, min(c.id) FROM check_requests r "
                f"JOIN claim_urls u ON u.url_key = r.key JOIN claims c ON c.id = u.claim_id "
                f"WHERE r.state = 'open' AND r.kind = 'url' AND c.active {which} "
                f"AND (c.guild_id IS NULL OR c.guild_id = r.guild_id) "
                f"GROUP BY r.id ORDER BY r.id",
                *(() if claim_ids is None else (list(claim_ids),)),
            )
            pairs = [(int(r[0]), int(r[1])) for r in rows]
            if not pairs:
                return []
            return await _close(db, pairs, now)

    async def set_notify(self, guild_id: int, member_id: int, on: bool) -> None:
        """``/notify on|off``: a DM when one of the member's requests in the server is answered."""
        checked_guild(guild_id)
        async with self._write() as db:
            if on:
                await db.execute(
                    "INSERT INTO notify_members (guild_id, member_id, since) "
                    "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    guild_id,
                    member_id,
                    time.time(),
                )
            else:
                await db.execute(
                    "DELETE FROM notify_members WHERE guild_id = $1 AND member_id = $2",
                    guild_id,
                    member_id,
                )

    async def forget_closed_requests(self, *, before: float) -> int:
        """Delete requests closed before ``before`` (with who asked): their job is done."""
        async with self._write() as db:
            status = await db.execute(
                "DELETE FROM check_requests WHERE state = 'closed' AND closed_at < $1",
                float(before),
            )
        return _row_count(status)

    async def take_unlogged_requests(
        self, *, shards: tuple[Sequence[int], int] | None = None
    ) -> list[CheckRequest]:
        """New open requests not yet posted to a mod log (at most 500, oldest first), marked
        logged in the same transaction: of several processes polling, exactly one takes (and
        posts) each request; with ``shards`` (ids, count), only those of servers on these
        shards."""
        ids_, count = shards if shards is not None else (None, 1)
        async with self._write() as db:
            taken = await db.fetch(
                "SELECT id FROM check_requests WHERE NOT logged AND state = 'open' "
                "AND ($1::int[] IS NULL OR ((guild_id >> 22) % $2) = ANY($1::int[])) "
                "ORDER BY id LIMIT 500 FOR UPDATE SKIP LOCKED",
                None if ids_ is None else list(ids_),
                count,
            )
            ids = [r[0] for r in taken]
            if not ids:
                return []
            await db.execute(
                "UPDATE check_requests SET logged = TRUE WHERE id = ANY($1::bigint[])", ids
            )
            rows = await db.fetch(
                f"SELECT {_COLUMNS} FROM check_requests r WHERE r.id = ANY($1::bigint[]) "
                "ORDER BY r.id",
                ids,
            )
        return [_request(r) for r in rows]


async def _open_request_id(db: asyncpg.Connection, guild_id: int, key: str) -> int | None:
    found = await db.fetchval(
        "SELECT id FROM check_requests WHERE guild_id = $1 AND key = $2 AND state = 'open'",
        guild_id,
        key,
    )
    return None if found is None else int(found)


async def _close(
    db: asyncpg.Connection, pairs: Sequence[tuple[int, int | None]], now: float | None
) -> list[ClosedRequest]:
    clock = time.time() if now is None else float(now)
    closed = []
    for request_id, claim_id in pairs:
        await db.execute(
            "UPDATE check_requests SET state = 'closed', closed_at = $1, claim_id = $2 "
            "WHERE id = $3",
            clock,
            claim_id,
            request_id,
        )
        row = await db.fetchrow(
            f"SELECT {_COLUMNS} FROM check_requests r WHERE r.id = $1", request_id
        )
        request = _request(row)
        # Only members who opted in, in this server: nobody else is ever sent a DM.
        rows = await db.fetch(
            "SELECT a.member_id FROM request_askers a JOIN notify_members n "
            "ON n.member_id = a.member_id AND n.guild_id = $1 WHERE a.request = $2 "
            "ORDER BY a.member_id",
            request.guild_id,
            request_id,
        )
        closed.append(ClosedRequest(request, tuple(int(r[0]) for r in rows)))
    return closed
