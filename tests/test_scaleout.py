"""Two bot processes on one PostgreSQL store: each message answered once, each new page read once.

Two ``FactBot`` objects stand for two processes (each with its own store pool, HTTP client and
memory); Discord's gateway is replaced by handing the same spec'd fake message to both, as a
resumed shard or a mis-split would deliver it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from bot.client import FactBot
from bot.ranking import Ranker
from bot.services import open_services
from bot.store import Store
from tests.fakes import FakeGuild, FakeMessage, FakeTextChannel
from tests.servers import LocalServer
from tests.test_pipeline import claim_at, config_for, page

BURST = 12  # messages, each in its own channel, each delivered to both processes


@pytest.fixture
async def two_bots(postgres_url: str, http_server: LocalServer) -> AsyncIterator[list[FactBot]]:
    config = config_for(http_server)
    async with AsyncExitStack() as stack:
        bots = []
        for _ in range(2):
            services = await stack.enter_async_context(
                open_services(config, db_path=postgres_url, ranker=Ranker())
            )
            bot = FactBot(services)
            await bot.setup_hook()
            stack.push_async_callback(bot.close)
            bots.append(bot)
        yield bots


async def deliver(bot: FactBot, message: FakeMessage) -> None:
    links_cog = bot.get_cog("Links")
    assert links_cog is not None
    await links_cog.on_message(message)  # type: ignore[attr-defined]


async def test_a_burst_of_one_new_link_on_two_processes_is_answered_once_and_read_once(
    two_bots: list[FactBot], http_server: LocalServer
) -> None:
    store: Store = two_bots[0].services.store
    article = http_server.url("/news/2026/bridge-closure")
    await claim_at(store, article, "The bridge is closing for good")
    # A link nobody posted before, whose page names the known article as its canonical URL:
    # only reading the page tells what it is.
    http_server.route(
        "/story.php", body=page("Bridge closes", head=f'<link rel="canonical" href="{article}">')
    )
    posted = http_server.url("/story.php?id=5")
    guild = FakeGuild()
    messages = [
        FakeMessage(
            content=f"seen this? {posted}", guild=guild, channel=FakeTextChannel(guild=guild)
        )
        for _ in range(BURST)
    ]

    await asyncio.gather(*(deliver(bot, m) for m in messages for bot in two_bots))

    assert [m.reply.await_count for m in messages] == [1] * BURST
    assert http_server.paths().count("/story.php") == 1
    # The next message in one of those channels is a repeat, whichever process sees it.
    again = FakeMessage(content=posted, guild=guild, channel=messages[0].channel)
    await asyncio.gather(*(deliver(bot, again) for bot in two_bots))
    assert again.reply.await_count == 0


async def test_a_members_fetch_limit_holds_across_processes(
    two_bots: list[FactBot], http_server: LocalServer
) -> None:
    limit = two_bots[0].services.config.pages.user_fetches_per_minute
    stores = [bot.services.store for bot in two_bots]
    allowed = [
        await stores[i % 2].allow_member_fetch(7, per_minute=limit) for i in range(limit + 3)
    ]
    assert allowed == [True] * limit + [False] * 3
    assert await stores[1].allow_member_fetch(8, per_minute=limit)


async def test_a_members_fetch_limit_is_a_sliding_minute(postgres_url: str) -> None:
    from bot.services import open_store

    store = await open_store(postgres_url)
    try:
        allowed = [
            await store.allow_member_fetch(9, per_minute=2, now=t) for t in (1000, 1001, 1002)
        ]
        assert allowed == [True, True, False]
        assert not await store.allow_member_fetch(9, per_minute=2, now=1059.5)
        # A minute after the first fetch, one more is allowed (the second is still counted).
        assert await store.allow_member_fetch(9, per_minute=2, now=1060.5)
        assert not await store.allow_member_fetch(9, per_minute=2, now=1060.6)
    finally:
        await store.close()


async def test_the_repeat_window_is_claimed_once_a_window(postgres_url: str) -> None:
    from bot.services import open_store

    stores = [await open_store(postgres_url) for _ in range(2)]
    try:
        first, second = stores
        claims = await asyncio.gather(
            *(s.claim_first_reply(5, "example.com/a", window_s=60, now=1000.0) for s in stores)
        )
        assert sorted(claims) == [False, True]
        assert not await second.claim_first_reply(5, "example.com/a", window_s=60, now=1059.0)
        assert await first.claim_first_reply(6, "example.com/a", window_s=60, now=1059.0)
        # After the window the link is answered again, by whichever process sees it first.
        assert await second.claim_first_reply(5, "example.com/a", window_s=60, now=1060.0)
    finally:
        for store in stores:
            await store.close()


async def test_two_processes_answer_a_link_once_even_in_a_one_second_window(
    postgres_url: str,
) -> None:
    from bot.checking import RepeatGuard
    from bot.services import open_store

    stores = [await open_store(postgres_url) for _ in range(2)]
    try:
        first, second = (RepeatGuard(window_s=1, store=s) for s in stores)
        assert await first.first_time(5, "example.com/a")
        assert not await second.first_time(5, "example.com/a")
        # A zero window answers every post, in every process.
        always = [RepeatGuard(window_s=0, store=s) for s in stores]
        assert [await g.first_time(5, "example.com/b") for g in always * 2] == [True] * 4
    finally:
        for store in stores:
            await store.close()


async def test_the_mod_log_digest_of_new_requests_is_taken_by_one_process(
    postgres_url: str,
) -> None:
    from bot.community import request_items
    from bot.services import open_store

    stores = [await open_store(postgres_url) for _ in range(2)]
    try:
        for member in range(1, 7):
            await stores[0].file_requests(
                111,
                request_items(f"https://unknown.example.net/story/{member}"),
                member_id=member,
                channel_id=5,
                message_id=member * 10,
                per_hour=10,
            )
        taken = await asyncio.gather(*(s.take_unlogged_requests() for s in stores))
        ids = [r.id for batch in taken for r in batch]
        assert sorted(ids) == sorted(set(ids)) and len(ids) == 6  # each once, none lost
        assert await stores[1].take_unlogged_requests() == []
    finally:
        for store in stores:
            await store.close()


async def test_of_processes_following_one_change_feed_the_one_running_the_shard_acts(
    tmp_path: Path,
) -> None:
    from bot.store import ReplyRecord
    from tests.test_live import make_config

    # Discord puts a server on shard (id >> 22) % count; this process runs shard 0 of 2.
    ours, theirs = 4 << 22, 5 << 22
    config = make_config()
    async with open_services(
        config, db_path=str(tmp_path / "t.db"), fetch_pages=False, ranker=Ranker()
    ) as services:
        bot = FactBot(services, shard_ids=[0], shard_count=2)
        await bot.setup_hook()
        try:
            assert bot.owns_guild(ours) and not bot.owns_guild(theirs)
            live: Any = bot.get_cog("Live")
            records = [
                ReplyRecord(guild, 5, 10 + i, 11 + i, "full", (), 0.0, id=i + 1)
                for i, guild in enumerate((ours, theirs))
            ]
            live.correct_here(records, [1])
            assert len(live.corrections) == 1  # the other server's reply is the other's to edit
        finally:
            await bot.close()
    alone = FactBot(services)  # no --shard-ids: every shard is this process's
    try:
        assert alone.owns_guild(ours) and alone.owns_guild(theirs)
    finally:
        await alone.close()
