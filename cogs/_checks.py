"""The moderator guard, applied twice by one decorator (RoboDanny's ``checks.py`` pattern).

``default_permissions`` hides the commands from members without Manage Messages (server admins
can change that under Server Settings > Integrations, which Discord enforces without us); the
run-time check enforces factbot's own rule whatever those settings say: Manage Messages in the
channel, or one of the server's moderator roles (``/settings``; the config file's by default).
DMs are refused. ``/settings`` itself needs Manage Server (:func:`check_manager`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import app_commands
from discord.ext import commands
from discord.utils import maybe_coroutine

if TYPE_CHECKING:
    from bot.client import FactBot

log = logging.getLogger(__name__)

T = TypeVar("T")

MODERATOR_PERMISSIONS = discord.Permissions(manage_messages=True)


class NotModerator(app_commands.CheckFailure):
    """The user has neither Manage Messages nor a moderator role."""

    def __init__(self) -> None:
        super().__init__("You need Manage Messages or a moderator role.")


class NotServerManager(app_commands.CheckFailure):
    """The user lacks Manage Server (``/settings``)."""

    def __init__(self) -> None:
        super().__init__("You need Manage Server.")


def check_manager(interaction: discord.Interaction) -> bool:
    """True for a member with Manage Server in a server; raises otherwise."""
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage()
    if interaction.permissions.manage_guild:
        return True
    log.debug("refused /settings to user %d in guild %d", interaction.user.id, interaction.guild_id)
    raise NotServerManager()


async def moderator_role_ids(interaction: discord.Interaction) -> tuple[int, ...]:
    """The server's moderator roles (its settings, else the config file's)."""
    bot: FactBot = interaction.client  # type: ignore[assignment]
    settings = await bot.settings.get(interaction.guild_id)
    return tuple(settings.moderator_roles)


async def check_moderator(interaction: discord.Interaction) -> bool:
    """True for a moderator in a server; raises NoPrivateMessage or NotModerator otherwise."""
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage()
    # The invoker's permissions in this channel, as Discord resolved them (overwrites included).
    if interaction.permissions.manage_messages:
        return True
    allowed = await moderator_role_ids(interaction)
    user = interaction.user
    if (
        allowed
        and isinstance(user, discord.Member)
        and any(role.id in allowed for role in user.roles)
    ):
        return True
    log.debug("refused a moderator command to user %d in guild %d", user.id, interaction.guild_id)
    raise NotModerator()


def moderator_only() -> Callable[[T], T]:
    """Hide (``default_permissions``, ``guild_only``) and enforce (a run-time check) at once.

    Decorates an app command callback, or a ``commands.GroupCog`` class (then every subcommand
    of its group is guarded: Discord applies default permissions only to a top-level command,
    and the run-time check goes into the cog's ``interaction_check``).
    """

    def decorator(obj: T) -> T:
        app_commands.guild_only()(obj)
        app_commands.default_permissions(MODERATOR_PERMISSIONS)(obj)
        if isinstance(obj, type) and issubclass(obj, commands.Cog):
            _guard_cog(obj)
        else:
            app_commands.check(check_moderator)(obj)
        return obj

    return decorator


def _guard_cog(cls: type[commands.Cog]) -> None:
    original = cls.interaction_check

    async def interaction_check(self: Any, interaction: discord.Interaction, /) -> bool:
        return await check_moderator(interaction) and bool(
            await maybe_coroutine(original, self, interaction)
        )

    # Not functools.wraps: that would copy discord.py's "not overridden" marker from Cog.
    cls.interaction_check = interaction_check  # type: ignore[method-assign]
