"""The "Helpful" / "Not helpful" buttons under full and compact replies (issue 11).

Persistent: the custom id names the member's message the reply answered
(``factbot:vote:<message id>:up|down``) and the store has the rest, so a button posted before a
restart still works; ``cogs/community.py`` registers the item once at start-up.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from cogs._interactions import defer_ephemeral, send_ephemeral
from cogs.errors import answer_error

if TYPE_CHECKING:
    from bot.client import FactBot

log = logging.getLogger(__name__)

CHOICES = {"up": ("Helpful", True), "down": ("Not helpful", False)}


class VoteButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=r"factbot:vote:(?P<message_id>[0-9]{1,20}):(?P<choice>up|down)",
):
    """One member, one vote per reply; pressing the other button changes it."""

    def __init__(self, message_id: int, choice: str) -> None:
        label, helpful = CHOICES[choice]
        super().__init__(
            discord.ui.Button(
                label=label,
                emoji="👍" if helpful else "👎",
                style=discord.ButtonStyle.secondary,
                custom_id=f"factbot:vote:{message_id}:{choice}",
            )
        )
        self.message_id = message_id
        self.helpful = helpful

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> VoteButton:
        return cls(int(match["message_id"]), match["choice"])

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            # The vote writes (and first flushes the replies waiting to be written): on a busy
            # store that can outlast the 3 s Discord gives a button's first answer.
            await defer_ephemeral(interaction)
            await send_ephemeral(interaction, await self.vote(interaction))
        except Exception as exc:
            await answer_error(interaction, exc)

    async def vote(self, interaction: discord.Interaction) -> str:
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage()
        bot: FactBot = interaction.client  # type: ignore[assignment]
        # A reply posted seconds ago may still be waiting for the recorder's next write.
        await bot.recorder.flush()
        outcome = await bot.services.store.record_vote(
            interaction.guild_id,
            self.message_id,
            interaction.user.id,
            self.helpful,
            flag_min_members=bot.services.config.community.flag_min_members,
        )
        if outcome.flagged:
            log.info("claims %s flagged (guild %d)", outcome.flagged, interaction.guild_id)
        said = "helpful" if self.helpful else "not helpful"
        if not outcome.changed:
            return f"You already said this note is {said}."
        return f"Thanks: you said this note is {said}. The moderators see the tally."


def add_vote_buttons(view: discord.ui.View, message_id: int) -> discord.ui.View:
    view.add_item(VoteButton(message_id, "up"))
    view.add_item(VoteButton(message_id, "down"))
    return view
