"""The owner's ``@factbot sync``: publish the application commands (never done on start)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal

from discord.ext import commands

if TYPE_CHECKING:
    from bot.client import FactBot

log = logging.getLogger(__name__)


class Admin(commands.Cog):
    def __init__(self, bot: FactBot) -> None:
        self.bot = bot

    async def cog_check(self, ctx: commands.Context[Any]) -> bool:
        if not await self.bot.is_owner(ctx.author):
            raise commands.NotOwner()
        return True

    @commands.command(name="sync")
    async def sync(
        self, ctx: commands.Context[Any], scope: Literal["global", "guild", "clear"] = "global"
    ) -> None:
        """Sync slash commands: everywhere (up to an hour), to this server (now), or clear it."""
        tree = self.bot.tree
        if scope == "global":
            synced = await tree.sync()
            where = "globally"
        else:
            if ctx.guild is None:
                await ctx.reply(
                    "`sync guild` and `sync clear` work in a server.", mention_author=False
                )
                return
            if scope == "guild":
                tree.copy_global_to(guild=ctx.guild)
            else:
                tree.clear_commands(guild=ctx.guild)
            synced = await tree.sync(guild=ctx.guild)
            where = f"to server {ctx.guild.id}"
        log.info("synced %d application commands %s", len(synced), where)
        await ctx.reply(f"Synced {len(synced)} commands {where}.", mention_author=False)


async def setup(bot: FactBot) -> None:
    await bot.add_cog(Admin(bot))
