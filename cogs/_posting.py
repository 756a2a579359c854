"""Posting a reply in a server's style, and the persistent "Details" button of compact replies.

Shared by the live ``on_message`` path (``cogs/links.py``) and backfill (``cogs/live.py``), so a
backfilled reply looks exactly like the one the message would have got.
"""

from __future__ import annotations

import logging
import re
import time
from typing import TYPE_CHECKING, Any

import discord

from bot.checking import CheckResult
from bot.live import reports_now, shown_of, shown_verdicts
from bot.replies import reaction_for, render_compact, render_current, render_embeds
from bot.store import ReplyRecord
from cogs._interactions import NO_MENTIONS, defer_ephemeral, send_ephemeral
from cogs._votes import add_vote_buttons
from cogs.errors import answer_error

if TYPE_CHECKING:
    from bot.client import FactBot

log = logging.getLogger(__name__)

DETAILS_GONE = "factbot no longer has anything to say about this message."


def _passing(exc: discord.HTTPException) -> bool:
    """Whether a refused reply says nothing of the next one in the channel: the member's
    message is gone (a reply to it is "Unknown message", a reaction 404), or Discord failed.
    Any other refusal (a missing permission, no Embed Links) would refuse every post again."""
    gone = exc.code == 50035 and "unknown message" in exc.text.lower()
    return gone or exc.status == 404 or exc.status >= 500


def scope_of(channel: Any) -> tuple[int, ...]:
    """A channel's id, then its parents': a thread's (or forum post's) channel, the category."""
    ids: list[Any] = [channel.id]
    if isinstance(channel, discord.Thread):
        ids.append(channel.parent_id)
        parent = channel.parent
        ids.append(getattr(parent, "category_id", None) if parent is not None else None)
    else:
        ids.append(getattr(channel, "category_id", None))
    return tuple(dict.fromkeys(i for i in ids if isinstance(i, int)))


class DetailsButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=r"factbot:details:(?P<message_id>[0-9]{1,20})",
):
    """Shows the full reply privately to whoever presses it; survives restarts (the custom id
    names the member's message, and the store has the rest)."""

    def __init__(self, message_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Details",
                style=discord.ButtonStyle.secondary,
                custom_id=f"factbot:details:{message_id}",
            )
        )
        self.message_id = message_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> DetailsButton:
        return cls(int(match["message_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            # Details first writes the replies waiting to be written, then reads: on a busy
            # store that can outlast the 3 s Discord gives a button's first answer.
            await defer_ephemeral(interaction)
            await send_ephemeral(interaction, **await details_answer(interaction, self.message_id))
        except Exception as exc:
            await answer_error(interaction, exc)


async def details_answer(interaction: discord.Interaction, message_id: int) -> dict[str, Any]:
    bot: FactBot = interaction.client  # type: ignore[assignment]
    store = bot.services.store
    await bot.recorder.flush()
    records = await store.replies_to_message(message_id, guild_id=interaction.guild_id)
    embeds = render_current(
        await reports_now(store, records),
        posted_at=min((r.posted_at for r in records), default=time.time()),
        shown_verdicts=shown_verdicts(records),
        max_sources=bot.services.config.replies.max_sources,
    )
    if not embeds:
        return {"content": DETAILS_GONE}
    return {"embeds": embeds}


def details_view(message_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(DetailsButton(message_id))
    return view


async def post_reply(
    bot: FactBot,
    target: discord.Message | discord.PartialMessage,
    result: CheckResult,
    *,
    style: str,
    guild_id: int | None,
    channel_id: int,
) -> bool:
    """Answer ``target`` about its known links in ``style``; record it. False when it failed."""
    replies = bot.services.config.replies
    reply_id: int | None = None
    # Votes need a server (tallies are per server) and a claim to be about.
    votes = guild_id is not None and any(report.matches for report in result.known)
    try:
        if style == "reaction":
            await target.add_reaction(reaction_for(result))
        else:
            if style == "compact":
                view = details_view(target.id)
                sent = await target.reply(
                    render_compact(result),
                    view=add_vote_buttons(view, target.id) if votes else view,
                    mention_author=False,
                    allowed_mentions=NO_MENTIONS,
                )
            else:
                sent = await target.reply(
                    embeds=render_embeds(result, max_sources=replies.max_sources),
                    view=add_vote_buttons(discord.ui.View(timeout=None), target.id)
                    if votes
                    else discord.utils.MISSING,
                    mention_author=False,
                    allowed_mentions=NO_MENTIONS,
                )
            reply_id = sent.id
    except discord.Forbidden:
        # The links stay answered for the window: each post would be one more refusal.
        log.warning("no permission to reply (guild %s, channel %s)", guild_id, channel_id)
        return False
    except discord.HTTPException as exc:
        log.warning(
            "reply failed (guild %s, channel %s): %s %s",
            guild_id,
            channel_id,
            exc.status,
            exc.code,
        )
        if _passing(exc):
            # Nothing was posted, and the next post of these links in the channel can be
            # answered: it is not met with a window of silence.
            try:
                for report in result.known:
                    await bot.repeat_guard.release(channel_id, report.canonical_url)
            except Exception:
                log.warning("releasing the repeat window failed", exc_info=True)
        return False
    bot.recorder.reply(
        ReplyRecord(
            guild_id=guild_id,
            channel_id=channel_id,
            message_id=target.id,
            reply_id=reply_id,
            style=style,
            links=shown_of(result),
            posted_at=time.time(),
        )
    )
    log.info(
        "replied (%s) about %d link(s) (guild %s, channel %s)",
        style,
        len(result.known),
        guild_id,
        channel_id,
    )
    return True
