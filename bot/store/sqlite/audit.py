"""The audit log: exactly one row per change, written in the change's own transaction."""

from __future__ import annotations

import json
from typing import Any

import aiosqlite

from bot.store.sqlite.connection import SQLiteBase
from bot.store.validation import now_iso


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
    at: str | None = None,
) -> None:
    """One audit row; ``at``: the change's own time when the changed row records it (a claim's
    created_at or updated_at), so that its history shows the same time as the claim."""
    await db.execute(
        "INSERT INTO audit_log (at, actor, guild_id, action, claim_id, domain, before, after) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            at or now_iso(),
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
