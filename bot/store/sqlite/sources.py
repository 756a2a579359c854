"""Source notes: a rating and a note on an outlet's domain, per server or global."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

import aiosqlite

from bot.store.models import NotFound, SourceNote
from bot.store.sqlite.audit import write_audit
from bot.store.sqlite.connection import SQLiteBase, scope_sql
from bot.store.validation import now_iso, scope_key, validate_source_note


class SourcesMixin(SQLiteBase):
    async def source_note_for(
        self, hosts: Sequence[str], *, guild_id: int | None
    ) -> SourceNote | None:
        """The note for the most specific host in ``hosts``; a server's own note wins a tie."""
        if not hosts:
            return None
        marks = ",".join("?" * len(hosts))
        scope, params = scope_sql(guild_id)
        rows = await self._fetchall(
            f"SELECT domain, guild_id, rating, note, updated_by, updated_at FROM source_notes c "
            f"WHERE domain IN ({marks}) AND {scope}",
            (*hosts, *params),
        )
        if not rows:
            return None
        order = {host: i for i, host in enumerate(hosts)}
        best = min(rows, key=lambda r: (order[r[0]], r[1] is None))
        return SourceNote(*best)

    async def list_source_notes(self, *, guild_id: int | None) -> list[SourceNote]:
        where, params = scope_sql(guild_id)
        rows = await self._fetchall(
            f"SELECT domain, guild_id, rating, note, updated_by, updated_at FROM source_notes c "
            f"WHERE {where} ORDER BY domain",
            params,
        )
        return [SourceNote(*r) for r in rows]

    async def set_source_note(
        self, domain: str, rating: str, note: str, *, actor: str, guild_id: int | None
    ) -> SourceNote:
        """Set the note on a domain in a scope (``domain`` already normalised)."""
        rating, note = validate_source_note(rating, note)
        now = now_iso()
        async with self._write() as db:
            before = await self._source_row(db, domain, guild_id)
            if before is not None and (before.rating, before.note) == (rating, note):
                return before
            if before is None:
                await db.execute(
                    "INSERT INTO source_notes (guild_id, domain, rating, note, updated_by, "
                    "updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (guild_id, domain, rating, note, actor, now),
                )
            else:
                await db.execute(
                    "UPDATE source_notes SET rating = ?, note = ?, updated_by = ?, updated_at = ? "
                    "WHERE domain = ? AND ifnull(guild_id, 0) = ?",
                    (rating, note, actor, now, domain, scope_key(guild_id)),
                )
            after = SourceNote(domain, guild_id, rating, note, actor, now)
            await write_audit(
                db,
                actor=actor,
                guild_id=guild_id,
                action="source-set",
                domain=domain,
                before=None if before is None else asdict(before),
                after=asdict(after),
            )
        return after

    async def clear_source_note(self, domain: str, *, actor: str, guild_id: int | None) -> None:
        async with self._write() as db:
            before = await self._source_row(db, domain, guild_id)
            if before is None:
                raise NotFound(f"no note on {domain}")
            await db.execute(
                "DELETE FROM source_notes WHERE domain = ? AND ifnull(guild_id, 0) = ?",
                (domain, scope_key(guild_id)),
            )
            await write_audit(
                db,
                actor=actor,
                guild_id=guild_id,
                action="source-clear",
                domain=domain,
                before=asdict(before),
            )

    async def _source_row(
        self, db: aiosqlite.Connection, domain: str, guild_id: int | None
    ) -> SourceNote | None:
        async with db.execute(
            "SELECT domain, guild_id, rating, note, updated_by, updated_at FROM source_notes "
            "WHERE domain = ? AND ifnull(guild_id, 0) = ?",
            (domain, scope_key(guild_id)),
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else SourceNote(*row)
