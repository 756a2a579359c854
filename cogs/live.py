"""The bot follows the store: polls the change feed, corrects earlier replies, backfills.

Every ``[live] poll_seconds`` the :class:`bot.live.Follower` flushes the replies and links
recorded since the last tick and reads the audit log forward. This cog supplies what talks to
Discord: editing a reply (paced by the :class:`bot.live.CorrectionQueue`), posting a backfilled
reply in the channel's style, and posting settings changes to a server's mod log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from bot import links
from bot.checking import CheckResult, LinkReport, Match
from bot.community import mod_log_line
from bot.live import (
    DELETED,
    DONE,
    FORBIDDEN,
    RETRY,
    BackfillTarget,
    CorrectionQueue,
    Follower,
    reports_now,
    shown_of,
    shown_verdicts,
)
from bot.replies import (
    OUTLET_MARK,
    VERDICT_MARKS,
    reaction_for,
    render_compact_current,
    render_current,
)
from bot.store import AuditEntry, ClosedRequest, ReplyRecord, ShownLink
from cogs._interactions import NO_MENTIONS
from cogs._modlog import post_to_mod_log
from cogs._posting import DetailsButton, post_reply, scope_of
from cogs._queue import notify_answered

if TYPE_CHECKING:
    from bot.client import FactBot

log = logging.getLogger(__name__)

MOD_LOG_LINES = 30  # per server and poll


class Live(commands.Cog):
    def __init__(self, bot: FactBot) -> None:
        self.bot = bot
        self.store = bot.services.store
        live = bot.services.config.live
        self.poll_seconds = live.poll_seconds
        self.corrections = CorrectionQueue(
            self.store,
            self.edit_reply,
            interval_s=live.correction_interval_s,
            attempts=live.correction_attempts,
        )
        self.follower = Follower(
            self.store,
            bot.settings,
            bot.recorder,
            horizon_s=live.corrections_horizon_days * 86400,
            correct=self.correct_here,
            backfill=self.backfill,
            mod_log=self.post_mod_log,
            answered=self.answered,
        )
        self._tasks: list[asyncio.Task[Any]] = []

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(DetailsButton)
        await self.follower.start()
        self._tasks = [
            asyncio.create_task(self._poll_forever(), name="change-feed"),
            asyncio.create_task(self.corrections.run(), name="corrections"),
        ]

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(DetailsButton)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        try:
            await self.bot.recorder.flush()
        except Exception:
            log.warning("replies recorded at shutdown were not saved", exc_info=True)

    async def _poll_forever(self) -> None:
        while True:
            try:
                await self.follower.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                # A locked or closed store: the next tick tries again.
                log.warning("reading the change feed failed", exc_info=True)
            await asyncio.sleep(self.poll_seconds)

    # --- corrections ------------------------------------------------------------------------

    async def edit_reply(
        self, record: ReplyRecord, changed: Collection[int]
    ) -> tuple[str, tuple[ShownLink, ...] | None]:
        """Edit one earlier reply to show its claims as they are now."""
        reports = await reports_now(self.store, [record])
        channel = self.bot.get_partial_messageable(record.channel_id, guild_id=record.guild_id)
        try:
            if record.style == "reaction":
                message = channel.get_partial_message(record.message_id)
                await self._react_again(message, record, CheckResult(tuple(reports)))
            else:
                assert record.reply_id is not None
                message = channel.get_partial_message(record.reply_id)
                if record.style == "compact":
                    content = render_compact_current(
                        reports, posted_at=record.posted_at, corrected=changed
                    )
                    if content is None:
                        return DONE, None
                    await message.edit(content=content, allowed_mentions=NO_MENTIONS)
                else:
                    embeds = render_current(
                        reports,
                        posted_at=record.posted_at,
                        shown_verdicts=shown_verdicts([record]),
                        corrected=changed,
                        max_sources=self.bot.services.config.replies.max_sources,
                    )
                    if not embeds:
                        return DONE, None
                    await message.edit(embeds=embeds, allowed_mentions=NO_MENTIONS)
        except discord.NotFound:
            return DELETED, None
        except discord.Forbidden:
            return FORBIDDEN, None
        except discord.HTTPException as exc:
            log.info("editing reply %s failed: %s %s", record.id, exc.status, exc.code)
            return RETRY, None
        return DONE, shown_of(CheckResult(tuple(reports)))

    async def _react_again(
        self, message: discord.PartialMessage, record: ReplyRecord, current: CheckResult
    ) -> None:
        """The reaction style: swap the emoji for the new verdict's (none for a withdrawn note)."""
        first = record.links[0] if record.links else None
        old = OUTLET_MARK
        if first is not None and first.claims:
            old = VERDICT_MARKS.get(first.claims[0][1], "❔")
        new: str | None = None
        if current.known:
            first_known = current.known[0]
            withdrawn = bool(first_known.matches) and not first_known.matches[0].claim.active
            if not withdrawn:
                new = reaction_for(current)
        if new != old and self.bot.user is not None:
            await message.remove_reaction(old, self.bot.user)
        if new is not None:
            # Also when it is the emoji recorded: a withdrawn note's was removed, and the record
            # keeps the verdict (adding a reaction the bot already made changes nothing).
            await message.add_reaction(new)

    # --- backfill ---------------------------------------------------------------------------

    def correct_here(self, records: Sequence[ReplyRecord], claim_ids: Collection[int]) -> None:
        # Every process sharing a store follows its change feed: the one running a server's
        # shard edits that server's replies, backfills and posts to its mod log.
        self.corrections.add([r for r in records if self.bot.owns_guild(r.guild_id)], claim_ids)

    async def backfill(self, targets: Sequence[BackfillTarget]) -> None:
        """Give messages posted before a claim gained their link the reply they would have got."""
        for target in targets:
            if not self.bot.owns_guild(target.guild_id):
                continue
            try:
                await self._backfill_one(target)
            except Exception:
                log.exception(
                    "backfill failed (guild %s, channel %s)", target.guild_id, target.channel_id
                )

    async def _backfill_one(self, target: BackfillTarget) -> None:
        settings = await self.bot.settings.get(target.guild_id)
        channel = self.bot.get_channel(target.channel_id) or await self._fetch_channel(
            target.channel_id
        )
        if channel is None:
            return
        scope = scope_of(channel)
        style = settings.style_for(scope)
        if not settings.watches(scope) or style == "off":
            return
        found = await self.store.claims_for_url_keys(target.keys, guild_id=target.guild_id)
        reports = []
        for key in target.keys:
            claims = found.get(key)
            if not claims or not await self.bot.repeat_guard.first_time(target.channel_id, key):
                continue
            source = await self.store.source_note_for(_hosts(key), guild_id=target.guild_id)
            matches = tuple(Match(claim, "url", 1.0) for claim in claims)
            reports.append(LinkReport(url=key, canonical_url=key, matches=matches, source=source))
        if not reports:
            return
        where = self.bot.get_partial_messageable(target.channel_id, guild_id=target.guild_id)
        message = where.get_partial_message(target.message_id)
        await post_reply(
            self.bot,
            message,
            CheckResult(tuple(reports)),
            style=style,
            guild_id=target.guild_id,
            channel_id=target.channel_id,
        )

    async def _fetch_channel(self, channel_id: int) -> Any:
        """A channel the cache does not hold (a thread archived since the link was posted),
        from Discord: its parent and category decide whether and how the bot speaks there."""
        try:
            return await self.bot.fetch_channel(channel_id)
        except (discord.NotFound, discord.Forbidden):
            return None  # gone, or the bot can no longer see it: nowhere to reply

    # --- the mod log ------------------------------------------------------------------------

    async def post_mod_log(self, changes: Sequence[AuditEntry]) -> None:
        """Tell each server's mod log (when it has one) who changed what: claims, sources,
        settings, and claims members flagged (one packed post per server and tick)."""
        by_guild: dict[int, list[str]] = {}
        for entry in changes:
            if not self.bot.owns_guild(entry.guild_id):
                continue
            line = mod_log_line(entry) if entry.guild_id is not None else None
            if line is not None and entry.guild_id is not None:
                by_guild.setdefault(entry.guild_id, []).append(line)
        for guild_id, lines in by_guild.items():
            if len(lines) > MOD_LOG_LINES:
                # A bulk import into a server: a summary, not pages of posts.
                more = len(lines) - MOD_LOG_LINES
                lines = [*lines[:MOD_LOG_LINES], f"… and {more} more changes (`/claim history`)"]
            await post_to_mod_log(self.bot, guild_id, lines)

    async def answered(self, closed: Sequence[ClosedRequest]) -> None:
        await notify_answered(self.bot, closed)


def _hosts(key: str) -> list[str]:
    try:
        return links.host_candidates(key)
    except links.InvalidURL:
        return []


async def setup(bot: FactBot) -> None:
    await bot.add_cog(Live(bot))
