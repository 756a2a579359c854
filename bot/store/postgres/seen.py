"""Links seen in watched channels: canonical keys with message and channel ids, for backfill."""

from __future__ import annotations

import time
from collections.abc import Sequence

from bot.store.models import SeenLink
from bot.store.postgres.connection import PostgresBase


class SeenLinksMixin(PostgresBase):
    async def remember_links(self, seen: Sequence[SeenLink]) -> None:
        """Remember links seen (a batch in one transaction); expired rows go at the same time."""
        if not seen:
            return
        async with self._write() as db:
            await db.executemany(
                "INSERT INTO seen_links "
                "(guild_id, channel_id, message_id, url_key, seen_at, expires_at) "
                "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                [
                    (
                        s.guild_id,
                        s.channel_id,
                        s.message_id,
                        s.url_key,
                        float(s.seen_at),
                        float(s.expires_at),
                    )
                    for s in seen
                ],
            )
            await db.execute("DELETE FROM seen_links WHERE expires_at < $1", time.time())

    async def forget_links(self, *, now: float) -> int:
        """Delete sightings past their server's backfill window at ``now`` (the tidy-up's clock)."""
        async with self._write() as db:
            status = await db.execute(
                "DELETE FROM seen_links WHERE expires_at < $1",
                float(now),
            )
        return _row_count(status)

    async def seen_with_keys(
        self, keys: Sequence[str], *, guild_id: int | None, now: float | None = None
    ) -> list[SeenLink]:
        """Unexpired sightings of the keys (``guild_id`` None: in every server), oldest first."""
        if not keys:
            return []
        now = time.time() if now is None else float(now)
        scope = "" if guild_id is None else " AND guild_id = $3"
        rows = await self._fetch(
            f"SELECT guild_id, channel_id, message_id, url_key, seen_at, expires_at "
            f"FROM seen_links WHERE url_key = ANY($1::text[]) AND expires_at > $2{scope}",
            list(keys),
            now,
            *(() if guild_id is None else (guild_id,)),
        )
        found = [SeenLink(*r) for r in rows]
        return sorted(found, key=lambda s: (s.seen_at, s.message_id))

    async def url_keys_of_claims(self, claim_ids: Sequence[int]) -> list[tuple[int | None, str]]:
        """(scope, canonical key) of each URL of the active claims among ``claim_ids``."""
        if not claim_ids:
            return []
        rows = await self._fetch(
            "SELECT DISTINCT c.guild_id, u.url_key FROM claim_urls u "
            "JOIN claims c ON c.id = u.claim_id "
            "WHERE u.claim_id = ANY($1::bigint[]) AND c.active",
            list(claim_ids),
        )
        return [(r[0], r[1]) for r in rows]


def _row_count(status: str) -> int:
    """The row count of a command status such as ``DELETE 3``."""
    return int(status.rsplit(" ", 1)[-1])
