"""The one error handler for application commands (and the claim modal), and prefix commands.

Order of precedence (the first that applies wins; Discord's wrappers are unwrapped first):

1. ``NoPrivateMessage``              -> "Use this in a server." (it is also a CheckFailure)
2. ``NotServerManager``, ``NotModerator`` -> their own text: "You need Manage Server."
   (``/settings``), "You need Manage Messages or a moderator role."
3. any other ``CheckFailure``        -> "You need Manage Messages or a moderator role."
   (MissingPermissions, MissingAnyRole, ...)
4. ``TransformerError``              -> "That value doesn't fit: ..." (a bad option value)
5. ``bot.store.StoreError`` family   -> its own short text (NotFound, InvalidInput, StoreBusy,
   and any other StoreError; the last two are also logged as warnings)
6. ``bot.links.InvalidURL``          -> "That URL doesn't look right: ..."
7. anything else                     -> logged with guild, channel and command, and the user
   is told "Something went wrong; the moderators can check the logs."

Every answer is ephemeral, mentions nobody, and is sent as a follow-up when the interaction
was already answered or deferred.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import links
from bot.store import InvalidInput, NotFound, StoreBusy, StoreError
from cogs._checks import NotModerator, NotServerManager
from cogs._interactions import send_ephemeral

if TYPE_CHECKING:
    from bot.client import FactBot

log = logging.getLogger(__name__)

NEED_MODERATOR = "You need Manage Messages or a moderator role."
USE_IN_SERVER = "Use this in a server."
SOMETHING_WRONG = "Something went wrong; the moderators can check the logs."


def _unwrap(error: BaseException) -> BaseException:
    while isinstance(error, app_commands.CommandInvokeError | commands.CommandInvokeError):
        error = error.original
    return error


def _command_name(interaction: discord.Interaction) -> str:
    command = interaction.command
    return command.qualified_name if command is not None else "?"


def explain(interaction: discord.Interaction, error: BaseException) -> str:
    """The short answer for an error, in the order of precedence above (logs as it goes)."""
    error = _unwrap(error)
    if isinstance(error, app_commands.NoPrivateMessage):
        return USE_IN_SERVER
    if isinstance(error, NotServerManager | NotModerator):
        return str(error)
    if isinstance(error, app_commands.CheckFailure):
        return NEED_MODERATOR
    if isinstance(error, app_commands.TransformerError):
        return f"That value doesn't fit: {str(error.value)[:100]!r}"
    if isinstance(error, NotFound | InvalidInput):
        return str(error)
    if isinstance(error, StoreError):
        level = logging.WARNING if isinstance(error, StoreBusy) else logging.ERROR
        log.log(
            level,
            "store error in /%s (guild %s, channel %s): %s",
            _command_name(interaction),
            interaction.guild_id,
            interaction.channel_id,
            error,
        )
        return str(error)
    if isinstance(error, links.InvalidURL):
        return f"That URL doesn't look right: {error}"
    log.error(
        "unexpected error in /%s (guild %s, channel %s)",
        _command_name(interaction),
        interaction.guild_id,
        interaction.channel_id,
        exc_info=error,
    )
    return SOMETHING_WRONG


async def answer_error(interaction: discord.Interaction, error: BaseException) -> None:
    """Tell the user what went wrong; never raises (the interaction may have expired)."""
    message = explain(interaction, error)
    try:
        await send_ephemeral(interaction, message)
    except discord.HTTPException as exc:
        log.warning(
            "could not send an error answer (guild %s, channel %s): %s",
            interaction.guild_id,
            interaction.channel_id,
            exc,
        )


class Errors(commands.Cog):
    """Installs the tree's error handler for as long as the extension is loaded."""

    def __init__(self, bot: FactBot) -> None:
        self.bot = bot
        self._previous: Any = None

    async def cog_load(self) -> None:
        tree = self.bot.tree
        self._previous = tree.on_error
        tree.on_error = self.on_app_command_error  # type: ignore[method-assign]

    async def cog_unload(self) -> None:
        self.bot.tree.on_error = self._previous  # type: ignore[method-assign]

    async def on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        await answer_error(interaction, error)

    @commands.Cog.listener()
    async def on_command_error(self, ctx: commands.Context[Any], error: Exception) -> None:
        # Prefix commands are the owner's only (``@factbot sync``); everyone else's mention of
        # the bot is not a command, and a refusal needs no answer.
        if isinstance(error, commands.CommandNotFound | commands.CheckFailure):
            log.debug("ignored prefix command error: %s", type(error).__name__)
            return
        if isinstance(error, commands.UserInputError):
            await ctx.reply(str(error)[:200], mention_author=False)
            return
        log.error(
            "error in prefix command %s (guild %s, channel %s)",
            ctx.command,
            ctx.guild.id if ctx.guild else None,
            ctx.channel.id,
            exc_info=_unwrap(error),
        )


async def setup(bot: FactBot) -> None:
    await bot.add_cog(Errors(bot))
