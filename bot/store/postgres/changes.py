"""The change feed: the audit log read forward by id, so a running bot follows every writer.

On PostgreSQL ids come from a sequence, and a transaction that took an id could commit after
one that took a later id: a reader already past the later id would never see the earlier one.
:func:`bot.store.postgres.audit.write_audit` therefore holds one advisory lock from its row to
the commit, so audit ids become visible in order, from every process.
"""

from __future__ import annotations

from bot.store.models import AuditEntry, audit_entry
from bot.store.postgres.connection import PostgresBase

FEED_BATCH = 1000


class ChangesMixin(PostgresBase):
    async def latest_change_id(self) -> int:
        rows = await self._fetch("SELECT max(id) FROM audit_log")
        return int(rows[0][0] or 0)

    async def changes_since(self, change_id: int, *, limit: int = FEED_BATCH) -> list[AuditEntry]:
        """Audit rows after ``change_id``, oldest first, at most ``limit``."""
        rows = await self._fetch(
            "SELECT id, at, actor, guild_id, action, claim_id, domain, before, after "
            "FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2",
            change_id,
            limit,
        )
        return [audit_entry(r) for r in rows]
