"""Links posted in messages, ``/factcheck`` and the "Check links" message command.

The bot replies in public only when it knows something about a link, once per link per channel
within the repeat window, in the channels and the style the server chose (``/settings``); the
two commands always answer, in private. Links seen are remembered (keys and ids) for backfill.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import links
from bot.checking import CheckResult, Preview, RepeatGuard
from bot.replies import render_answer, render_search_answer
from bot.settings import GuildSettings, with_threshold
from bot.store import SeenLink
from cogs._interactions import defer_ephemeral, send_ephemeral
from cogs._posting import post_reply, scope_of

if TYPE_CHECKING:
    from bot.client import FactBot

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 1000
#: An edit of a message the client no longer holds is checked only when the message is this
#: recent (seconds): Discord's preview arrives within seconds, a member's fixed link within
#: minutes; a day-old message pinned or with its embed refreshed is nobody's news.
UNCACHED_EDIT_MAX_AGE_S = 600


def previews_of(message: discord.Message) -> list[Preview]:
    """The link previews Discord attached to a message."""
    return [Preview(e.url, e.title, e.description) for e in message.embeds]


class Links(commands.Cog):
    def __init__(self, bot: FactBot) -> None:
        self.bot = bot
        self.checker = bot.services.checker
        self.replies = bot.services.config.replies
        self.guard: RepeatGuard = bot.repeat_guard
        self.check_links_menu = app_commands.ContextMenu(
            name="Check links", callback=self.check_links
        )
        # Messages being answered: a lock each, and how many checks of it want the lock.
        self._answering: dict[int, tuple[asyncio.Lock, list[int]]] = {}

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.check_links_menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.check_links_menu.name, type=self.check_links_menu.type)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        content = message.content
        # The fast path: most messages have no link, and this runs for every message.
        if "http" not in content.lower():
            return
        await self._answer(message, content)

    @commands.Cog.listener()
    async def on_message_edit(self, before: discord.Message, after: discord.Message) -> None:
        """Links a member added by editing, and Discord's link preview, which usually arrives
        in an edit a second after the message: the page itself may not have been readable
        (paywalls, bot walls), and the preview's title and description can still match.

        Only links that are new in the text, or whose preview is new, are checked; the repeat
        guard keeps it to one reply per link per channel, as for new messages, and a link the
        message already got a reply about is never answered again, whatever the window.
        """
        content = after.content
        if "http" not in content.lower():
            return
        limit = self.replies.max_links_per_message
        old_links = {
            links.canonical_url_or_none(u) for u in links.extract_links(before.content, limit)
        }
        old_previews = {(p.url, p.title, p.description) for p in previews_of(before)}
        new_previews = {
            links.canonical_url_or_none(p.url)
            for p in previews_of(after)
            if (p.url, p.title, p.description) not in old_previews
        }
        wanted = [
            url
            for url in links.extract_links(content, limit)
            if (key := links.canonical_url_or_none(url)) not in old_links or key in new_previews
        ]
        if wanted:
            await self._answer(after, " ".join(wanted), edited=True)

    @commands.Cog.listener()
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        """An edit of a message the client no longer holds: its cache keeps the last 1,000
        messages, which a busy bot's servers post in seconds, and none from before a restart.
        discord.py then calls no ``on_message_edit``, and what the message said before is
        unknown: all of a recent message's links are checked as an edit's (never a second
        reply about a link in this message, the repeat window as ever); an older message's
        edit is ignored (:data:`UNCACHED_EDIT_MAX_AGE_S`)."""
        if payload.cached_message is not None:
            return  # on_message_edit has both versions
        message = payload.message
        if "http" not in message.content.lower():
            return
        age = (discord.utils.utcnow() - message.created_at).total_seconds()
        if age > UNCACHED_EDIT_MAX_AGE_S:
            return
        await self._answer(message, message.content, edited=True)

    async def _answer(
        self, message: discord.Message, content: str, *, edited: bool = False
    ) -> None:
        """Check the links in ``content`` and reply about those known and not yet answered
        (``edited``: not in this message either, whatever the repeat window)."""
        author = message.author
        if author.bot or message.webhook_id is not None:
            return
        # One check of a message at a time: Discord's preview usually arrives in an edit while
        # the message itself is still being checked, and the edit must see that reply.
        lock, users = self._answering.setdefault(message.id, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                await self._answer_now(message, content, edited=edited)
        finally:
            users[0] -= 1
            if not users[0]:
                del self._answering[message.id]

    async def _answer_now(self, message: discord.Message, content: str, *, edited: bool) -> None:
        author = message.author
        guild_id = message.guild.id if message.guild is not None else None
        channel_id = message.channel.id
        try:
            settings = await self.bot.settings.get(guild_id)
            scope = scope_of(message.channel)
            if not settings.watches(scope):
                return
            result = await self.checker.check_text(
                content, guild_id=guild_id, user_id=author.id, previews=previews_of(message)
            )
        except Exception:
            # A listener has no one to answer: log with where it happened, stay silent.
            log.exception("checking a message failed (guild %s, channel %s)", guild_id, channel_id)
            return
        result = with_threshold(result, settings.threshold_for(scope), self.checker.reply_threshold)
        self.remember_links(message, result, settings)
        style = settings.style_for(scope)
        if style == "off":
            return
        known = result.known
        if edited and known:
            try:
                answered = await self.bot.recorder.replied_keys([message.id])
            except Exception:
                log.exception(
                    "reading earlier replies failed (guild %s, channel %s)", guild_id, channel_id
                )
                return
            known = tuple(r for r in known if (message.id, r.canonical_url) not in answered)
        fresh = tuple(
            [r for r in known if await self.guard.first_time(channel_id, r.canonical_url)]
        )
        if not fresh:
            return
        await post_reply(
            self.bot,
            message,
            CheckResult(fresh),
            style=style,
            guild_id=guild_id,
            channel_id=channel_id,
        )

    def remember_links(
        self, message: discord.Message, result: CheckResult, settings: GuildSettings
    ) -> None:
        """Keys of a message's links (and of where they lead) for backfill: ids, never text."""
        if message.guild is None or settings.backfill_hours <= 0:
            return
        now = time.time()
        keys: dict[str, None] = {}
        for report in result.links:
            keys[report.canonical_url] = None
            final = links.canonical_url_or_none(report.final_url)
            if final is not None:
                keys[final] = None
        self.bot.recorder.seen(
            SeenLink(
                guild_id=message.guild.id,
                channel_id=message.channel.id,
                message_id=message.id,
                url_key=key,
                seen_at=now,
                expires_at=now + settings.backfill_hours * 3600,
            )
            for key in keys
        )

    async def private_answer(
        self,
        interaction: discord.Interaction,
        text: str,
        previews: list[Preview] | None = None,
        *,
        channel: Any = None,
    ) -> list[discord.Embed]:
        """What factbot knows about a text: its links if it has any, else the claim it states.

        Judged with the reply threshold of ``channel`` (the command's channel by default), so
        that the answer tells what the bot says, or would say, there.
        """
        guild_id = interaction.guild_id
        settings = await self.bot.settings.get(guild_id)
        where = channel if channel is not None else interaction.channel
        threshold = settings.threshold_for(scope_of(where)) if where is not None else None
        default = self.checker.reply_threshold
        if links.extract_links(text, self.replies.max_links_per_message):
            result = await self.checker.check_text(
                text, guild_id=guild_id, user_id=interaction.user.id, previews=previews or ()
            )
            result = with_threshold(result, threshold, default)
            return render_answer(result, max_sources=self.replies.max_sources)
        matches = await self.checker.search_text(text[:MAX_QUERY_CHARS], guild_id=guild_id)
        return render_search_answer(
            matches,
            threshold=default if threshold is None else threshold,
            max_sources=self.replies.max_sources,
        )

    @app_commands.command(name="factcheck")
    @app_commands.describe(text="A link, or the claim in your own words")
    async def factcheck(
        self, interaction: discord.Interaction, text: app_commands.Range[str, 1, 2000]
    ) -> None:
        """What factbot knows about a link or a claim (only you see the answer)."""
        await defer_ephemeral(interaction)
        await send_ephemeral(interaction, embeds=await self.private_answer(interaction, text))

    async def check_links(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """The "Check links" message command: /factcheck on someone else's message."""
        if not message.content.strip():
            await send_ephemeral(interaction, "That message has no text to check.")
            return
        await defer_ephemeral(interaction)
        embeds = await self.private_answer(
            interaction, message.content, previews_of(message), channel=message.channel
        )
        await send_ephemeral(interaction, embeds=embeds)


async def setup(bot: FactBot) -> None:
    await bot.add_cog(Links(bot))
