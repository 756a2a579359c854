"""Issue 11 through the bot: "Request a fact-check", ``/notify``, ``/claim queue``, the vote
buttons (also after a restart), flags and the mod log, leaving and rejoining a server.

The real bot (never connected) on a real store; spec'd discord.py fakes at the Discord boundary
(messages, interactions, channels, and the client's look-ups of users and channels by id).
"""

from __future__ import annotations

import time
import unittest.mock
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest

from bot.client import FactBot
from bot.config import CommunityConfig, Config, LiveConfig, MatchingConfig, PagesConfig
from bot.ranking import Ranker
from bot.services import open_services
from bot.store import NewClaim, NotFound, RequestLimit, Store
from cogs._checks import NotModerator
from cogs.errors import answer_error
from tests.fakes import (
    FakeGuild,
    FakeInteraction,
    FakeMember,
    FakeMessage,
    FakeTextChannel,
    FakeUser,
    fill_modal,
    no_mentions,
)

URL = "https://news.example.com/2024/moon-cheese"
COPY = "https://www.news.example.com/2024/moon-cheese?utm_source=feed"
MANAGE = discord.Permissions(manage_messages=True)


def make_config() -> Config:
    return Config(
        matching=MatchingConfig(semantic="off"),
        pages=PagesConfig(enabled=False),
        live=LiveConfig(correction_interval_s=0),
        community=CommunityConfig(flag_min_members=2, forget_after_days=30),
    )


async def _bot(db: str) -> AsyncIterator[FactBot]:
    async with open_services(
        make_config(), db_path=str(db), fetch_pages=False, ranker=Ranker()
    ) as s:
        bot = FactBot(s)
        await bot.setup_hook()
        try:
            yield bot
        finally:
            await bot.close()


@pytest.fixture
def db(store_target: str) -> str:
    """The bot's store, on each engine (an SQLite file, a PostgreSQL schema)."""
    return store_target


@pytest.fixture
async def bot(db: str) -> AsyncIterator[FactBot]:
    async for made in _bot(db):
        yield made


@pytest.fixture
def store(bot: FactBot) -> Store:
    return bot.services.store


def cog(bot: FactBot, name: str) -> Any:
    found = bot.get_cog(name)
    assert found is not None
    return found


@pytest.fixture
def guild() -> FakeGuild:
    return FakeGuild()


@pytest.fixture
def mod_log(bot: FactBot, guild: FakeGuild, monkeypatch: pytest.MonkeyPatch) -> FakeTextChannel:
    """The server's mod log channel, as the bot's look-up of channels by id finds it."""
    channel = FakeTextChannel(guild=guild)
    monkeypatch.setattr(bot, "get_channel", lambda i: channel if i == channel.id else None)
    return channel


@pytest.fixture
def users(bot: FactBot, monkeypatch: pytest.MonkeyPatch) -> dict[int, FakeUser]:
    """The bot's look-up of users by id (for DMs)."""
    known: dict[int, FakeUser] = {}
    monkeypatch.setattr(bot, "get_user", lambda i: known.setdefault(i, FakeUser(id=i)))
    return known


async def request(bot: FactBot, guild: FakeGuild, member: FakeMember, text: str) -> FakeInteraction:
    asked = FakeInteraction(client=bot, guild=guild, user=member)
    message = FakeMessage(content=text, guild=guild)
    await cog(bot, "Community").request_check(asked, message)
    return asked


async def notify(bot: FactBot, guild: FakeGuild, member: FakeMember, state: str) -> None:
    community = cog(bot, "Community")
    await community.notify.callback(
        community, FakeInteraction(client=bot, guild=guild, user=member), state
    )


async def add_claim(store: Store, guild_id: int | None, urls: tuple[str, ...] = (URL,)) -> int:
    new = NewClaim(claim="The moon is made of cheese", verdict="false", note="Rock.", urls=urls)
    return (await store.add_claim(new, actor="discord:9", guild_id=guild_id)).id


async def test_two_members_on_two_copies_of_a_link_are_one_request_of_two(
    bot: FactBot, store: Store, guild: FakeGuild
) -> None:
    first = await request(bot, guild, FakeMember(guild=guild), f"look: {URL}")
    await request(bot, guild, FakeMember(guild=guild), f"again {COPY}")
    (item,) = await store.open_requests(guild.id)
    assert item.count == 2 and item.url == URL
    assert "Asked the moderators" in first.sent_text() and first.sent()[-1]["ephemeral"]
    # A link factbot knows already is no request: posting it shows the notes.
    await add_claim(store, None, ("https://known.example.org/a",))
    known = await request(bot, guild, FakeMember(guild=guild), "https://known.example.org/a")
    assert "already has notes" in known.sent_text()
    assert len(await store.open_requests(guild.id)) == 1


async def test_a_claim_answering_a_request_tells_only_the_opted_in_asker(
    bot: FactBot, store: Store, guild: FakeGuild, users: dict[int, FakeUser]
) -> None:
    opted, silent, blocked = (FakeMember(guild=guild) for _ in range(3))
    for member in (opted, silent, blocked):
        await request(bot, guild, member, URL)
    await notify(bot, guild, opted, "on")
    await notify(bot, guild, blocked, "on")
    users[blocked.id] = FakeUser(id=blocked.id)
    users[blocked.id].send.side_effect = discord.Forbidden(
        unittest_response(403), "Cannot send messages to this user"
    )
    live = cog(bot, "Live")
    await live.follower.tick()
    await add_claim(store, guild.id)
    await live.follower.tick()  # the change feed sees the claim's URL
    assert await store.open_requests(guild.id) == []
    sent = users[opted.id].send.await_args
    assert "answered your fact-check request" in sent.args[0] and no_mentions(sent.kwargs)
    assert silent.id not in users or not users[silent.id].send.await_count
    users[blocked.id].send.assert_awaited_once()  # tried, refused, dropped quietly


def unittest_response(status: int) -> Any:
    response = unittest.mock.MagicMock()
    response.status = status
    response.reason = "Forbidden"
    return response


async def test_the_queue_is_paged_and_writes_a_claim_for_a_request(
    bot: FactBot, store: Store, guild: FakeGuild, users: dict[int, FakeUser]
) -> None:
    asker = FakeMember(guild=guild)
    await notify(bot, guild, asker, "on")
    for n in range(7):
        await request(bot, guild, asker, f"https://site{n}.example.com/story")
    await request(bot, guild, FakeMember(guild=guild), "https://site3.example.com/story")
    claims = cog(bot, "Claims")
    moderator = FakeInteraction(client=bot, guild=guild, permissions=MANAGE)
    await claims.queue.callback(claims, moderator)
    first = moderator.sent()[-1]
    assert first["ephemeral"] and no_mentions(first)
    lines = first["content"].splitlines()
    assert "(7)" in lines[0] and "page 1/2" in lines[0]
    assert "site3.example.com" in lines[1] and "asked 2×" in lines[1]  # most asked first
    view = first["view"]
    turn = moderator_press(bot, guild)
    await next(b for b in view.children if b.label == "▶").callback(turn)
    assert "page 2/2" in turn.response.edit_message.await_args.kwargs["content"]

    write = next(b for b in view.children if b.label.startswith("Write"))
    press = moderator_press(bot, guild)
    await write.callback(press)
    modal = press.response.send_modal.await_args.args[0]
    assert modal.urls.default == "https://site3.example.com/story"
    fill_modal(modal, claim="Site three lies", verdict="false", note="", urls="", sources="")
    await modal.on_submit(press)
    assert len(await store.open_requests(guild.id)) == 6
    assert "answered your fact-check request" in users[asker.id].send.await_args.args[0]


def moderator_press(bot: FactBot, guild: FakeGuild) -> FakeInteraction:
    return FakeInteraction(client=bot, guild=guild, permissions=MANAGE)


# --- votes ---------------------------------------------------------


async def replied(bot: FactBot, guild: FakeGuild, style: str = "full") -> FakeMessage:
    from tests.test_live import set_setting

    await set_setting(bot, guild.id, "reply_style", style)
    message = FakeMessage(content=URL, guild=guild)
    await cog(bot, "Links").on_message(message)
    return message


def buttons(message: FakeMessage) -> dict[str, Any]:
    view = message.reply.await_args.kwargs["view"]
    return {b.custom_id: b for b in view.children}


async def press(bot: FactBot, guild: FakeGuild, custom_id: str, member: Any) -> FakeInteraction:
    """A press of a button with ``custom_id``, routed as discord.py does after a restart: by
    the dynamic items the bot registered at start-up, from the custom id alone."""
    pressed = FakeInteraction(client=bot, guild=guild, user=member)
    for pattern, item_class in bot._connection._view_store._dynamic_items.items():
        match = pattern.fullmatch(custom_id)
        if match:
            item = await item_class.from_custom_id(pressed, discord.ui.Button(), match)
            await item.callback(pressed)
            return pressed
    raise AssertionError(f"no persistent item handles {custom_id}")


async def test_votes_are_one_per_member_and_changeable(
    bot: FactBot, store: Store, guild: FakeGuild
) -> None:
    claim_id = await add_claim(store, None)
    message = await replied(bot, guild, "compact")
    up, down = f"factbot:vote:{message.id}:up", f"factbot:vote:{message.id}:down"
    assert {up, down} <= set(buttons(message))
    member = FakeMember(guild=guild)
    first = await press(bot, guild, up, member)
    assert "helpful" in first.sent_text() and first.sent()[-1]["ephemeral"]
    # Acknowledged before the vote is written (Discord allows 3 s), answered as a follow-up.
    first.response.defer.assert_awaited_once_with(ephemeral=True, thinking=True)
    first.response.send_message.assert_not_awaited()
    again = await press(bot, guild, up, member)
    assert "already" in again.sent_text()
    await press(bot, guild, down, member)
    tally = await store.vote_tally(claim_id, guild_id=guild.id)
    assert (tally.helpful, tally.not_helpful) == (0, 1)
    # /claim show shows the tally to moderators.
    claims = cog(bot, "Claims")
    shown = moderator_press(bot, guild)
    await claims.show.callback(claims, shown, claim_id)
    assert "0 helpful · 👎 1 not helpful" in shown.sent_text()


async def test_a_button_sent_before_a_restart_works_on_a_fresh_bot(
    db: str, guild: FakeGuild
) -> None:
    async for before in _bot(db):
        claim_id = await add_claim(before.services.store, None)
        message = await replied(before, guild)
        custom_id = f"factbot:vote:{message.id}:down"
        assert custom_id in buttons(message)
        await before.recorder.flush()
    async for after in _bot(db):  # a new process: nothing in memory but what setup_hook did
        pressed = await press(after, guild, custom_id, FakeMember(guild=guild))
        assert "not helpful" in pressed.sent_text()
        tally = await after.services.store.vote_tally(claim_id, guild_id=guild.id)
        assert tally.not_helpful == 1


# --- the mod log ---------------------------------------------------------


async def test_the_mod_log_gets_every_kind_of_entry_and_never_pings(
    bot: FactBot, store: Store, guild: FakeGuild, mod_log: FakeTextChannel
) -> None:
    live = cog(bot, "Live")
    await live.follower.tick()
    await store.set_setting(guild.id, "mod_log", mod_log.id, actor="discord:42")
    claim_id = await add_claim(store, guild.id)
    await store.edit_claim(claim_id, actor="discord:42", guild_id=guild.id, verdict="mixed")
    await store.set_source_note(
        "tabloid.example", "tabloid", "", actor="discord:42", guild_id=guild.id
    )
    await live.follower.tick()
    message = await replied(bot, guild)
    for _ in range(2):  # flag_min_members = 2: the second "not helpful" flags it
        await press(bot, guild, f"factbot:vote:{message.id}:down", FakeMember(guild=guild))
    await live.follower.tick()
    await request(bot, guild, FakeMember(guild=guild), "https://asked.example.com/1")
    await request(bot, guild, FakeMember(guild=guild), "@everyone is this true")
    await cog(bot, "Community").post_new_requests()
    await cog(bot, "Community").post_new_requests()  # nothing new: nothing posted

    posts = [call.args[0] for call in mod_log.send.await_args_list]
    text = "\n".join(posts)
    assert "⚙️ discord:42 set `mod_log`" in text
    assert f"📝 discord:9 create claim #{claim_id}: ❌ False: The moon is made of cheese" in text
    assert f"edit claim #{claim_id}: verdict: false → mixed" in text
    assert "🗞️ discord:42 set the note on tabloid.example: default → tabloid" in text
    assert text.count(f"🚩 Claim #{claim_id} flagged") == 1
    assert "📥 2 new fact-check request(s)" in posts[-1] and posts[-1].count("\n") == 2
    assert all(no_mentions(call.kwargs) for call in mod_log.send.await_args_list)
    assert len(posts) == 3  # one packed post per tick with changes, one for the requests


# --- leaving a server ---------------------------------------------------------


async def test_leaving_schedules_deletion_rejoining_cancels_it(
    bot: FactBot, store: Store, guild: FakeGuild, monkeypatch: pytest.MonkeyPatch
) -> None:
    community = cog(bot, "Community")
    claim_id = await add_claim(store, guild.id)
    kept = FakeGuild()
    other_claim = await add_claim(store, kept.id)
    await request(bot, guild, FakeMember(guild=guild), URL + "x")
    await community.on_guild_remove(guild)
    await community.on_guild_remove(kept)
    due = await store.scheduled_forgets()
    assert due[guild.id] == pytest.approx(time.time() + 30 * 86400, abs=60)
    await community.on_guild_join(kept)
    assert kept.id not in await store.scheduled_forgets()
    assert await community.forget_departed() == []  # the grace period has not passed

    monkeypatch.setattr(bot, "get_guild", lambda guild_id: None)
    await store.schedule_forget(guild.id, grace_s=0)
    # Of processes sharing a store, only the one running the server's shard can tell whether
    # the bot is back in it: to the others every server looks absent.
    shard = (guild.id >> 22) % 2
    monkeypatch.setattr(bot, "shard_count", 2)
    monkeypatch.setattr(bot, "shard_ids", [1 - shard])
    assert await community.forget_departed() == []
    assert guild.id in await store.scheduled_forgets()
    monkeypatch.setattr(bot, "shard_ids", [shard])
    assert await community.forget_departed() == [guild.id]
    assert await store.open_requests(guild.id) == []
    assert await store.list_claims(guild_id=guild.id) == [
        c for c in await store.list_claims(guild_id=None)
    ]
    assert (await store.get_claim(other_claim, guild_id=kept.id)).id == other_claim
    with pytest.raises(NotFound):
        await store.get_claim(claim_id, guild_id=guild.id)


async def test_a_burst_of_changes_is_summed_up_not_flooded(
    bot: FactBot, store: Store, guild: FakeGuild, mod_log: FakeTextChannel
) -> None:
    await store.set_setting(guild.id, "mod_log", mod_log.id, actor="discord:42")
    live = cog(bot, "Live")
    await live.follower.tick()
    mod_log.send.reset_mock()
    for n in range(35):
        await add_claim(store, guild.id, (f"https://bulk.example.com/{n}",))
    await live.follower.tick()
    posts = [call.args[0] for call in mod_log.send.await_args_list]
    assert len(posts) == 2 and all(len(post) <= 2000 for post in posts)
    assert posts[0].count("create claim") + posts[1].count("create claim") == 30 and posts[
        -1
    ].endswith("… and 5 more changes (`/claim history`)")


async def test_a_member_over_the_request_rate_is_told_politely(
    bot: FactBot, store: Store, guild: FakeGuild
) -> None:
    member = FakeMember(guild=guild)
    for n in range(10):  # [community] requests_per_hour, by default
        await request(bot, guild, member, f"https://many.example.com/{n}")
    over = FakeInteraction(client=bot, guild=guild, user=member)
    with pytest.raises(RequestLimit) as raised:
        await cog(bot, "Community").request_check(over, FakeMessage(content="x", guild=guild))
    await answer_error(over, raised.value)  # what the tree's error handler does
    assert "try again later" in over.sent_text()
    assert len(await store.open_requests(guild.id)) == 10


async def test_queue_buttons_check_the_moderator_again(
    bot: FactBot, store: Store, guild: FakeGuild
) -> None:
    await request(bot, guild, FakeMember(guild=guild), URL)
    claims = cog(bot, "Claims")
    moderator = moderator_press(bot, guild)
    await claims.queue.callback(claims, moderator)
    view = moderator.sent()[-1]["view"]
    member = FakeInteraction(client=bot, guild=guild)  # lost the role since
    with pytest.raises(NotModerator):
        await view.interaction_check(member)
    done = next(b for b in view.children if b.label.startswith("Done"))
    closing = moderator_press(bot, guild)
    await done.callback(closing)
    assert "closed" in closing.sent_text() and await store.open_requests(guild.id) == []
