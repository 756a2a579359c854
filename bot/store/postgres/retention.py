"""Data that leaves with a server: deletion scheduled when the bot leaves, and ``forget``."""

from __future__ import annotations

import logging
import time

from bot.store.postgres.audit import write_audit
from bot.store.postgres.search import SearchMixin
from bot.store.postgres.seen import _row_count
from bot.store.validation import checked_guild

log = logging.getLogger(__name__)

# Every per-server row kind, as (what forget reports, the DELETE), after the claims' search
# rows (forget_guild drops them first, postings included). Order matters: the audit log last
# but one (its trigger checks the erasure mark).
_FORGET: tuple[tuple[str, str], ...] = (
    ("claims", "DELETE FROM claims WHERE guild_id = $1"),  # URLs, sources, vectors: cascade
    ("source_notes", "DELETE FROM source_notes WHERE guild_id = $1"),
    ("settings", "DELETE FROM guild_settings WHERE guild_id = $1"),
    ("reply_records", "DELETE FROM bot_replies WHERE guild_id = $1"),  # reply_claims: cascade
    ("seen_links", "DELETE FROM seen_links WHERE guild_id = $1"),
    ("requests", "DELETE FROM check_requests WHERE guild_id = $1"),  # askers: cascade
    ("notify_opt_ins", "DELETE FROM notify_members WHERE guild_id = $1"),
    ("votes", "DELETE FROM reply_votes WHERE guild_id = $1"),
    ("vote_claims", "DELETE FROM vote_claims WHERE guild_id = $1"),
    ("flags", "DELETE FROM claim_flags WHERE guild_id = $1"),
    ("audit_rows", "DELETE FROM audit_log WHERE guild_id = $1"),
    ("departure", "DELETE FROM guild_departures WHERE guild_id = $1"),
)


class RetentionMixin(SearchMixin):
    async def schedule_forget(
        self, guild_id: int, *, grace_s: float, now: float | None = None
    ) -> float:
        """The bot left ``guild_id``: its rows go at the returned time unless it comes back."""
        checked_guild(guild_id)
        clock = time.time() if now is None else float(now)
        async with self._write() as db:
            await db.execute(
                "INSERT INTO guild_departures (guild_id, left_at, delete_at) VALUES ($1, $2, $3) "
                "ON CONFLICT (guild_id) DO UPDATE SET left_at = EXCLUDED.left_at, "
                "delete_at = EXCLUDED.delete_at",
                guild_id,
                clock,
                clock + grace_s,
            )
        return clock + grace_s

    async def cancel_forget(self, guild_id: int) -> bool:
        """The bot is back in ``guild_id``: keep its rows. False when nothing was scheduled."""
        checked_guild(guild_id)
        async with self._write() as db:
            status = await db.execute("DELETE FROM guild_departures WHERE guild_id = $1", guild_id)
        return bool(_row_count(status))

    async def scheduled_forgets(self) -> dict[int, float]:
        """Servers the bot left, with when their rows are deleted."""
        rows = await self._fetch("SELECT guild_id, delete_at FROM guild_departures")
        return {int(r[0]): float(r[1]) for r in rows}

    async def due_forgets(self, *, now: float | None = None) -> list[int]:
        clock = time.time() if now is None else float(now)
        rows = await self._fetch(
            "SELECT guild_id FROM guild_departures WHERE delete_at <= $1 ORDER BY guild_id",
            clock,
        )
        return [int(r[0]) for r in rows]

    async def forget_guild(self, guild_id: int, *, actor: str) -> dict[str, int]:
        """Delete every row of ``guild_id`` at once (one transaction); global claims stay.

        Returns the count deleted per kind. One audit row (global scope, as the server's own
        history is deleted with it) records who did it and the counts, never content.
        """
        checked_guild(guild_id)
        deleted: dict[str, int] = {}
        async with self._write() as db:
            await db.execute(
                "INSERT INTO guild_erasures (guild_id) VALUES ($1) ON CONFLICT DO NOTHING",
                guild_id,
            )
            deleted["claim_search"] = await self._unindex_claims(db, guild_id)
            for kind, sql in _FORGET:
                deleted[kind] = _row_count(await db.execute(sql, guild_id))
            await db.execute("DELETE FROM guild_erasures WHERE guild_id = $1", guild_id)
            counts = {k: v for k, v in deleted.items() if k not in ("claim_search", "departure")}
            await write_audit(
                db,
                actor=actor,
                guild_id=None,
                action="forget",
                after={"guild_id": guild_id, "deleted": counts},
            )
        log.info("forgot guild %d: %s", guild_id, counts)
        return counts
