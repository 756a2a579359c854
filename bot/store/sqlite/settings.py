"""Per-server settings and per-channel overrides: one row per key set, audited like claims."""

from __future__ import annotations

import json
import logging
from typing import Any

from bot import settings as model
from bot.store.models import InvalidInput, SettingRow
from bot.store.sqlite.audit import write_audit
from bot.store.sqlite.connection import SQLiteBase
from bot.store.validation import now_iso

log = logging.getLogger(__name__)


class SettingsMixin(SQLiteBase):
    async def setting_rows(self, guild_id: int) -> list[SettingRow]:
        """Every setting a server (channel 0) and its channels set; bad rows are skipped."""
        rows = await self._fetchall(
            "SELECT channel_id, key, value FROM guild_settings WHERE guild_id = ? "
            "ORDER BY channel_id, key",
            (guild_id,),
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
            async with db.execute(
                "SELECT value FROM guild_settings WHERE guild_id = ? AND channel_id = ? "
                "AND key = ?",
                (guild_id, channel, key),
            ) as cur:
                row = await cur.fetchone()
            before = None if row is None else json.loads(row[0])
            if before == checked:
                return False
            if checked is None:
                await db.execute(
                    "DELETE FROM guild_settings WHERE guild_id = ? AND channel_id = ? AND key = ?",
                    (guild_id, channel, key),
                )
            else:
                await db.execute(
                    "INSERT OR REPLACE INTO guild_settings "
                    "(guild_id, channel_id, key, value, updated_by, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (guild_id, channel, key, model.encode(checked), actor, now_iso()),
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
