"""Members shape the notes (issue 11): "Request a fact-check", ``/notify``, the helpfulness
buttons' registration, new requests batched into the mod log, and data that leaves with a server.

``/claim queue`` (moderators) lives with the other ``/claim`` commands; its view is in
``cogs/_queue.py``, the vote buttons in ``cogs/_votes.py``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.community import filed_answer, request_items, requests_digest
from bot.store import CheckRequest
from cogs._interactions import defer_ephemeral, send_ephemeral
from cogs._modlog import post_to_mod_log
from cogs._queue import notify_answered
from cogs._votes import VoteButton

if TYPE_CHECKING:
    from bot.client import FactBot

log = logging.getLogger(__name__)

# New requests reach a mod log at most once a minute, in one message.
DIGEST_INTERVAL_S = 60.0
RETENTION_INTERVAL_S = 3600.0
RETENTION_ACTOR = "factbot:retention"


class Community(commands.Cog):
    def __init__(self, bot: FactBot) -> None:
        self.bot = bot
        self.store = bot.services.store
        self.config = bot.services.config.community
        self.request_menu = app_commands.ContextMenu(
            name="Request a fact-check", callback=self.request_check
        )
        app_commands.guild_only()(self.request_menu)
        self._tasks: list[asyncio.Task[Any]] = []

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.request_menu)
        # Once at start-up: a vote button posted before a restart is answered from its id.
        self.bot.add_dynamic_items(VoteButton)
        self._tasks = [
            asyncio.create_task(
                self._every(DIGEST_INTERVAL_S, self.post_new_requests), name="digest"
            ),
            asyncio.create_task(
                self._every(RETENTION_INTERVAL_S, self.forget_departed), name="retention"
            ),
        ]

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.request_menu.name, type=self.request_menu.type)
        self.bot.remove_dynamic_items(VoteButton)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _every(self, seconds: float, work: Any) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await work()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("%s failed; tried again later", work.__name__, exc_info=True)

    # --- requests ---------------------------------------------------------------------------

    async def request_check(
        self, interaction: discord.Interaction, message: discord.Message
    ) -> None:
        """File a message's links (or its text) into the server's queue for the moderators."""
        assert interaction.guild_id is not None  # guild_only
        await defer_ephemeral(interaction)
        items = request_items(
            message.content, max_links=self.bot.services.config.replies.max_links_per_message
        )
        keys = [item.key for item in items if item.kind == "url"]
        known = await self.store.claims_for_url_keys(keys, guild_id=interaction.guild_id)
        # A link factbot already has notes on is not a request: posting it shows them.
        wanted = [item for item in items if item.kind != "url" or not known.get(item.key)]
        filed = []
        if wanted:
            filed = await self.store.file_requests(
                interaction.guild_id,
                wanted,
                member_id=interaction.user.id,
                channel_id=message.channel.id,
                message_id=message.id,
                per_hour=self.config.requests_per_hour,
            )
            log.info("%d request(s) filed (guild %d)", len(filed), interaction.guild_id)
        await send_ephemeral(interaction, filed_answer(filed, len(items) - len(wanted)))

    @app_commands.command(name="notify")
    @app_commands.guild_only()
    @app_commands.describe(state="on: a DM when one of your fact-check requests is answered")
    async def notify(self, interaction: discord.Interaction, state: Literal["on", "off"]) -> None:
        """Get a DM when a fact-check you asked for here is answered (or stop)."""
        assert interaction.guild_id is not None
        await self.store.set_notify(interaction.guild_id, interaction.user.id, state == "on")
        if state == "on":
            text = "You will get a DM when a fact-check you asked for here is answered."
        else:
            text = "No more DMs about your fact-check requests here."
        await send_ephemeral(interaction, text)

    async def post_new_requests(self) -> None:
        """One mod-log message per server for the requests filed since the last one; and
        requests answered by claims the change feed did not show (added while offline)."""
        closed = await self.store.close_covered_requests(None)
        if closed:
            await notify_answered(self.bot, closed)
        # Taken (marked logged) before posting: of several processes sharing a store, one
        # posts each digest; a crash in between loses a digest rather than doubling it.
        # Only this process's servers: another's mod-log channels are not in its cache.
        fresh = await self.store.take_unlogged_requests(shards=self.bot.own_shards())
        by_guild: dict[int, list[CheckRequest]] = {}
        for request in fresh:
            by_guild.setdefault(request.guild_id, []).append(request)
        for guild_id, requests in by_guild.items():
            await post_to_mod_log(self.bot, guild_id, [requests_digest(requests)])

    # --- retention --------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        grace_s = self.config.forget_after_days * 86400
        await self.store.schedule_forget(guild.id, grace_s=grace_s)
        log.info("left guild %d: its data is deleted in %.0f days", guild.id, grace_s / 86400)

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        if await self.store.cancel_forget(guild.id):
            log.info("back in guild %d: its data is kept", guild.id)

    async def forget_departed(self) -> list[int]:
        """Delete the data of servers left longer ago than the grace period, and requests
        closed longer ago than the corrections horizon."""
        horizon_s = self.bot.services.config.live.corrections_horizon_days * 86400
        await self.store.forget_closed_requests(before=time.time() - horizon_s)
        forgotten = []
        for guild_id in await self.store.due_forgets():
            # Only the process running a server's shard can tell whether the bot is back in it;
            # to any other, every server looks absent.
            if not self.bot.owns_guild(guild_id):
                continue
            if self.bot.get_guild(guild_id) is not None:
                await self.store.cancel_forget(guild_id)  # back while we were offline
                continue
            await self.store.forget_guild(guild_id, actor=RETENTION_ACTOR)
            self.bot.settings.forget(guild_id)
            forgotten.append(guild_id)
        return forgotten


async def setup(bot: FactBot) -> None:
    await bot.add_cog(Community(bot))
