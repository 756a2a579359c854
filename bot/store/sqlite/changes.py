"""The change feed: the audit log read forward by id, so a running bot follows every writer.

Every change (``/claim``, the CLI, an import, ``/settings``, another process) writes one audit
row in its own transaction; a reader polls for rows past the last id it saw. One range probe on
the primary key, whatever the log's size.
"""

from __future__ import annotations

from bot.store.models import AuditEntry, audit_entry
from bot.store.sqlite.connection import SQLiteBase

FEED_BATCH = 1000


class ChangesMixin(SQLiteBase):
    async def latest_change_id(self) -> int:
        rows = await self._fetchall("SELECT max(id) FROM audit_log")
        return int(rows[0][0] or 0)

    async def changes_since(self, change_id: int, *, limit: int = FEED_BATCH) -> list[AuditEntry]:
        """Audit rows after ``change_id``, oldest first, at most ``limit``."""
        rows = await self._fetchall(
            "SELECT id, at, actor, guild_id, action, claim_id, domain, before, after "
            "FROM audit_log WHERE id > ? ORDER BY id LIMIT ?",
            (change_id, limit),
        )
        return [audit_entry(r) for r in rows]
