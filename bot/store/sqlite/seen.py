"""Links seen in watched channels: canonical keys with message and channel ids, for backfill."""

from __future__ import annotations

import time
from collections.abc import Sequence

from bot.store.models import SeenLink
from bot.store.sqlite.connection import SQLiteBase


class SeenLinksMixin(SQLiteBase):
    async def remember_links(self, seen: Sequence[SeenLink]) -> None:
        """Remember links seen (a batch in one transaction); expired rows go at the same time."""
        if not seen:
            return
        async with self._write() as db:
            await db.executemany(
                "INSERT OR IGNORE INTO seen_links "
                "(guild_id, channel_id, message_id, url_key, seen_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (s.guild_id, s.channel_id, s.message_id, s.url_key, s.seen_at, s.expires_at)
                    for s in seen
                ],
            )
            await db.execute("DELETE FROM seen_links WHERE expires_at < ?", (time.time(),))

    async def forget_links(self, *, now: float) -> int:
        """Delete sightings past their server's backfill window at ``now`` (the tidy-up's clock)."""
        async with self._write() as db:
            cur = await db.execute(
                "DELETE FROM seen_links WHERE expires_at < ?",
                (now,),
            )
            return cur.rowcount

    async def seen_with_keys(
        self, keys: Sequence[str], *, guild_id: int | None, now: float | None = None
    ) -> list[SeenLink]:
        """Unexpired sightings of the keys (``guild_id`` None: in every server), oldest first."""
        if not keys:
            return []
        now = time.time() if now is None else now
        found: list[SeenLink] = []
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            marks = ",".join("?" * len(chunk))
            scope = "" if guild_id is None else " AND guild_id = ?"
            rows = await self._fetchall(
                f"SELECT guild_id, channel_id, message_id, url_key, seen_at, expires_at "
                f"FROM seen_links WHERE url_key IN ({marks}) AND expires_at > ?{scope}",
                (*chunk, now, *(() if guild_id is None else (guild_id,))),
            )
            found.extend(SeenLink(*r) for r in rows)
        return sorted(found, key=lambda s: (s.seen_at, s.message_id))

    async def url_keys_of_claims(self, claim_ids: Sequence[int]) -> list[tuple[int | None, str]]:
        """(scope, canonical key) of each URL of the active claims among ``claim_ids``."""
        found: list[tuple[int | None, str]] = []
        for start in range(0, len(claim_ids), 500):
            chunk = list(claim_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            rows = await self._fetchall(
                f"SELECT DISTINCT c.guild_id, u.url_key FROM claim_urls u "
                f"JOIN claims c ON c.id = u.claim_id "
                f"WHERE u.claim_id IN ({marks}) AND c.active = 1",
                chunk,
            )
            found.extend((r[0], r[1]) for r in rows)
        return found
