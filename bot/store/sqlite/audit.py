"""The audit log: exactly one row per change, written in the change's own transaction."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import aiosqlite

from bot.store.models import AuditEntry
from bot.store.sqlite.connection import SQLiteBase, now_iso


async def write_audit(
    db: aiosqlite.Connection,
    *,
    actor: str,
    guild_id: int | None,
    action: str,
    claim_id: int | None = None,
    domain: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    await db.execute(
        "INSERT INTO audit_log (at, actor, guild_id, action, claim_id, domain, before, after) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            now_iso(),
            actor,
            guild_id,
            action,
            claim_id,
            domain,
            None if before is None else json.dumps(before, ensure_ascii=False),
            None if after is None else json.dumps(after, ensure_ascii=False),
        ),
    )


class AuditMixin(SQLiteBase):
    async def audit_count(self) -> int:
        rows = await self._fetchall("SELECT count(*) FROM audit_log")
        return int(rows[0][0])


def audit_entry(row: sqlite3.Row | tuple[Any, ...]) -> AuditEntry:
    before = json.loads(row[7]) if row[7] else None
    after = json.loads(row[8]) if row[8] else None
    return AuditEntry(
        id=row[0],
        at=row[1],
        actor=row[2],
        guild_id=row[3],
        action=row[4],
        claim_id=row[5],
        domain=row[6],
        before=before,
        after=after,
    )
