"""The audit log: exactly one row per change, written in the change's own transaction."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from bot.store.postgres.connection import PostgresBase
from bot.store.validation import now_iso

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
    at: str | None = None,
) -> None:
    """One audit row; ``at``: the change's own time when the changed row records it (a claim's
    created_at or updated_at), so that its history shows the same time as the claim."""
    # Held until this transaction ends: the next audit row (any process) waits for this one to
    # commit, so ids commit in order and the change feed never skips one (see changes.py).
    await db.execute("SELECT pg_advisory_xact_lock($1)", _AUDIT_LOCK)
    await db.execute(
        "INSERT INTO audit_log (at, actor, guild_id, action, claim_id, domain, before, after) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        at or now_iso(),
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
