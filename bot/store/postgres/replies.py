"""The replies the bot posted: ids, claim ids and verdicts shown (never text), for corrections."""

from __future__ import annotations

from collections.abc import Sequence

from bot.store.models import REPLY_STATES, Claim, ReplyRecord, ShownLink, reply_record, shown_json
from bot.store.postgres.claims import ClaimsMixin
from bot.store.postgres.seen import _row_count

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
                reply = await db.fetchval(
                    "INSERT INTO bot_replies (guild_id, channel_id, message_id, reply_id, style, "
                    "shown, posted_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                    record.guild_id,
                    record.channel_id,
                    record.message_id,
                    record.reply_id,
                    record.style,
                    shown_json(record.links),
                    float(record.posted_at),
                )
                rows = [(claim_id, reply) for claim_id in record.claim_ids]
                if rows:
                    await db.executemany(
                        "INSERT INTO reply_claims (claim_id, reply) VALUES ($1, $2) "
                        "ON CONFLICT DO NOTHING",
                        rows,
                    )

    async def replies_showing(self, claim_ids: Sequence[int], *, since: float) -> list[ReplyRecord]:
        """Live replies posted since ``since`` that showed any of the claims, oldest first."""
        if not claim_ids:
            return []
        rows = await self._fetch(
            f"SELECT {_COLUMNS} FROM bot_replies WHERE id IN "
            f"(SELECT reply FROM reply_claims WHERE claim_id = ANY($1::bigint[])) "
            f"AND posted_at >= $2 AND state = 'live' ORDER BY id",
            list(claim_ids),
            float(since),
        )
        return [reply_record(r) for r in rows]

    async def replies_to_message(
        self, message_id: int, *, guild_id: int | None
    ) -> list[ReplyRecord]:
        """The replies to one member's message in a server (the "Details" button, backfill)."""
        rows = await self._fetch(
            f"SELECT {_COLUMNS} FROM bot_replies WHERE message_id = $1 "
            f"AND coalesce(guild_id, 0) = $2 ORDER BY id",
            message_id,
            guild_id or 0,
        )
        return [reply_record(r) for r in rows]

    async def replied_keys(self, message_ids: Sequence[int]) -> set[tuple[int, str]]:
        """(message id, link key) pairs already answered, so nothing is replied twice."""
        if not message_ids:
            return set()
        found: set[tuple[int, str]] = set()
        for row in await self._fetch(
            f"SELECT {_COLUMNS} FROM bot_replies WHERE message_id = ANY($1::bigint[])",
            list(message_ids),
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
                await db.execute("UPDATE bot_replies SET state = $1 WHERE id = $2", state, reply)
            if corrected_at is not None:
                await db.execute(
                    "UPDATE bot_replies SET corrected_at = $1 WHERE id = $2",
                    float(corrected_at),
                    reply,
                )
            if links is not None:
                await db.execute(
                    "UPDATE bot_replies SET shown = $1 WHERE id = $2", shown_json(links), reply
                )

    async def forget_replies(self, *, before: float) -> int:
        """Delete reply records older than the corrections horizon."""
        async with self._write() as db:
            status = await db.execute("DELETE FROM bot_replies WHERE posted_at < $1", float(before))
        return _row_count(status)

    async def claims_by_id(self, claim_ids: Sequence[int], *, guild_id: int | None) -> list[Claim]:
        """Claims visible to ``guild_id``, retired ones included (what a reply showed)."""
        if not claim_ids:
            return []
        if guild_id:
            return await self._claims_where(
                "c.id = ANY($1::bigint[]) AND (c.guild_id IS NULL OR c.guild_id = $2)",
                list(claim_ids),
                guild_id,
            )
        return await self._claims_where(
            "c.id = ANY($1::bigint[]) AND c.guild_id IS NULL", list(claim_ids)
        )
