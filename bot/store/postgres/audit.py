"""The audit log: exactly one row per change, written in the change's own transaction."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from bot.store.models import AuditEntry
from bot.store.postgres.connection import PostgresBase, now_iso

_AUDIT_LOCK = 0x66616376


async def write_audit(
    db: asyncpg.Connection,
    *,
    actor: str,
    guild_id: int | None,
    action: str,
    claim_id: int | None = None,
    domain: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    # Held until this transaction ends: the next audit row (any process) waits for this one to
    # commit, so ids commit in order and the change feed never skips one (see changes.py).
    await db.execute("SELECT pg_advisory_xact_lock($1)", _AUDIT_LOCK)
    await db.execute(
        "INSERT INTO audit_log (at, actor, guild_id, action, claim_id, domain, before, after) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        now_iso(),
        actor,
        guild_id,
        action,
        claim_id,
        domain,
        None if before is None else json.dumps(before, ensure_ascii=False),
        None if after is None else json.dumps(after, ensure_ascii=False),
    )


class AuditMixin(PostgresBase):
    async def audit_count(self) -> int:
        rows = await self._fetch("SELECT count(*) FROM audit_log")
        return int(rows[0][0])


def audit_entry(row: asyncpg.Record | tuple[Any, ...]) -> AuditEntry:
    return AuditEntry(
        id=row[0],
        at=row[1],
        actor=row[2],
        guild_id=row[3],
        action=row[4],
        claim_id=row[5],
        domain=row[6],
        before=json.loads(row[7]) if row[7] else None,
        after=json.loads(row[8]) if row[8] else None,
    )
