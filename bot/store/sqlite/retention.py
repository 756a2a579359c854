"""Data that leaves with a server: deletion scheduled when the bot leaves, and ``forget``."""

from __future__ import annotations

import logging
import time

from bot.store.sqlite.audit import write_audit
from bot.store.sqlite.search import SearchMixin
from bot.store.validation import checked_guild

log = logging.getLogger(__name__)

# Every per-server row kind, as (what forget reports, the DELETE), after the claims' search
# rows (forget_guild drops them first, postings included). Order matters: the audit log last
# but one (its trigger checks the erasure mark).
_FORGET: tuple[tuple[str, str], ...] = (
    ("claims", "DELETE FROM claims WHERE guild_id = :g"),  # URLs, sources, vectors: cascade
    ("source_notes", "DELETE FROM source_notes WHERE guild_id = :g"),
    ("settings", "DELETE FROM guild_settings WHERE guild_id = :g"),
    ("reply_records", "DELETE FROM bot_replies WHERE guild_id = :g"),  # reply_claims: cascade
    ("seen_links", "DELETE FROM seen_links WHERE guild_id = :g"),
    ("requests", "DELETE FROM check_requests WHERE guild_id = :g"),  # askers: cascade
    ("notify_opt_ins", "DELETE FROM notify_members WHERE guild_id = :g"),
    ("votes", "DELETE FROM reply_votes WHERE guild_id = :g"),
    ("vote_claims", "DELETE FROM vote_claims WHERE guild_id = :g"),
    ("flags", "DELETE FROM claim_flags WHERE guild_id = :g"),
    ("audit_rows", "DELETE FROM audit_log WHERE guild_id = :g"),
    ("departure", "DELETE FROM guild_departures WHERE guild_id = :g"),
)


class RetentionMixin(SearchMixin):
    async def schedule_forget(
        self, guild_id: int, *, grace_s: float, now: float | None = None
    ) -> float:
        """The bot left ``guild_id``: its rows go at the returned time unless it comes back."""
        checked_guild(guild_id)
        clock = time.time() if now is None else now
        async with self._write() as db:
            await db.execute(
                "INSERT OR REPLACE INTO guild_departures (guild_id, left_at, delete_at) "
                "VALUES (?, ?, ?)",
                (guild_id, clock, clock + grace_s),
            )
        return clock + grace_s

    async def cancel_forget(self, guild_id: int) -> bool:
        """The bot is back in ``guild_id``: keep its rows. False when nothing was scheduled."""
        checked_guild(guild_id)
        async with self._write() as db:
            cur = await db.execute("DELETE FROM guild_departures WHERE guild_id = ?", (guild_id,))
            return bool(cur.rowcount)

    async def scheduled_forgets(self) -> dict[int, float]:
        """Servers the bot left, with when their rows are deleted."""
        rows = await self._fetchall("SELECT guild_id, delete_at FROM guild_departures")
        return {int(r[0]): float(r[1]) for r in rows}

    async def due_forgets(self, *, now: float | None = None) -> list[int]:
        clock = time.time() if now is None else now
        rows = await self._fetchall(
            "SELECT guild_id FROM guild_departures WHERE delete_at <= ? ORDER BY guild_id",
            (clock,),
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
                "INSERT OR IGNORE INTO guild_erasures (guild_id) VALUES (?)", (guild_id,)
            )
            deleted["claim_search"] = await self._unindex_claims(
                db, "SELECT id FROM claims WHERE guild_id = :g", {"g": guild_id}
            )
            for kind, sql in _FORGET:
                cur = await db.execute(sql, {"g": guild_id})
                deleted[kind] = cur.rowcount
            await db.execute("DELETE FROM guild_erasures WHERE guild_id = ?", (guild_id,))
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
