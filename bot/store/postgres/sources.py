"""Source notes: a rating and a note on an outlet's domain, per server or global."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

import asyncpg

from bot.store.models import NotFound, SourceNote
from bot.store.postgres.audit import write_audit
from bot.store.postgres.connection import PostgresBase, scope_sql
from bot.store.validation import now_iso, scope_key, validate_source_note

_NOTE_COLUMNS = "domain, guild_id, rating, note, updated_by, updated_at"


class SourcesMixin(PostgresBase):
    async def source_note_for(
        self, hosts: Sequence[str], *, guild_id: int | None
    ) -> SourceNote | None:
        """The note for the most specific host in ``hosts``; a server's own note wins a tie."""
        if not hosts:
            return None
        scope, params = scope_sql(guild_id, 2)
        rows = await self._fetch(
            f"SELECT {_NOTE_COLUMNS} FROM source_notes c "
            f"WHERE domain = ANY($1::text[]) AND {scope}",
            list(hosts),
            *params,
        )
        if not rows:
            return None
        order = {host: i for i, host in enumerate(hosts)}
        best = min(rows, key=lambda r: (order[r[0]], r[1] is None))
        return SourceNote(*best)

    async def list_source_notes(self, *, guild_id: int | None) -> list[SourceNote]:
        where, params = scope_sql(guild_id, 1)
        rows = await self._fetch(
            f'SELECT {_NOTE_COLUMNS} FROM source_notes c WHERE {where} ORDER BY domain COLLATE "C"',
            *params,
        )
        return [SourceNote(*r) for r in rows]

    async def set_source_note(
        self, domain: str, rating: str, note: str, *, actor: str, guild_id: int | None
    ) -> SourceNote:
        """Set the note on a domain in a scope (``domain`` already normalised)."""
        rating, note = validate_source_note(rating, note)
        now = now_iso()
        async with self._write() as db:
            await _lock_note(db, domain, guild_id)
            before = await self._source_row(db, domain, guild_id)
            if before is not None and (before.rating, before.note) == (rating, note):
                return before
            if before is None:
                await db.execute(
                    "INSERT INTO source_notes (guild_id, domain, rating, note, updated_by, "
                    "updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
                    guild_id,
                    domain,
                    rating,
                    note,
                    actor,
                    now,
                )
            else:
                await db.execute(
                    "UPDATE source_notes SET rating = $1, note = $2, updated_by = $3, "
                    "updated_at = $4 WHERE domain = $5 AND coalesce(guild_id, 0) = $6",
                    rating,
                    note,
                    actor,
                    now,
                    domain,
                    scope_key(guild_id),
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
            await _lock_note(db, domain, guild_id)
            before = await self._source_row(db, domain, guild_id)
            if before is None:
                raise NotFound(f"no note on {domain}")
            await db.execute(
                "DELETE FROM source_notes WHERE domain = $1 AND coalesce(guild_id, 0) = $2",
                domain,
                scope_key(guild_id),
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
        self, db: asyncpg.Connection, domain: str, guild_id: int | None
    ) -> SourceNote | None:
        row = await db.fetchrow(
            f"SELECT {_NOTE_COLUMNS} FROM source_notes "
            f"WHERE domain = $1 AND coalesce(guild_id, 0) = $2 FOR UPDATE",
            domain,
            scope_key(guild_id),
        )
        return None if row is None else SourceNote(*row)


async def _lock_note(db: asyncpg.Connection, domain: str, guild_id: int | None) -> None:
    """Serialise changes to one note across processes (a row lock cannot hold a missing row):
    two processes setting the same new note then update one row instead of colliding."""
    await db.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, $2))", domain, scope_key(guild_id)
    )
