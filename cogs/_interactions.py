"""Answering an interaction: one helper that works whether or not it was answered already."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import discord

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()


async def send_ephemeral(
    interaction: discord.Interaction,
    content: str | None = None,
    *,
    embeds: Sequence[discord.Embed] = (),
) -> None:
    """A private answer: the answer itself, or a follow-up once answered or deferred."""
    if interaction.response.is_done():
        await interaction.followup.send(
            content if content is not None else discord.utils.MISSING,
            embeds=list(embeds),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )
    else:
        await interaction.response.send_message(
            content,
            embeds=list(embeds),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )


async def defer_ephemeral(interaction: discord.Interaction) -> None:
    """Buy time (Discord allows 3 s for the first answer) for work that may take longer."""
    if not interaction.response.is_done():
        await interaction.response.defer(ephemeral=True, thinking=True)


def actor_of(interaction: discord.Interaction) -> str:
    """Who changed something, as the audit log records it."""
    return f"discord:{interaction.user.id}"
