"""The Discord front end: the bot class and ``run_bot``, which ``factbot run`` calls.

Resources (store, HTTP client, checker) are opened by ``run_bot`` and handed to the bot, as in
discord.py's ``examples/advanced_startup.py``; ``setup_hook`` only loads the extensions.
Application commands are synced by the owner (``@factbot sync``), never on start.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
from discord.ext import commands

from bot.article import read_article
from bot.checking import RepeatGuard
from bot.config import Config
from bot.live import Recorder, SettingsBook, defaults_from
from bot.services import Services, open_services

log = logging.getLogger(__name__)

WARM_UP_PAGE = "<html><head><title>warm-up</title></head><body><p>factbot.</p></body></html>"

EXTENSIONS: tuple[str, ...] = (
    "cogs.errors",
    "cogs.links",
    "cogs.claims",
    "cogs.sources",
    "cogs.admin",
    "cogs.settings",
    "cogs.live",
    "cogs.community",
)

INTENTS_HELP = (
    "Discord refused the Message Content intent: enable it for this bot in the developer portal "
    "(Applications > your bot > Bot > Privileged Gateway Intents > Message Content Intent)"
)
TOKEN_HELP = "Discord refused the token: check DISCORD_TOKEN (Bot > Reset Token in the portal)"


def bot_intents() -> discord.Intents:
    """Servers, their messages, and message content (privileged: links in ordinary messages)."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.message_content = True
    return intents


class FactBot(commands.AutoShardedBot):
    """factbot's bot: holds the services every cog uses (no globals).

    Always auto-sharded: with no shard options discord.py asks Discord how many shards to run and
    runs them all here; ``shard_ids``/``shard_count`` give this process its part of them, so
    several processes (against one PostgreSQL store) share the gateway.
    """

    def __init__(
        self,
        services: Services,
        *,
        shard_ids: list[int] | None = None,
        shard_count: int | None = None,
    ) -> None:
        owners = set(services.config.discord.owner_ids)
        options: dict[str, Any] = {"owner_ids": owners} if owners else {}
        if shard_count is not None:
            options["shard_count"] = shard_count
        if shard_ids is not None:
            options["shard_ids"] = shard_ids
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=bot_intents(),
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            **options,
        )
        self.services = services
        # Shared by the live path and backfill: the same link in a channel is answered once a
        # window, a server's settings are read once until they change, replies are recorded.
        config = services.config
        self.repeat_guard = RepeatGuard(
            window_s=config.replies.repeat_window_minutes * 60, store=services.store
        )
        self.settings = SettingsBook(services.store, defaults_from(config))
        self.recorder = Recorder(services.store)
        self._background: set[asyncio.Task[Any]] = set()
        self._gateway_prepared = False

    async def setup_hook(self) -> None:
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        # trafilatura's first extraction in a process costs ~50 ms of set-up; pay it now, not
        # on the first link a member posts.
        await read_article(WARM_UP_PAGE, "https://example.com/")
        embedder = self.services.checker.ranker.embedder
        if embedder is not None:
            self.start_background(self._embed_missing_claims(embedder), name="embed-claims")

    def owns_guild(self, guild_id: int | None) -> bool:
        """Whether this process runs the shard of ``guild_id`` (DMs: shard 0), so that of the
        processes sharing a store and following its change feed, one acts for each server."""
        if self.shard_ids is None or not self.shard_count:
            return True
        shard = 0 if guild_id is None else (guild_id >> 22) % self.shard_count
        return shard in self.shard_ids

    def own_shards(self) -> tuple[list[int], int] | None:
        """(shard ids, shard count) this process runs, or None when it runs them all."""
        if self.shard_ids is None or not self.shard_count:
            return None
        return list(self.shard_ids), self.shard_count

    def start_background(self, coro: Any, *, name: str) -> asyncio.Task[Any]:
        """A task the bot keeps a reference to (else it may be garbage-collected mid-run)."""
        task = asyncio.create_task(coro, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def _embed_missing_claims(self, embedder: Any) -> None:
        from bot.ranking import embed_missing_claims

        try:
            added = await embed_missing_claims(self.services.store, embedder)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("embedding claims without vectors failed; lexical order is used for them")
            return
        if added:
            log.info("embedded %d claims that had no vector", added)

    async def on_ready(self) -> None:
        assert self.user is not None
        log.info("connected as %s (id %d) to %d servers", self.user, self.user.id, len(self.guilds))

    async def _async_setup_hook(self) -> None:
        await super()._async_setup_hook()
        self._gateway_prepared = True

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        if not self._gateway_prepared:
            # AutoShardedClient.close() posts to the shard queue that login() makes; a bot
            # closed without ever connecting (a failed start, tests) would raise instead.
            await self._async_setup_hook()
        await super().close()


def setup_logging(level: str) -> None:
    """Log at the configured level; keeps the handler ``factbot``'s CLI installed, if any."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    root.setLevel(level)
    # discord.py's gateway chatter at DEBUG would drown ours.
    logging.getLogger("discord").setLevel(max(logging.getLevelName(level), logging.INFO))
    # trafilatura and htmldate warn about every odd page a stranger posts; that is not news.
    for noisy in ("trafilatura", "htmldate"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


async def run_bot(
    config: Config,
    *,
    db_path: str | None = None,
    shard_ids: list[int] | None = None,
    shard_count: int | None = None,
) -> None:
    """Open the services, connect to Discord (these shards, or all) and answer until stopped."""
    from bot.cli import UsageError

    setup_logging(config.log_level)
    token = config.discord.token
    if not token:
        raise UsageError("no Discord token: set DISCORD_TOKEN")
    async with open_services(config, db_path=db_path) as services:
        bot = FactBot(services, shard_ids=shard_ids, shard_count=shard_count)
        if shard_count is not None:
            log.info("running shards %s of %d", bot.shard_ids or "all", shard_count)
        try:
            async with bot:
                await bot.start(token)
        except discord.LoginFailure:
            log.error(TOKEN_HELP)
            raise UsageError(TOKEN_HELP) from None
        except discord.PrivilegedIntentsRequired:
            log.error(INTENTS_HELP)
            raise UsageError(INTENTS_HELP) from None
