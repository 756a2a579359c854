"""Posting to a server's mod log channel (its ``mod_log`` setting): never pinging, never to
another server's channel, a few packed messages for a burst of changes."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import discord

from bot.community import mod_log_messages
from cogs._interactions import NO_MENTIONS

if TYPE_CHECKING:
    from bot.client import FactBot

log = logging.getLogger(__name__)


async def post_to_mod_log(bot: FactBot, guild_id: int, lines: Sequence[str]) -> bool:
    """Post ``lines`` to the server's mod log; False when it has none (or it is unusable)."""
    if not lines:
        return False
    settings = await bot.settings.get(guild_id)
    if settings.mod_log is None:
        return False
    channel = bot.get_channel(settings.mod_log)
    # Only a text channel of the same server: a mistyped id never posts elsewhere.
    guild = getattr(channel, "guild", None)
    if not isinstance(channel, discord.abc.Messageable) or guild is None:
        log.warning("mod log channel of guild %s not found", guild_id)
        return False
    if guild.id != guild_id:
        log.warning("mod log channel of guild %s is another server's", guild_id)
        return False
    for text in mod_log_messages(lines):
        try:
            await channel.send(text, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as exc:
            log.warning("could not post to the mod log (guild %s): %s", guild_id, exc.status)
            return False
    return True
