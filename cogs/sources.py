"""``/source``: moderators set or clear this server's note on an outlet (a domain)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import links
from bot.replies import safe
from cogs._checks import moderator_only
from cogs._interactions import actor_of, defer_ephemeral, send_ephemeral

if TYPE_CHECKING:
    from bot.client import FactBot

log = logging.getLogger(__name__)


@moderator_only()
class Sources(
    commands.GroupCog, group_name="source", group_description="Moderators: notes on outlets"
):
    def __init__(self, bot: FactBot) -> None:
        self.bot = bot
        self.store = bot.services.store
        super().__init__()

    @app_commands.command(name="set")
    @app_commands.describe(
        domain="The outlet's domain, e.g. example.com",
        rating="A short label, e.g. state media",
        note="What readers should know about it",
    )
    async def set_note(
        self,
        interaction: discord.Interaction,
        domain: app_commands.Range[str, 1, 300],
        rating: app_commands.Range[str, 1, 60],
        note: app_commands.Range[str, 0, 1000] = "",
    ) -> None:
        """Set this server's note on an outlet."""
        normalised = links.normalise_domain(domain)
        await defer_ephemeral(interaction)
        saved = await self.store.set_source_note(
            normalised, rating, note, actor=actor_of(interaction), guild_id=interaction.guild_id
        )
        await send_ephemeral(
            interaction,
            f"Note set on {safe(saved.domain, 300)}: {safe(saved.rating, 60, one_line=True)}",
        )

    @app_commands.command(name="clear")
    @app_commands.describe(domain="The outlet's domain")
    async def clear_note(
        self, interaction: discord.Interaction, domain: app_commands.Range[str, 1, 300]
    ) -> None:
        """Remove this server's note on an outlet."""
        normalised = links.normalise_domain(domain)
        await defer_ephemeral(interaction)
        await self.store.clear_source_note(
            normalised, actor=actor_of(interaction), guild_id=interaction.guild_id
        )
        await send_ephemeral(interaction, f"Note on {safe(normalised, 300)} removed.")


async def setup(bot: FactBot) -> None:
    await bot.add_cog(Sources(bot))
