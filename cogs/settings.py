"""``/settings``: a server's admins choose where and how factbot answers (Manage Server).

Hidden from others by ``default_permissions`` and checked again at run time, on the command and
on every select, button and form of its view. Values go through ``bot.settings`` (the CLI's
``factbot settings set`` parses the same way); every change is audited by the store, and the
change feed posts it to the server's mod log.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import settings as model
from bot.store import InvalidInput
from cogs._checks import check_manager
from cogs._interactions import actor_of, send_ephemeral
from cogs.errors import answer_error

if TYPE_CHECKING:
    from bot.client import FactBot

log = logging.getLogger(__name__)

MANAGE_SERVER = discord.Permissions(manage_guild=True)
WATCHABLE = [
    discord.ChannelType.text,
    discord.ChannelType.news,
    discord.ChannelType.forum,
    discord.ChannelType.voice,
    discord.ChannelType.category,
]
STYLE_LABELS = {
    "full": "Full: the embed reply",
    "compact": "Compact: one line and a Details button",
    "reaction": "Reaction: one emoji, no message",
    "off": "Off: silent (commands still answer)",
    "default": "Default",
}


async def settings_embed(bot: FactBot, guild_id: int, channel_id: int | None) -> discord.Embed:
    current = await bot.settings.get(guild_id)
    lines = model.settings_lines(
        current, channel_id=channel_id, default_threshold=bot.services.checker.reply_threshold
    )
    # Discord renders a channel mention in a description, never in a title ("<#123>" there).
    title = "factbot settings" + (" for one channel" if channel_id else "")
    embed = discord.Embed(title=title, colour=0x5865F2)
    embed.description = (
        f"Settings of <#{channel_id}> (it overrides the server's)."
        if channel_id
        else "This server's settings; `(set)` marks the ones changed from the defaults."
    )
    for key, text in lines:
        # Our own text: validated ids, numbers and words (nothing a member typed verbatim).
        if len(text) > 1000:
            text = text[:990].rsplit(",", 1)[0] + ", …"
        embed.add_field(name=key, value=text or "-", inline=True)
    return embed


class ValuesModal(discord.ui.Modal, title="factbot settings"):
    """Numbers and ids typed in: threshold (and for a server: backfill hours, mod log)."""

    def __init__(self, view: SettingsView) -> None:
        super().__init__()
        self.view = view
        self.inputs: dict[str, discord.ui.TextInput[ValuesModal]] = {}
        keys = ["reply_threshold"] + ([] if view.channel_id else ["backfill_hours", "mod_log"])
        for key in keys:
            text_input: discord.ui.TextInput[ValuesModal] = discord.ui.TextInput(
                label=key, placeholder=model.KEY_HELP[key][:100], required=False, max_length=40
            )
            self.inputs[key] = text_input
            self.add_item(text_input)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        check_manager(interaction)
        parsed: dict[str, Any] = {}
        for key, text_input in self.inputs.items():
            if text_input.value.strip():
                try:
                    parsed[key] = model.parse_value(
                        key, text_input.value, channel=bool(self.view.channel_id)
                    )
                except model.SettingError as exc:
                    raise InvalidInput(str(exc)) from None
        # Every value is checked before any is saved: one typo changes nothing.
        for key, value in parsed.items():
            await self.view.save(interaction, key, value)
        await self.view.refresh(interaction)

    async def on_error(  # type: ignore[override]
        self, interaction: discord.Interaction, error: Exception, /
    ) -> None:
        await answer_error(interaction, error)


class SettingsView(discord.ui.View):
    def __init__(self, bot: FactBot, guild_id: int, channel_id: int | None) -> None:
        super().__init__(timeout=600)
        self.bot = bot
        self.guild_id = guild_id
        self.channel_id = channel_id
        styles = [*model.REPLY_STYLES, "default"]
        self.style_select: discord.ui.Select[SettingsView] = discord.ui.Select(
            placeholder="Reply style",
            options=[discord.SelectOption(label=STYLE_LABELS[s], value=s) for s in styles],
        )
        self.style_select.callback = self.on_style  # type: ignore[method-assign]
        self.add_item(self.style_select)
        self.list_selects: dict[str, Any] = {}
        if channel_id is None:
            for key, placeholder in (
                ("watch", "Answer only in these channels (none chosen: all)"),
                ("ignore", "Never answer in these channels"),
            ):
                select: discord.ui.ChannelSelect[SettingsView] = discord.ui.ChannelSelect(
                    placeholder=placeholder, channel_types=WATCHABLE, min_values=0, max_values=25
                )
                self._bind(select, key)
            roles: discord.ui.RoleSelect[SettingsView] = discord.ui.RoleSelect(
                placeholder="Moderator roles (none chosen: the config file's)",
                min_values=0,
                max_values=25,
            )
            self._bind(roles, "moderator_roles")
        values = discord.ui.Button[SettingsView](label="Threshold, backfill, mod log…")
        if channel_id is not None:
            values.label = "Threshold…"
        values.callback = self.on_values  # type: ignore[method-assign]
        self.add_item(values)

    def _bind(self, select: Any, key: str) -> None:
        async def callback(interaction: discord.Interaction) -> None:
            ids = [item.id for item in select.values]
            await self.save(interaction, key, ids or None)
            await self.refresh(interaction)

        select.callback = callback
        self.list_selects[key] = select
        self.add_item(select)

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        return check_manager(interaction) and interaction.guild_id == self.guild_id

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: Any, /
    ) -> None:
        await answer_error(interaction, error)

    async def on_style(self, interaction: discord.Interaction) -> None:
        value = self.style_select.values[0]
        await self.save(interaction, "reply_style", None if value == "default" else value)
        await self.refresh(interaction)

    async def on_values(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(ValuesModal(self))

    async def save(self, interaction: discord.Interaction, key: str, value: Any) -> None:
        changed = await self.bot.services.store.set_setting(
            self.guild_id, key, value, actor=actor_of(interaction), channel_id=self.channel_id
        )
        if changed:
            self.bot.settings.forget(self.guild_id)
            log.info("setting %s changed (guild %d)", key, self.guild_id)

    async def refresh(self, interaction: discord.Interaction) -> None:
        embed = await settings_embed(self.bot, self.guild_id, self.channel_id)
        if interaction.response.is_done():
            await interaction.edit_original_response(embed=embed, view=self)
        elif interaction.message is not None:
            await interaction.response.edit_message(embed=embed, view=self)
        else:
            await send_ephemeral(interaction, embeds=[embed])


class Settings(commands.Cog):
    def __init__(self, bot: FactBot) -> None:
        self.bot = bot

    @app_commands.command(name="settings")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.check(check_manager)
    @app_commands.describe(channel="Show and change one channel's own reply style and threshold")
    async def settings(
        self,
        interaction: discord.Interaction,
        channel: discord.TextChannel | discord.ForumChannel | discord.VoiceChannel | None = None,
    ) -> None:
        """Where and how factbot answers in this server (Manage Server)."""
        assert interaction.guild_id is not None
        channel_id = channel.id if channel is not None else None
        embed = await settings_embed(self.bot, interaction.guild_id, channel_id)
        view = SettingsView(self.bot, interaction.guild_id, channel_id)
        await interaction.response.send_message(embed=embed, view=view, ephemeral=True)


async def setup(bot: FactBot) -> None:
    await bot.add_cog(Settings(bot))
