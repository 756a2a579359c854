"""The replies the bot posted: ids, claim ids and verdicts shown (never text), for corrections."""

from __future__ import annotations

from collections.abc import Sequence

from bot.store.models import REPLY_STATES, Claim, ReplyRecord, ShownLink, reply_record, shown_json
from bot.store.sqlite.claims import ClaimsMixin

_COLUMNS = (
    "id, guild_id, channel_id, message_id, reply_id, style, shown, posted_at, state, corrected_at"
)


class RepliesMixin(ClaimsMixin):
    async def record_replies(self, records: Sequence[ReplyRecord]) -> None:
        """Remember replies posted (one transaction for a batch)."""
        if not records:
            return
        async with self._write() as db:
            for record in records:
                cur = await db.execute(
                    "INSERT INTO bot_replies (guild_id, channel_id, message_id, reply_id, style, "
                    "shown, posted_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        record.guild_id,
                        record.channel_id,
                        record.message_id,
                        record.reply_id,
                        record.style,
                        shown_json(record.links),
                        record.posted_at,
                    ),
                )
                await db.executemany(
                    "INSERT OR IGNORE INTO reply_claims (claim_id, reply) VALUES (?, ?)",
                    [(claim_id, cur.lastrowid) for claim_id in record.claim_ids],
                )

    async def replies_showing(self, claim_ids: Sequence[int], *, since: float) -> list[ReplyRecord]:
        """Live replies posted since ``since`` that showed any of the claims, oldest first."""
        if not claim_ids:
            return []
        marks = ",".join("?" * len(claim_ids))
        rows = await self._fetchall(
            f"SELECT {_COLUMNS} FROM bot_replies WHERE id IN "
            f"(SELECT reply FROM reply_claims WHERE claim_id IN ({marks})) "
            f"AND posted_at >= ? AND state = 'live' ORDER BY id",
            (*claim_ids, since),
        )
        return [reply_record(r) for r in rows]

    async def replies_to_message(
        self, message_id: int, *, guild_id: int | None
    ) -> list[ReplyRecord]:
        """The replies to one member's message in a server (the "Details" button, backfill)."""
        rows = await self._fetchall(
            f"SELECT {_COLUMNS} FROM bot_replies WHERE message_id = ? "
            f"AND ifnull(guild_id, 0) = ? ORDER BY id",
            (message_id, guild_id or 0),
        )
        return [reply_record(r) for r in rows]

    async def replied_keys(self, message_ids: Sequence[int]) -> set[tuple[int, str]]:
        """(message id, link key) pairs already answered, so nothing is replied twice."""
        found: set[tuple[int, str]] = set()
        for start in range(0, len(message_ids), 500):
            chunk = list(message_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for row in await self._fetchall(
                f"SELECT {_COLUMNS} FROM bot_replies WHERE message_id IN ({marks})", chunk
            ):
                record = reply_record(row)
                found.update((record.message_id, s.url_key) for s in record.links)
        return found

    async def mark_reply(
        self,
        reply: int,
        *,
        state: str | None = None,
        corrected_at: float | None = None,
        links: Sequence[ShownLink] | None = None,
    ) -> None:
        """After a correction: its time and what it shows now; or why it cannot be corrected."""
        assert state is None or state in REPLY_STATES
        async with self._write() as db:
            if state is not None:
                await db.execute("UPDATE bot_replies SET state = ? WHERE id = ?", (state, reply))
            if corrected_at is not None:
                await db.execute(
                    "UPDATE bot_replies SET corrected_at = ? WHERE id = ?", (corrected_at, reply)
                )
            if links is not None:
                await db.execute(
                    "UPDATE bot_replies SET shown = ? WHERE id = ?", (shown_json(links), reply)
                )

    async def forget_replies(self, *, before: float) -> int:
        """Delete reply records older than the corrections horizon."""
        async with self._write() as db:
            cur = await db.execute("DELETE FROM bot_replies WHERE posted_at < ?", (before,))
            return cur.rowcount

    async def claims_by_id(self, claim_ids: Sequence[int], *, guild_id: int | None) -> list[Claim]:
        """Claims visible to ``guild_id``, retired ones included (what a reply showed)."""
        if not claim_ids:
            return []
        marks = ",".join("?" * len(claim_ids))
        where = "(c.guild_id IS NULL OR c.guild_id = ?)" if guild_id else "c.guild_id IS NULL"
        params = (guild_id,) if guild_id else ()
        return await self._claims_where(f"c.id IN ({marks}) AND {where}", (*claim_ids, *params))
