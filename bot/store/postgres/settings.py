"""Per-server settings and per-channel overrides: one row per key set, audited like claims."""

from __future__ import annotations

import json
import logging
from typing import Any

from bot import settings as model
from bot.store.models import InvalidInput, SettingRow
from bot.store.postgres.audit import write_audit
from bot.store.postgres.connection import PostgresBase
from bot.store.validation import now_iso

log = logging.getLogger(__name__)


class SettingsMixin(PostgresBase):
    async def setting_rows(self, guild_id: int) -> list[SettingRow]:
        """Every setting a server (channel 0) and its channels set; bad rows are skipped."""
        rows = await self._fetch(
            "SELECT channel_id, key, value FROM guild_settings WHERE guild_id = $1 "
            'ORDER BY channel_id, key COLLATE "C"',
            guild_id,
        )
        found: list[SettingRow] = []
        for channel_id, key, raw in rows:
            try:
                value = model.check_value(key, json.loads(raw), channel=bool(channel_id))
            except (ValueError, TypeError):
                # A row written by hand or by a newer factbot: the default applies instead.
                log.warning("ignoring stored setting %s of guild %d", key, guild_id)
                continue
            found.append(SettingRow(guild_id, channel_id, key, value))
        return found

    async def set_setting(
        self,
        guild_id: int,
        key: str,
        value: Any,
        *,
        actor: str,
        channel_id: int | None = None,
    ) -> bool:
        """Set (``value`` None: remove) one setting; one audit row. False when nothing changed."""
        channel = channel_id or 0
        try:
            checked = model.check_value(key, value, channel=bool(channel))
        except model.SettingError as exc:
            raise InvalidInput(str(exc)) from None
        async with self._write() as db:
            # Two processes changing one key: the second waits here and compares with the first's.
            await db.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, $2))", key, guild_id
            )
            raw = await db.fetchval(
                "SELECT value FROM guild_settings WHERE guild_id = $1 AND channel_id = $2 "
                "AND key = $3",
                guild_id,
                channel,
                key,
            )
            before = None if raw is None else json.loads(raw)
            if before == checked:
                return False
            if checked is None:
                await db.execute(
                    "DELETE FROM guild_settings WHERE guild_id = $1 AND channel_id = $2 "
                    "AND key = $3",
                    guild_id,
                    channel,
                    key,
                )
            else:
                await db.execute(
                    "INSERT INTO guild_settings "
                    "(guild_id, channel_id, key, value, updated_by, updated_at) "
                    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (guild_id, channel_id, key) "
                    "DO UPDATE SET value = EXCLUDED.value, updated_by = EXCLUDED.updated_by, "
                    "updated_at = EXCLUDED.updated_at",
                    guild_id,
                    channel,
                    key,
                    model.encode(checked),
                    actor,
                    now_iso(),
                )
            where = {"key": key, "channel_id": channel_id}
            await write_audit(
                db,
                actor=actor,
                guild_id=guild_id,
                action="settings",
                before={**where, "value": before},
                after={**where, "value": checked},
            )
        return True
