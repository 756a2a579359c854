"""Fact-check requests from members: the queue, who asked (ids and a count), and closing."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import aiosqlite

from bot.store.models import CheckRequest, ClosedRequest, NotFound, RequestItem, RequestLimit
from bot.store.sqlite.connection import SQLiteBase
from bot.store.validation import checked_guild

_COLUMNS = (
    "r.id, r.guild_id, r.kind, r.key, r.url, r.channel_id, r.message_id, r.asked_at, "
    "(SELECT count(*) FROM request_askers a WHERE a.request = r.id), r.state, r.claim_id, "
    "r.closed_at"
)
_ORDER = "ORDER BY 9 DESC, r.asked_at, r.id"  # most asked, then oldest


def _request(row: Any) -> CheckRequest:
    return CheckRequest(*row)


class RequestsMixin(SQLiteBase):
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
        clock = time.time() if now is None else now
        async with self._write() as db:
            async with db.execute(
                "SELECT count(*) FROM request_askers a JOIN check_requests r ON r.id = a.request "
                "WHERE r.guild_id = ? AND a.member_id = ? AND a.asked_at > ?",
                (guild_id, member_id, clock - 3600),
            ) as cur:
                row = await cur.fetchone()
            if row is not None and row[0] >= per_hour:
                raise RequestLimit(
                    f"You have asked for {per_hour} checks in the last hour; try again later."
                )
            ids = []
            for item in items:
                request_id = await _open_request_id(db, guild_id, item.key)
                if request_id is None:
                    cur = await db.execute(
                        "INSERT INTO check_requests (guild_id, kind, key, url, channel_id, "
                        "message_id, asked_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (guild_id, item.kind, item.key, item.url, channel_id, message_id, clock),
                    )
                    request_id = cur.lastrowid
                await db.execute(
                    "INSERT OR IGNORE INTO request_askers (request, member_id, asked_at) "
                    "VALUES (?, ?, ?)",
                    (request_id, member_id, clock),
                )
                ids.append(request_id)
            marks = ",".join("?" * len(ids))
            async with db.execute(
                f"SELECT {_COLUMNS} FROM check_requests r WHERE r.id IN ({marks}) {_ORDER}", ids
            ) as cur:
                return [_request(r) for r in await cur.fetchall()]

    async def open_requests(
        self, guild_id: int, *, limit: int = 1000, offset: int = 0
    ) -> list[CheckRequest]:
        """A server's open requests, most asked first, then oldest first."""
        checked_guild(guild_id)
        rows = await self._fetchall(
            f"SELECT {_COLUMNS} FROM check_requests r WHERE r.guild_id = ? AND r.state = 'open' "
            f"{_ORDER} LIMIT ? OFFSET ?",
            (guild_id, limit, offset),
        )
        return [_request(r) for r in rows]

    async def count_open_requests(self, guild_id: int) -> int:
        rows = await self._fetchall(
            "SELECT count(*) FROM check_requests WHERE guild_id = ? AND state = 'open'",
            (guild_id,),
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
            async with db.execute(
                "SELECT 1 FROM check_requests WHERE id = ? AND guild_id = ? AND state = 'open'",
                (request_id, guild_id),
            ) as cur:
                if await cur.fetchone() is None:
                    raise NotFound(f"no open request #{request_id}")
            if claim_id is not None:
                async with db.execute(
                    "SELECT 1 FROM claims WHERE id = ? AND (guild_id IS NULL OR guild_id = ?)",
                    (claim_id, guild_id),
                ) as cur:
                    if await cur.fetchone() is None:
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
        which = "" if claim_ids is None else f"AND c.id IN ({','.join('?' * len(claim_ids))})"
        async with self._write() as db:
            async with db.execute(
                f"SELECT r.id, min(c.id) FROM check_requests r "
                f"JOIN claim_urls u ON u.url_key = r.key JOIN claims c ON c.id = u.claim_id "
                f"WHERE r.state = 'open' AND r.kind = 'url' AND c.active = 1 {which} "
                f"AND (c.guild_id IS NULL OR c.guild_id = r.guild_id) "
                f"GROUP BY r.id ORDER BY r.id",
                list(claim_ids or ()),
            ) as cur:
                pairs = [(int(r[0]), int(r[1])) for r in await cur.fetchall()]
            if not pairs:
                return []
            return await _close(db, pairs, now)

    async def set_notify(self, guild_id: int, member_id: int, on: bool) -> None:
        """``/notify on|off``: a DM when one of the member's requests in the server is answered."""
        checked_guild(guild_id)
        async with self._write() as db:
            if on:
                await db.execute(
                    "INSERT OR IGNORE INTO notify_members (guild_id, member_id, since) "
                    "VALUES (?, ?, ?)",
                    (guild_id, member_id, time.time()),
                )
            else:
                await db.execute(
                    "DELETE FROM notify_members WHERE guild_id = ? AND member_id = ?",
                    (guild_id, member_id),
                )

    async def forget_closed_requests(self, *, before: float) -> int:
        """Delete requests closed before ``before`` (with who asked): their job is done."""
        async with self._write() as db:
            cur = await db.execute(
                "DELETE FROM check_requests WHERE state = 'closed' AND closed_at < ?", (before,)
            )
            return cur.rowcount

    async def take_unlogged_requests(
        self, *, shards: tuple[Sequence[int], int] | None = None
    ) -> list[CheckRequest]:
        """New open requests not yet posted to a mod log (at most 500, oldest first), marked
        logged in the same transaction; with ``shards`` (ids, count), only those of servers on
        these shards."""
        where = ""
        params: tuple[int, ...] = ()
        if shards is not None:
            ids, count = shards
            marks = ",".join("?" * len(ids))
            where, params = f"AND ((r.guild_id >> 22) % ?) IN ({marks}) ", (count, *ids)
        async with self._write() as db:
            async with db.execute(
                f"SELECT {_COLUMNS} FROM check_requests r WHERE r.logged = 0 "
                f"AND r.state = 'open' {where}ORDER BY r.id LIMIT 500",
                params,
            ) as cur:
                rows = list(await cur.fetchall())
            if rows:
                marks = ",".join("?" * len(rows))
                await db.execute(
                    f"UPDATE check_requests SET logged = 1 WHERE id IN ({marks})",
                    [r[0] for r in rows],
                )
        return [_request(r) for r in rows]


async def _open_request_id(db: aiosqlite.Connection, guild_id: int, key: str) -> int | None:
    async with db.execute(
        "SELECT id FROM check_requests WHERE guild_id = ? AND key = ? AND state = 'open'",
        (guild_id, key),
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else int(row[0])


async def _close(
    db: aiosqlite.Connection, pairs: Sequence[tuple[int, int | None]], now: float | None
) -> list[ClosedRequest]:
    clock = time.time() if now is None else now
    closed = []
    for request_id, claim_id in pairs:
        await db.execute(
            "UPDATE check_requests SET state = 'closed', closed_at = ?, claim_id = ? WHERE id = ?",
            (clock, claim_id, request_id),
        )
        async with db.execute(
            f"SELECT {_COLUMNS} FROM check_requests r WHERE r.id = ?", (request_id,)
        ) as cur:
            request = _request(await cur.fetchone())
        # Only members who opted in, in this server: nobody else is ever sent a DM.
        async with db.execute(
            "SELECT a.member_id FROM request_askers a JOIN notify_members n "
            "ON n.member_id = a.member_id AND n.guild_id = ? WHERE a.request = ? "
            "ORDER BY a.member_id",
            (request.guild_id, request_id),
        ) as cur:
            notify = tuple(int(r[0]) for r in await cur.fetchall())
        closed.append(ClosedRequest(request, notify))
    return closed
