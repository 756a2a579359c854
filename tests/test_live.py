"""Issue 10 through the bot: settings' effect on ``on_message``, reply styles, ``/settings``,
corrections of earlier replies, backfill, and the change feed reaching a running bot.

The real bot (never connected), real store and real CLI; spec'd discord.py fakes stand in for
messages and channels, and for the bot's look-ups of channels by id (Discord's, not ours).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import unittest.mock
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest
from discord import app_commands

from bot.cli import main
from bot.client import FactBot
from bot.config import Config, LiveConfig, MatchingConfig, PagesConfig, RepliesConfig
from bot.ranking import Ranker
from bot.services import open_services
from bot.store import InvalidInput, NewClaim, Source, Store
from cogs._checks import NotServerManager
from tests.fakes import (
    FakeForumChannel,
    FakeGuild,
    FakeInteraction,
    FakeMessage,
    FakePartialMessageable,
    FakeTextChannel,
    FakeThread,
    FakeUser,
    no_mentions,
)

URL = "https://news.example.com/2024/moon-cheese"
LATER_URL = "https://later.example.org/story/7"


def make_config(poll_seconds: float = 10.0) -> Config:
    return Config(
        replies=RepliesConfig(repeat_window_minutes=30),
        matching=MatchingConfig(semantic="off"),
        pages=PagesConfig(enabled=False),
        live=LiveConfig(poll_seconds=poll_seconds, correction_interval_s=0),
    )


async def _bot(db: str, config: Config) -> AsyncIterator[FactBot]:
    async with open_services(config, db_path=str(db), fetch_pages=False, ranker=Ranker()) as s:
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
    async for made in _bot(db, make_config()):
        yield made


@pytest.fixture
def store(bot: FactBot) -> Store:
    return bot.services.store


@pytest.fixture
def channels(bot: FactBot, monkeypatch: pytest.MonkeyPatch) -> dict[int, FakePartialMessageable]:
    """The bot's look-up of a channel by id (Discord's client), answered with fakes."""
    made: dict[int, FakePartialMessageable] = {}

    def partial(channel_id: int, *, guild_id: int | None = None, type: Any = None) -> Any:
        return made.setdefault(channel_id, FakePartialMessageable())

    async def fetch_channel(channel_id: int) -> Any:
        # What Discord says of a channel the (never connected) bot's cache lacks: a text
        # channel in no category.
        return FakeTextChannel(id=channel_id)

    monkeypatch.setattr(bot, "get_partial_messageable", partial)
    monkeypatch.setattr(bot, "fetch_channel", fetch_channel)
    return made


def live(bot: FactBot) -> Any:
    found = bot.get_cog("Live")
    assert found is not None
    return found


async def on_message(bot: FactBot, message: FakeMessage) -> None:
    cog = bot.get_cog("Links")
    assert cog is not None
    await cog.on_message(message)  # type: ignore[attr-defined]


async def add_claim(
    store: Store, urls: tuple[str, ...] = (URL,), guild_id: int | None = None
) -> int:
    claim = await store.add_claim(
        NewClaim(
            claim="The moon is made of cheese",
            verdict="false",
            note="It is rock.",
            urls=urls,
            sources=(Source("https://factcheck.example.org/moon", "Moon check", "fact-check"),),
        ),
        actor="test",
        guild_id=guild_id,
    )
    return claim.id


async def set_setting(
    bot: FactBot, guild_id: int, key: str, value: Any, *, channel_id: int | None = None
) -> None:
    """A settings change as ``/settings`` makes it: stored, and the bot's copy dropped (the
    change feed would drop it within the poll interval)."""
    await bot.services.store.set_setting(guild_id, key, value, actor="test", channel_id=channel_id)
    bot.settings.forget(guild_id)


async def cli(*argv: str) -> int:
    """The real CLI in a thread (it runs its own event loop), as a second process would."""
    return await asyncio.to_thread(main, list(argv))


# --- settings' effect on on_message ---------------------------------------------------------


async def test_ignored_channel_is_silent_and_watch_limits(bot: FactBot, store: Store) -> None:
    await add_claim(store)
    guild = FakeGuild()
    general, memes, other = (FakeTextChannel(guild=guild) for _ in range(3))
    await set_setting(bot, guild.id, "ignore", [memes.id])
    for channel in (general, memes):
        await on_message(bot, message := FakeMessage(content=URL, guild=guild, channel=channel))
        assert message.reply.await_count == (channel is general)
    await set_setting(bot, guild.id, "watch", [general.id])
    bot.settings.forget(guild.id)
    await on_message(bot, message := FakeMessage(content=URL, guild=guild, channel=other))
    message.reply.assert_not_awaited()


async def test_threads_and_forum_posts_follow_their_parent(bot: FactBot, store: Store) -> None:
    await add_claim(store)
    guild = FakeGuild()
    watched = FakeTextChannel(guild=guild, category_id=None)
    forum = FakeForumChannel(guild=guild, category_id=None)
    ignored = FakeTextChannel(guild=guild, category_id=None)
    await set_setting(bot, guild.id, "watch", [watched.id, forum.id, ignored.id])
    await set_setting(bot, guild.id, "ignore", [ignored.id])
    for parent, answered in ((watched, True), (forum, True), (ignored, False)):
        thread = FakeThread(parent=parent)
        await on_message(bot, message := FakeMessage(content=URL, guild=guild, channel=thread))
        assert message.reply.await_count == answered, parent


async def test_each_reply_style_payload(bot: FactBot, store: Store) -> None:
    await add_claim(store)
    guild = FakeGuild()
    sent: dict[str, FakeMessage] = {}
    for style in ("full", "compact", "reaction", "off"):
        channel = FakeTextChannel(guild=guild)
        await set_setting(bot, guild.id, "reply_style", style, channel_id=channel.id)
        sent[style] = FakeMessage(content=URL, guild=guild, channel=channel)
        await on_message(bot, sent[style])

    full = sent["full"].reply.await_args.kwargs
    assert "moon is made of cheese" in full["embeds"][0].description and no_mentions(full)

    compact = sent["compact"].reply.await_args
    line = compact.args[0]
    assert line.startswith("❌ False: The moon is made of cheese") and "\n" not in line
    assert "embeds" not in compact.kwargs and no_mentions(compact.kwargs)
    button, helpful, not_helpful = compact.kwargs["view"].children
    assert button.item.label == "Details"
    assert button.custom_id == f"factbot:details:{sent['compact'].id}"
    assert helpful.custom_id == f"factbot:vote:{sent['compact'].id}:up"
    assert not_helpful.custom_id == f"factbot:vote:{sent['compact'].id}:down"
    assert [b.custom_id for b in full["view"].children] == [
        f"factbot:vote:{sent['full'].id}:up",
        f"factbot:vote:{sent['full'].id}:down",
    ]
    assert full["view"].is_persistent()
    assert compact.kwargs["view"].is_persistent()

    sent["reaction"].reply.assert_not_awaited()
    sent["reaction"].add_reaction.assert_awaited_once_with("❌")
    sent["off"].reply.assert_not_awaited()
    sent["off"].add_reaction.assert_not_awaited()


async def test_a_channel_override_beats_the_server(bot: FactBot, store: Store) -> None:
    await add_claim(store)
    guild = FakeGuild()
    quiet, loud = FakeTextChannel(guild=guild), FakeTextChannel(guild=guild)
    await set_setting(bot, guild.id, "reply_style", "off")
    await set_setting(bot, guild.id, "reply_style", "full", channel_id=loud.id)
    for channel in (quiet, loud):
        await on_message(bot, message := FakeMessage(content=URL, guild=guild, channel=channel))
        assert message.reply.await_count == (channel is loud)


async def test_details_button_shows_the_full_reply_privately(bot: FactBot, store: Store) -> None:
    await add_claim(store)
    guild = FakeGuild()
    await set_setting(bot, guild.id, "reply_style", "compact")
    await on_message(bot, message := FakeMessage(content=URL, guild=guild))
    button = message.reply.await_args.kwargs["view"].children[0]
    # As after a restart: the button is rebuilt from its custom id alone.
    pressed = FakeInteraction(client=bot, guild=guild)
    item = await type(button).from_custom_id(pressed, button.item, _match(button))
    await item.callback(pressed)
    sent = pressed.sent()[-1]
    assert sent["ephemeral"] is True and no_mentions(sent)
    assert "moon is made of cheese" in sent["embeds"][0].description
    # Acknowledged before the store is written and read (Discord allows 3 s), then followed up.
    pressed.response.defer.assert_awaited_once_with(ephemeral=True, thinking=True)
    pressed.response.send_message.assert_not_awaited()
    # Another server's member pressing a copied button sees nothing of this server's.
    stranger = FakeInteraction(client=bot, guild=FakeGuild())
    await item.callback(stranger)
    assert "no longer has anything" in stranger.sent_text()


def _match(button: Any) -> Any:
    import re

    return re.fullmatch(r"factbot:details:(?P<message_id>[0-9]{1,20})", button.custom_id)


# --- /settings -----------------------------------------------------------------------------


async def test_settings_needs_manage_server(bot: FactBot, store: Store) -> None:
    command = bot.tree.get_command("settings")
    assert isinstance(command, app_commands.Command)
    assert command.default_permissions == discord.Permissions(manage_guild=True)
    assert command.guild_only
    with pytest.raises(NotServerManager):
        await command._check_can_run(
            FakeInteraction(client=bot, permissions=discord.Permissions(manage_messages=True))
        )
    with pytest.raises(app_commands.NoPrivateMessage):
        await command._check_can_run(
            FakeInteraction(client=bot, guild=None, permissions=discord.Permissions.all())
        )
    admin = FakeInteraction(client=bot, permissions=discord.Permissions(manage_guild=True))
    assert await command._check_can_run(admin)
    cog: Any = bot.get_cog("Settings")
    await cog.settings.callback(cog, admin, None)
    kwargs = admin.response.send_message.await_args.kwargs
    assert kwargs["ephemeral"] is True and kwargs["embed"].title == "factbot settings"
    view = kwargs["view"]
    # The view checks again on every select and button: a member without it changes nothing.
    with pytest.raises(NotServerManager):
        await view.interaction_check(FakeInteraction(client=bot, guild=admin.guild))
    await view.save(admin, "reply_style", "compact")
    assert [r.value for r in await store.setting_rows(admin.guild_id)] == ["compact"]
    assert (await store.changes_since(0))[-1].actor == f"discord:{admin.user.id}"
    # One channel's: the mention goes where Discord renders it (an embed's title shows
    # "<#123>" as typed), the description.
    channel = FakeTextChannel(guild=admin.guild)
    await cog.settings.callback(cog, again := _fresh(admin), channel)
    embed = again.response.send_message.await_args.kwargs["embed"]
    assert "<#" not in embed.title and f"<#{channel.id}>" in embed.description


def _fresh(interaction: FakeInteraction) -> FakeInteraction:
    """Another interaction of the same member in the same place."""
    return FakeInteraction(
        client=interaction.client,
        guild=interaction.guild,
        user=interaction.user,
        permissions=interaction.permissions,
    )


# --- corrections ---------------------------------------------------------------------------


async def _three_replies(bot: FactBot, store: Store) -> tuple[int, list[FakeMessage], FakeGuild]:
    claim_id = await add_claim(store)
    guild = FakeGuild()
    messages = [
        FakeMessage(content=URL, guild=guild, channel=FakeTextChannel(guild=guild))
        for _ in range(3)
    ]
    for message in messages:
        await on_message(bot, message)
    return claim_id, messages, guild


def _bot_message(message: FakeMessage, channels: dict[int, FakePartialMessageable]) -> Any:
    """The channel the bot's reply to ``message`` is in, as the bot looks it up by id."""
    message.reply.assert_awaited_once()
    return channels.setdefault(message.channel.id, FakePartialMessageable())


async def test_a_correction_edits_earlier_replies_and_skips_a_deleted_one(
    bot: FactBot, store: Store, channels: dict[int, FakePartialMessageable]
) -> None:
    claim_id, messages, _ = await _three_replies(bot, store)
    await live(bot).follower.tick()  # the replies are recorded
    records = {r.message_id: r for r in await store.replies_showing([claim_id], since=0)}
    assert len(records) == 3
    edited = []
    for index, message in enumerate(messages):
        record = records[message.id]
        bot_message = _bot_message(message, channels).get_partial_message(record.reply_id)
        if index == 2:
            response = unittest.mock.MagicMock(status=404, reason="Not Found")
            bot_message.edit.side_effect = discord.NotFound(response, "Unknown Message")
        edited.append(bot_message)

    await store.edit_claim(claim_id, actor="test", guild_id=None, verdict="mixed", note="Both.")
    await live(bot).follower.tick()
    await live(bot).corrections.drain()
    for bot_message in edited[:2]:
        embed = bot_message.edit.await_args.kwargs["embeds"][0]
        assert embed.title.endswith("Mixed") and "Both." in embed.description
        assert "✏️ Corrected <t:" in embed.description and "(was ❌ False)" in embed.description
        assert no_mentions(bot_message.edit.await_args.kwargs)
    edited[2].edit.assert_awaited_once()
    assert {r.message_id for r in await store.replies_showing([claim_id], since=0)} == {
        m.id for m in messages[:2]
    }

    # The deleted one is remembered: a second correction does not try it again.
    await store.edit_claim(claim_id, actor="test", guild_id=None, note="Both, really.")
    await live(bot).follower.tick()
    await live(bot).corrections.drain()
    assert [m.edit.await_count for m in edited] == [2, 2, 1]


async def test_a_retirement_strikes_the_note(
    bot: FactBot, store: Store, channels: dict[int, FakePartialMessageable]
) -> None:
    claim_id, messages, guild = await _three_replies(bot, store)
    await live(bot).follower.tick()
    await store.set_active(claim_id, False, actor="test", guild_id=None)
    await live(bot).follower.tick()
    await live(bot).corrections.drain()
    record = (await store.replies_to_message(messages[0].id, guild_id=guild.id))[0]
    bot_message = _bot_message(messages[0], channels).get_partial_message(record.reply_id)
    embed = bot_message.edit.await_args.kwargs["embeds"][0]
    assert embed.title == "🚫 Note withdrawn"
    assert "~~It is rock.~~" in embed.description and "withdrew this note <t:" in embed.description


async def test_a_passing_failure_is_retried_a_bounded_number_of_times(
    bot: FactBot, store: Store, channels: dict[int, FakePartialMessageable]
) -> None:
    claim_id, messages, _ = await _three_replies(bot, store)
    await live(bot).follower.tick()
    response = unittest.mock.MagicMock(status=503, reason="Unavailable")
    for record in await store.replies_showing([claim_id], since=0):
        message = channels.setdefault(record.channel_id, FakePartialMessageable())
        message.get_partial_message(record.reply_id).edit.side_effect = discord.HTTPException(
            response, "down"
        )
    await store.edit_claim(claim_id, actor="test", guild_id=None, verdict="true")
    await live(bot).follower.tick()
    await live(bot).corrections.drain()
    attempts = bot.services.config.live.correction_attempts
    for record in await store.replies_to_message(messages[0].id, guild_id=messages[0].guild.id):
        assert record.state == "failed"
        edit = channels[record.channel_id].get_partial_message(record.reply_id).edit
        assert edit.await_count == attempts


# --- backfill ------------------------------------------------------------------------------


async def test_backfill_from_claims_link_replies_once(
    bot: FactBot, store: Store, channels: dict[int, FakePartialMessageable], db: str
) -> None:
    claim_id = await add_claim(store)
    guild = FakeGuild()
    early = FakeMessage(content=f"look {LATER_URL}", guild=guild)
    await on_message(bot, early)
    early.reply.assert_not_awaited()  # nothing known yet
    await live(bot).follower.tick()

    code = await cli("claims", "link", str(claim_id), LATER_URL, "--db", str(db))
    assert code == 0
    await live(bot).follower.tick()
    backfilled = channels[early.channel.id].get_partial_message(early.id)
    backfilled.reply.assert_awaited_once()
    assert "moon is made of cheese" in backfilled.reply.await_args.kwargs["embeds"][0].description

    # Another change to the claim's URLs: the message is not answered twice (by the record of
    # replies, not only the repeat window, which is opened here).
    bot.repeat_guard = type(bot.repeat_guard)(0)
    await store.link_url(claim_id, "https://third.example.net/x", actor="t", guild_id=None)
    await live(bot).follower.tick()
    backfilled.reply.assert_awaited_once()


async def test_a_reply_that_failed_leaves_the_link_to_the_next_post_in_the_channel(
    bot: FactBot, store: Store, channels: dict[int, FakePartialMessageable]
) -> None:
    # The member deleted their message before its claim was added: the backfilled reply is
    # refused by Discord, and the next member to post the link there is answered, not met
    # with silence for the rest of the repeat window.
    claim_id = await add_claim(store)
    guild = FakeGuild()
    channel = FakeTextChannel(guild=guild)
    early = FakeMessage(content=f"look {LATER_URL}", guild=guild, channel=channel)
    await on_message(bot, early)
    await live(bot).follower.tick()
    gone = channels.setdefault(channel.id, FakePartialMessageable()).get_partial_message(early.id)
    response = unittest.mock.MagicMock(status=400, reason="Bad Request")
    gone.reply.side_effect = discord.HTTPException(
        response,
        {
            "code": 50035,
            "message": "Invalid Form Body",
            "errors": {
                "message_reference": {
                    "_errors": [{"code": "REPLIES_UNKNOWN_MESSAGE", "message": "Unknown message"}]
                }
            },
        },
    )
    await store.link_url(claim_id, LATER_URL, actor="t", guild_id=None)
    await live(bot).follower.tick()
    gone.reply.assert_awaited_once()
    await on_message(bot, later := FakeMessage(content=LATER_URL, guild=guild, channel=channel))
    later.reply.assert_awaited_once()
    # A refusal that every post would meet again is another matter: the link is not tried
    # again there for the window (each try would be one more refusal in the log).
    refusals = [
        discord.Forbidden(unittest.mock.MagicMock(status=403), "Missing Permissions"),
        discord.HTTPException(  # no Embed Links: the reply has nothing left to show
            unittest.mock.MagicMock(status=400), {"code": 50006, "message": "Empty message"}
        ),
    ]
    for refusal in refusals:
        shut = FakeTextChannel(guild=guild)
        for _ in range(2):
            message = FakeMessage(content=URL, guild=guild, channel=shut)
            message.reply.side_effect = refusal
            await on_message(bot, message)
        message.reply.assert_not_awaited()


async def test_backfill_from_an_import_respects_style_and_settings(
    bot: FactBot,
    store: Store,
    channels: dict[int, FakePartialMessageable],
    db: str,
    tmp_path: Path,
) -> None:
    guild = FakeGuild()
    compact, silent = FakeTextChannel(guild=guild), FakeTextChannel(guild=guild)
    await set_setting(bot, guild.id, "reply_style", "compact")
    await set_setting(bot, guild.id, "reply_style", "off", channel_id=silent.id)
    posted = [FakeMessage(content=LATER_URL, guild=guild, channel=c) for c in (compact, silent)]
    for message in posted:
        await on_message(bot, message)
    await live(bot).follower.tick()

    feed = tmp_path / "feed.json"
    feed.write_text(
        json.dumps(
            {
                "@type": "ClaimReview",
                "claimReviewed": "Water is dry",
                "reviewRating": {"alternateName": "False"},
                "itemReviewed": {"appearance": [{"url": LATER_URL}]},
                "url": "https://factcheck.example.org/water",
            }
        ),
        encoding="utf-8",
    )
    code = await cli("import", str(feed), "--db", str(db), "--config", str(_lexical(tmp_path)))
    assert code == 0
    await live(bot).follower.tick()
    answered = channels[compact.id].get_partial_message(posted[0].id)
    assert answered.reply.await_args.args[0].startswith("❌ False: Water is dry")
    assert silent.id not in channels or not channels[silent.id].messages


async def test_backfill_into_an_uncached_thread_follows_its_parents_settings(
    bot: FactBot,
    store: Store,
    channels: dict[int, FakePartialMessageable],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    guild = FakeGuild()
    loud, quiet = FakeTextChannel(guild=guild), FakeTextChannel(guild=guild)
    threads = {t.id: t for t in (FakeThread(parent=loud), FakeThread(parent=quiet))}
    gone = FakeThread(parent=loud)
    posted = {
        t.id: FakeMessage(content=LATER_URL, guild=guild, channel=t)
        for t in (*threads.values(), gone)
    }
    for message in posted.values():
        await on_message(bot, message)
    await live(bot).follower.tick()
    # Later the threads are archived (out of the bot's cache), the moderators silence the
    # quiet channel, and one thread is deleted.
    await set_setting(bot, guild.id, "reply_style", "off", channel_id=quiet.id)
    monkeypatch.setattr(bot, "get_channel", lambda channel_id: None)

    async def fetch_channel(channel_id: int) -> Any:
        if channel_id not in threads:
            raise discord.NotFound(unittest.mock.Mock(status=404, reason="Not Found"), "gone")
        return threads[channel_id]

    monkeypatch.setattr(bot, "fetch_channel", fetch_channel)

    await add_claim(store, urls=(LATER_URL,))
    await live(bot).follower.tick()
    assert set(channels) == {next(iter(threads))}  # only the thread in the loud channel
    answered = channels[next(iter(threads))].get_partial_message(posted[next(iter(threads))].id)
    answered.reply.assert_awaited_once()


def _lexical(tmp_path: Path) -> Path:
    config = tmp_path / "lexical.toml"
    config.write_text('[matching]\nsemantic = "off"\n', encoding="utf-8")
    return config


async def test_a_message_answered_live_is_not_backfilled(
    bot: FactBot, store: Store, channels: dict[int, FakePartialMessageable]
) -> None:
    await add_claim(store)
    message = FakeMessage(content=URL)
    await on_message(bot, message)
    message.reply.assert_awaited_once()
    await live(bot).follower.tick()
    # A second claim gains the same link: the message got its reply about it already (the
    # record of replies says so; the repeat window is opened here).
    bot.repeat_guard = type(bot.repeat_guard)(0)
    await add_claim(store, urls=(f"{URL}?utm_source=x",))
    await live(bot).follower.tick()
    assert not channels


async def test_backfill_hours_zero_remembers_nothing(bot: FactBot, store: Store) -> None:
    guild = FakeGuild()
    await set_setting(bot, guild.id, "backfill_hours", 0)
    await on_message(bot, FakeMessage(content=LATER_URL, guild=guild))
    assert bot.recorder.pending == 0


# --- the change feed -----------------------------------------------------------------------


async def test_a_cli_change_reaches_the_running_bot_within_the_poll_interval(
    db: str, tmp_path: Path
) -> None:
    poll = 0.2
    async for bot in _bot(db, make_config(poll_seconds=poll)):
        await add_claim(bot.services.store)
        guild = FakeGuild()
        channel = FakeTextChannel(guild=guild)
        first = FakeMessage(content=URL, guild=guild, channel=channel)
        await on_message(bot, first)
        first.reply.assert_awaited_once()
        bot.repeat_guard = type(bot.repeat_guard)(0)  # let the same link be answered again
        links_cog: Any = bot.get_cog("Links")
        links_cog.guard = bot.repeat_guard

        code = await cli(
            "settings", "set", "--guild", str(guild.id), "ignore", str(channel.id), "--db", str(db)
        )
        assert code == 0
        change = await bot.services.store.latest_change_id()
        # The bot's own poll loop (every 0.2 s) picks it up; allow a few intervals of slack.
        await asyncio.wait_for(live(bot).follower.caught_up(change), timeout=poll * 10)
        again = FakeMessage(content=URL, guild=guild, channel=channel)
        await on_message(bot, again)
        again.reply.assert_not_awaited()


async def test_settings_changes_are_posted_to_the_mod_log(
    bot: FactBot, store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    guild = FakeGuild()
    mod_log = FakeTextChannel(guild=guild)
    elsewhere = FakeTextChannel(guild=FakeGuild())
    by_id = {mod_log.id: mod_log, elsewhere.id: elsewhere}
    monkeypatch.setattr(bot, "get_channel", lambda channel_id: by_id.get(channel_id))
    await live(bot).follower.tick()
    await store.set_setting(guild.id, "mod_log", mod_log.id, actor="discord:42")
    await store.set_setting(guild.id, "ignore", [7, 8], actor="discord:42")
    await live(bot).follower.tick()
    texts = [call.args[0] for call in mod_log.send.await_args_list]
    assert texts[-1].splitlines()[-1] == "⚙️ discord:42 set `ignore` to `7, 8` (was `default`)"
    assert all(no_mentions(call.kwargs) for call in mod_log.send.await_args_list)
    # A mod log id of another server's channel is never posted to.
    await store.set_setting(guild.id, "mod_log", elsewhere.id, actor="cli:x")
    with caplog.at_level(logging.WARNING, logger="cogs.live"):
        await live(bot).follower.tick()
    elsewhere.send.assert_not_awaited()
    assert "another server's" in caplog.text


async def test_compact_and_reaction_replies_are_corrected_too(
    bot: FactBot,
    store: Store,
    channels: dict[int, FakePartialMessageable],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    claim_id = await add_claim(store)
    guild = FakeGuild()
    compact, reaction = FakeTextChannel(guild=guild), FakeTextChannel(guild=guild)
    await set_setting(bot, guild.id, "reply_style", "compact", channel_id=compact.id)
    await set_setting(bot, guild.id, "reply_style", "reaction", channel_id=reaction.id)
    posted = [FakeMessage(content=URL, guild=guild, channel=c) for c in (compact, reaction)]
    for message in posted:
        await on_message(bot, message)
    await live(bot).follower.tick()
    me = FakeUser()
    monkeypatch.setattr(bot._connection, "user", me)  # what logging in sets
    await store.edit_claim(claim_id, actor="test", guild_id=None, verdict="true")
    await live(bot).follower.tick()
    await live(bot).corrections.drain()

    (record,) = await store.replies_to_message(posted[0].id, guild_id=guild.id)
    edit = channels[compact.id].get_partial_message(record.reply_id).edit.await_args.kwargs
    assert edit["content"].startswith("✅ True: The moon is made of cheese")
    assert "✏️ corrected <t:" in edit["content"] and no_mentions(edit)
    # The bot's own reaction is swapped for the new verdict's.
    reacted = channels[reaction.id].get_partial_message(posted[1].id)
    reacted.remove_reaction.assert_awaited_once_with("❌", me)
    reacted.add_reaction.assert_awaited_once_with("✅")


async def test_a_restored_claim_gets_its_reaction_back(
    bot: FactBot,
    store: Store,
    channels: dict[int, FakePartialMessageable],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    claim_id = await add_claim(store)
    guild = FakeGuild()
    channel = FakeTextChannel(guild=guild)
    await set_setting(bot, guild.id, "reply_style", "reaction")
    await on_message(bot, posted := FakeMessage(content=URL, guild=guild, channel=channel))
    await live(bot).follower.tick()
    monkeypatch.setattr(bot._connection, "user", me := FakeUser())  # what logging in sets
    reacted = channels.setdefault(channel.id, FakePartialMessageable()).get_partial_message(
        posted.id
    )
    await store.set_active(claim_id, False, actor="test", guild_id=None)
    await live(bot).follower.tick()
    await live(bot).corrections.drain()
    reacted.remove_reaction.assert_awaited_once_with("❌", me)  # the note was withdrawn
    await store.set_active(claim_id, True, actor="test", guild_id=None)
    await live(bot).follower.tick()
    await live(bot).corrections.drain()
    reacted.add_reaction.assert_awaited_once_with("❌")  # and is back


async def test_a_servers_moderator_roles_open_the_claim_commands(
    bot: FactBot, store: Store
) -> None:
    from tests.fakes import FakeMember, FakeRole

    guild = FakeGuild()
    member = FakeMember(guild=guild, roles=[FakeRole(id=31)])
    claims: Any = bot.get_cog("Claims")
    with pytest.raises(app_commands.CheckFailure):
        await claims.interaction_check(FakeInteraction(client=bot, guild=guild, user=member))
    await store.set_setting(guild.id, "moderator_roles", [31], actor="t")
    await live(bot).follower.tick()  # the change feed reloads the server's settings
    assert await claims.interaction_check(FakeInteraction(client=bot, guild=guild, user=member))


async def test_records_are_kept_for_the_horizon_and_the_window_only(
    bot: FactBot, store: Store
) -> None:
    await add_claim(store)
    guild = FakeGuild()
    await on_message(bot, answered := FakeMessage(content=URL, guild=guild))
    await on_message(bot, FakeMessage(content=LATER_URL, guild=guild))
    follower = live(bot).follower
    await follower.tick()
    assert await store.replies_to_message(answered.id, guild_id=guild.id)
    assert await store.seen_with_keys([LATER_URL], guild_id=None)
    # An hour past the backfill window (24 h), the sightings are gone; the reply is kept.
    follower._pruned_at = 0.0
    day = 86400
    await follower.tick(now=time.time() + day + 3600)
    assert not await store.seen_with_keys([URL, LATER_URL], guild_id=None, now=0)
    assert await store.replies_to_message(answered.id, guild_id=guild.id)
    # Past the corrections horizon (30 days), the reply's record is gone too.
    follower._pruned_at = 0.0
    await follower.tick(now=time.time() + 31 * day)
    assert not await store.replies_to_message(answered.id, guild_id=guild.id)


async def test_a_servers_claim_backfills_only_its_own_messages(
    bot: FactBot, store: Store, channels: dict[int, FakePartialMessageable]
) -> None:
    mine, other = FakeGuild(), FakeGuild()
    posted = [FakeMessage(content=LATER_URL, guild=g) for g in (mine, other)]
    for message in posted:
        await on_message(bot, message)
    await live(bot).follower.tick()
    await add_claim(store, urls=(LATER_URL,), guild_id=mine.id)
    await live(bot).follower.tick()
    assert set(channels) == {posted[0].channel.id}
    channels[posted[0].channel.id].get_partial_message(posted[0].id).reply.assert_awaited_once()


async def test_the_settings_form_checks_every_value_before_saving_any(
    bot: FactBot, store: Store
) -> None:
    admin = FakeInteraction(client=bot, permissions=discord.Permissions(manage_guild=True))
    module = bot.extensions["cogs.settings"]
    view = module.SettingsView(bot, admin.guild_id, None)
    modal = module.ValuesModal(view)

    def fill(**values: str) -> None:
        for key, value in values.items():
            modal.inputs[key]._refresh_state(
                unittest.mock.MagicMock(), {"type": 4, "custom_id": "x", "value": value}
            )

    fill(reply_threshold="0.6", backfill_hours="forever", mod_log="")
    with pytest.raises(InvalidInput, match="backfill_hours must be a number"):
        await modal.on_submit(admin)
    assert await store.setting_rows(admin.guild_id) == []

    fill(backfill_hours="2")
    await modal.on_submit(admin)
    rows = {r.key: r.value for r in await store.setting_rows(admin.guild_id)}
    assert rows == {"reply_threshold": 0.6, "backfill_hours": 2.0}
    embed = admin.response.edit_message.await_args.kwargs["embed"]
    assert {f.name: f.value for f in embed.fields}["backfill_hours"] == "2 (set)"


async def test_a_channel_threshold_quiets_content_matches_there(bot: FactBot, store: Store) -> None:
    claim = "Drinking bleach cures the flu within three days, doctors in Ohio confirmed"
    await store.add_claim(NewClaim(claim=claim, verdict="false"), actor="t", guild_id=None)
    guild = FakeGuild()
    usual, strict = FakeTextChannel(guild=guild), FakeTextChannel(guild=guild)
    await set_setting(bot, guild.id, "reply_threshold", 1.0, channel_id=strict.id)
    url = "https://unknown.example.net/health/bleach-flu"
    # Discord's link preview is what the bot reads (pages are off here).
    preview = discord.Embed(url=url, title=claim, description="Ohio doctors on bleach and flu.")
    replied = {}
    for channel in (usual, strict):
        message = FakeMessage(content=url, guild=guild, channel=channel, embeds=[preview])
        await on_message(bot, message)
        replied[channel is strict] = message.reply.await_count
    assert replied == {False: 1, True: 0}


async def test_check_links_and_factcheck_answer_with_the_channels_threshold(
    bot: FactBot, store: Store
) -> None:
    # The private answers say what the channel's settings make the bot say there: "Check links"
    # on a message the bot stayed quiet about does not show a verdict it never gave, and one on
    # a message it reacted to shows why.
    claim = "Drinking bleach cures the flu within three days, doctors in Ohio confirmed"
    await store.add_claim(NewClaim(claim=claim, verdict="false"), actor="t", guild_id=None)
    guild = FakeGuild()
    strict, lenient = FakeTextChannel(guild=guild), FakeTextChannel(guild=guild)
    await set_setting(bot, guild.id, "reply_threshold", 1.0, channel_id=strict.id)
    await set_setting(bot, guild.id, "reply_threshold", 0.5, channel_id=lenient.id)
    await set_setting(bot, guild.id, "reply_style", "reaction")
    url = "https://unknown.example.net/health/bleach-flu"
    links = bot.get_cog("Links")
    assert links is not None
    previews = {
        strict: discord.Embed(url=url, title=claim, description="Ohio doctors on bleach and flu."),
        lenient: discord.Embed(url=url, title="Does bleach cure the flu? Ohio doctors answer"),
    }
    for channel, reacted in ((strict, False), (lenient, True)):
        message = FakeMessage(content=url, guild=guild, channel=channel, embeds=[previews[channel]])
        await on_message(bot, message)
        assert message.add_reaction.await_count == reacted
        checked = FakeInteraction(client=bot, guild=guild, channel=channel)
        await links.check_links(checked, message)  # type: ignore[attr-defined]
        text = checked.sent_text()
        assert ("False" in text and "Nothing known" not in text) == reacted, text
    typed = FakeInteraction(client=bot, guild=guild, channel=strict)
    await links.factcheck.callback(links, typed, f"{url} {claim}")  # type: ignore[attr-defined]
    assert "Nothing known" in typed.sent_text()


async def test_a_failing_mod_log_does_not_cost_the_corrections(
    bot: FactBot,
    store: Store,
    channels: dict[int, FakePartialMessageable],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    claim_id, messages, guild = await _three_replies(bot, store)
    mod_log = FakeTextChannel(guild=guild)
    mod_log.send.side_effect = OSError("connection reset")  # not a discord.HTTPException
    monkeypatch.setattr(bot, "get_channel", lambda channel_id: mod_log)
    await store.set_setting(guild.id, "mod_log", mod_log.id, actor="discord:42")
    await live(bot).follower.tick()  # the replies are recorded
    await store.edit_claim(claim_id, actor="test", guild_id=None, verdict="mixed", note="Both.")
    await live(bot).follower.tick()
    await live(bot).corrections.drain()
    for message in messages:
        bot_message = _bot_message(message, channels)
        (record,) = await store.replies_to_message(message.id, guild_id=guild.id)
        edit = bot_message.get_partial_message(record.reply_id).edit
        assert edit.await_args.kwargs["embeds"][0].title.endswith("Mixed")
