"""Helpfulness votes on replies: one per member per reply, changeable; tallies per claim and
server; a claim flagged once per server when members find it not helpful."""

from __future__ import annotations

import time
from collections.abc import Sequence

import asyncpg

from bot.store.models import NotFound, VoteOutcome, VoteTally
from bot.store.postgres.audit import write_audit
from bot.store.postgres.connection import PostgresBase
from bot.store.validation import checked_guild

FLAG_ACTOR = "members"


class VotesMixin(PostgresBase):
    async def record_vote(
        self,
        guild_id: int,
        message_id: int,
        member_id: int,
        helpful: bool,
        *,
        flag_min_members: int,
    ) -> VoteOutcome:
        """Store a member's vote on the reply to ``message_id`` (replacing their earlier one).

        The claims the reply showed come from its reply record at the first vote. A claim whose
        "not helpful" votes come from at least ``flag_min_members`` members and are more than
        half of its votes is flagged (once per server; one audit row, action ``flag``).
        NotFound when the store knows no such reply in the server (or it is too old).
        """
        checked_guild(guild_id)
        clock = time.time()
        async with self._write() as db:
            # Votes on one reply are counted one transaction at a time, across processes: two
            # last votes must not both see "not yet past the threshold".
            await db.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended('votes', $1))", guild_id
            )
            claim_ids = await _vote_claims(db, guild_id, message_id)
            if not claim_ids:
                raise NotFound("This reply is too old to vote on.")
            before = await db.fetchval(
                "SELECT helpful FROM reply_votes WHERE guild_id = $1 AND message_id = $2 "
                "AND member_id = $3",
                guild_id,
                message_id,
                member_id,
            )
            if before is not None and bool(before) == helpful:
                return VoteOutcome(changed=False, claim_ids=claim_ids)
            await db.execute(
                "INSERT INTO reply_votes (guild_id, message_id, member_id, helpful, voted_at) "
                "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (guild_id, message_id, member_id) "
                "DO UPDATE SET helpful = EXCLUDED.helpful, voted_at = EXCLUDED.voted_at",
                guild_id,
                message_id,
                member_id,
                int(helpful),
                clock,
            )
            flagged = []
            for claim_id in claim_ids if not helpful else ():
                tally = await _tally(db, claim_id, guild_id)
                if tally.not_helpful_members < flag_min_members:
                    continue
                if tally.not_helpful * 2 <= tally.total:
                    continue
                status = await db.execute(
                    "INSERT INTO claim_flags (guild_id, claim_id, flagged_at) "
                    "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    guild_id,
                    claim_id,
                    clock,
                )
                if status.endswith(" 1"):
                    flagged.append(claim_id)
                    await write_audit(
                        db,
                        actor=FLAG_ACTOR,
                        guild_id=guild_id,
                        action="flag",
                        claim_id=claim_id,
                        after={
                            "helpful": tally.helpful,
                            "not_helpful": tally.not_helpful,
                            "not_helpful_members": tally.not_helpful_members,
                        },
                    )
            return VoteOutcome(changed=True, claim_ids=claim_ids, flagged=tuple(flagged))

    async def vote_tally(self, claim_id: int, *, guild_id: int | None) -> VoteTally:
        """A claim's votes in one server (``None``: summed over every server, for operators)."""
        if guild_id is None:
            rows = await self._fetch(_TALLY_SQL.format(where="vc.claim_id = $1"), claim_id)
        else:
            checked_guild(guild_id)
            rows = await self._fetch(
                _TALLY_SQL.format(where="vc.claim_id = $1 AND vc.guild_id = $2"),
                claim_id,
                guild_id,
            )
        return _tally_of(rows[0])


_TALLY_SQL = (
    "SELECT coalesce(sum(v.helpful), 0), coalesce(sum(1 - v.helpful), 0), "
    "count(DISTINCT CASE WHEN v.helpful = 0 THEN v.guild_id::text || ':' || v.member_id::text "
    "END) "
    "FROM vote_claims vc JOIN reply_votes v "
    "ON v.guild_id = vc.guild_id AND v.message_id = vc.message_id WHERE {where}"
)


def _tally_of(row: Sequence[int]) -> VoteTally:
    return VoteTally(helpful=int(row[0]), not_helpful=int(row[1]), not_helpful_members=int(row[2]))


async def _tally(db: asyncpg.Connection, claim_id: int, guild_id: int) -> VoteTally:
    row = await db.fetchrow(
        _TALLY_SQL.format(where="vc.claim_id = $1 AND vc.guild_id = $2"), claim_id, guild_id
    )
    assert row is not None
    return _tally_of(row)


async def _vote_claims(db: asyncpg.Connection, guild_id: int, message_id: int) -> tuple[int, ...]:
    """The claims the reply to ``message_id`` showed, copied from its record at the first vote."""
    found = tuple(
        int(r[0])
        for r in await db.fetch(
            "SELECT claim_id FROM vote_claims WHERE guild_id = $1 AND message_id = $2 "
            "ORDER BY claim_id",
            guild_id,
            message_id,
        )
    )
    if found:
        return found
    found = tuple(
        int(r[0])
        for r in await db.fetch(
            "SELECT DISTINCT rc.claim_id FROM reply_claims rc "
            "JOIN bot_replies r ON r.id = rc.reply "
            "WHERE r.message_id = $1 AND r.guild_id = $2 AND r.style IN ('full', 'compact') "
            "ORDER BY rc.claim_id",
            message_id,
            guild_id,
        )
    )
    if found:
        await db.executemany(
            "INSERT INTO vote_claims (guild_id, claim_id, message_id) VALUES ($1, $2, $3) "
            "ON CONFLICT DO NOTHING",
            [(guild_id, claim_id, message_id) for claim_id in found],
        )
    return found
