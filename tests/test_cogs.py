"""The cogs, driven through their callbacks with spec'd discord.py fakes and a real store."""

from __future__ import annotations

import asyncio
import datetime
import logging
import types
import unittest.mock
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from bot.checking import RepeatGuard
from bot.client import FactBot
from bot.config import Config, DiscordConfig, MatchingConfig, PagesConfig, RepliesConfig
from bot.ranking import Ranker
from bot.services import open_services
from bot.store import InvalidInput, NewClaim, NotFound, Source, Store
from bot.verdicts import VERDICTS
from cogs import errors
from cogs._checks import NotModerator, check_moderator, moderator_only
from tests.fakes import (
    FakeGuild,
    FakeInteraction,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeTextChannel,
    fill_modal,
    no_mentions,
)

MOD_ROLE = 4242
URL_A = "https://news.example.com/2024/moon-cheese?utm_source=x"
URL_B = "https://other.example.org/story/42"
URL_UNKNOWN = "https://unknown.example.net/nothing"


def make_config(**matching: Any) -> Config:
    return Config(
        discord=DiscordConfig(moderator_roles=(MOD_ROLE,)),
        replies=RepliesConfig(repeat_window_minutes=30),
        matching=MatchingConfig(semantic="off", **matching),
        pages=PagesConfig(enabled=False),
    )


async def _bot(tmp_path: Path, config: Config) -> AsyncIterator[FactBot]:
    async with open_services(
        config, db_path=str(tmp_path / "t.db"), fetch_pages=False, ranker=Ranker()
    ) as services:
        bot = FactBot(services)
        await bot.setup_hook()
        try:
            yield bot
        finally:
            await bot.close()


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[FactBot]:
    async for made in _bot(tmp_path, make_config()):
        yield made


@pytest.fixture
def store(bot: FactBot) -> Store:
    return bot.services.store


# load_extension executes a cog's module afresh, so its classes are taken from the bot.
def cog(bot: FactBot, name: str) -> Any:
    found = bot.get_cog(name)
    assert found is not None, name
    return found


def links_cog(bot: FactBot) -> Any:
    return cog(bot, "Links")


def claims_cog(bot: FactBot) -> Any:
    return cog(bot, "Claims")


def sources_cog(bot: FactBot) -> Any:
    return cog(bot, "Sources")


def moderator_interaction(bot: FactBot, guild: FakeGuild | None = None) -> FakeInteraction:
    return FakeInteraction(
        client=bot,
        guild=guild or FakeGuild(),
        permissions=discord.Permissions(manage_messages=True),
    )


async def add_claim(
    store: Store, text: str, urls: tuple[str, ...] = (), *, guild_id: int | None = None
) -> int:
    claim = await store.add_claim(
        NewClaim(
            claim=text,
            verdict="false",
            note="Checked by the fact-checkers.",
            urls=urls,
            sources=(Source("https://factcheck.example.org/moon", "Moon check", "fact-check"),),
        ),
        actor="test",
        guild_id=guild_id,
    )
    return claim.id


# --- fakes --------------------------------------------------------------------------------


def test_fakes_are_specced() -> None:
    message = FakeMessage(content="hi")
    assert isinstance(message, discord.Message)
    assert isinstance(message.author, discord.Member)
    with pytest.raises(AttributeError):
        _ = message.contnet
    with pytest.raises(AttributeError):
        message.contnet = "typo"


# --- messages with links ------------------------------------------------------------------


async def test_link_less_message_touches_only_content(bot: FactBot) -> None:
    # Anything beyond .content (its author, channel, a reply) would raise AttributeError on
    # this bare object: the cheap path reads the text and nothing else.
    message = types.SimpleNamespace(content="no links here at all")
    assert await links_cog(bot).on_message(message) is None
    assert vars(message) == {"content": "no links here at all"}


async def test_link_less_message_is_silent(bot: FactBot) -> None:
    message = FakeMessage(content="just chatting about the moon")
    await links_cog(bot).on_message(message)
    message.reply.assert_not_awaited()


async def test_known_links_get_one_embed_each(bot: FactBot, store: Store) -> None:
    await add_claim(store, "The moon is made of cheese", (URL_A,))
    await add_claim(store, "Water is dry", (URL_B,))
    message = FakeMessage(content=f"look {URL_A} and {URL_B} and {URL_UNKNOWN}")
    await links_cog(bot).on_message(message)
    message.reply.assert_awaited_once()
    kwargs = message.reply.await_args.kwargs
    assert len(kwargs["embeds"]) == 2
    assert kwargs["mention_author"] is False
    assert no_mentions(kwargs)
    assert "moon is made of cheese" in kwargs["embeds"][0].description


async def test_uppercase_scheme_is_not_missed(bot: FactBot, store: Store) -> None:
    await add_claim(store, "The moon is made of cheese", (URL_A,))
    message = FakeMessage(content=URL_A.replace("https", "HTTPS"))
    await links_cog(bot).on_message(message)
    message.reply.assert_awaited_once()


async def test_unknown_link_is_silent(bot: FactBot) -> None:
    message = FakeMessage(content=f"see {URL_UNKNOWN}")
    await links_cog(bot).on_message(message)
    message.reply.assert_not_awaited()


async def test_bots_and_webhooks_are_ignored(bot: FactBot, store: Store) -> None:
    await add_claim(store, "The moon is made of cheese", (URL_A,))
    from_bot = FakeMessage(content=URL_A, author=FakeMember(bot=True))
    from_webhook = FakeMessage(content=URL_A, webhook_id=123)
    for message in (from_bot, from_webhook):
        await links_cog(bot).on_message(message)
        message.reply.assert_not_awaited()


async def test_repeat_in_same_channel_is_silent_but_not_elsewhere(
    bot: FactBot, store: Store
) -> None:
    await add_claim(store, "The moon is made of cheese", (URL_A,))
    guild = FakeGuild()
    channel = FakeTextChannel(guild=guild)
    first = FakeMessage(content=URL_A, guild=guild, channel=channel)
    again = FakeMessage(content=f"again {URL_A}", guild=guild, channel=channel)
    elsewhere = FakeMessage(content=URL_A, guild=guild, channel=FakeTextChannel(guild=guild))
    cog = links_cog(bot)
    for message in (first, again, elsewhere):
        await cog.on_message(message)
    first.reply.assert_awaited_once()
    again.reply.assert_not_awaited()
    elsewhere.reply.assert_awaited_once()


async def test_a_repeat_is_answered_again_once_the_window_has_passed() -> None:
    # The guard the links cog uses, on its own clock (seconds), with a 30-minute window.
    guard = RepeatGuard(window_s=1800)
    assert await guard.first_time(1, URL_A, now=1000.0)
    assert not await guard.first_time(1, URL_A, now=1000.0 + 1799)  # a repeat: quiet
    assert await guard.first_time(2, URL_A, now=1000.0 + 1799)  # another channel: answered
    assert await guard.first_time(1, URL_A, now=1000.0 + 1801)  # the window has passed: answered
    assert not await guard.first_time(
        1, URL_A, now=1000.0 + 1802
    )  # and that answer starts a new one


async def test_a_repeat_is_answered_again_exactly_when_the_window_ends() -> None:
    guard = RepeatGuard(window_s=1800)
    assert await guard.first_time(1, URL_A, now=1000.0)
    assert await guard.first_time(1, URL_A, now=1000.0 + 1800)


async def test_a_full_repeat_guard_forgets_only_links_outside_the_window() -> None:
    guard = RepeatGuard(window_s=10, max_entries=2)
    assert await guard.first_time(1, URL_A, now=0.0)
    assert await guard.first_time(1, URL_B, now=15.0)
    # Full: what is dropped to make room is what would be answered again anyway (URL_A)...
    assert await guard.first_time(2, URL_B, now=20.0)
    # ...never a link still inside its window.
    assert not await guard.first_time(1, URL_B, now=21.0)
    assert not await guard.first_time(2, URL_B, now=21.0)
    assert await guard.first_time(1, URL_A, now=21.0)


async def test_an_edit_never_brings_a_second_reply_to_the_same_message(tmp_path: Path) -> None:
    # With no repeat window (every post of a link answered), Discord's link preview arriving a
    # second later, or a changed headline in a later edit, must not answer the message again.
    config = make_config()
    config = replace(config, replies=replace(config.replies, repeat_window_minutes=0))
    async for bot in _bot(tmp_path, config):
        await add_claim(bot.services.store, "The moon is made of cheese", (URL_A,))
        cog = links_cog(bot)
        message = FakeMessage(content=f"look {URL_A}")
        await cog.on_message(message)
        message.reply.assert_awaited_once()
        previous = message
        for headline in ("Moon made of cheese", "Moon made of cheese, updated"):
            after = FakeMessage(
                id=message.id,
                content=message.content,
                embeds=[discord.Embed(url=URL_A, title=headline)],
                author=message.author,
                channel=message.channel,
                guild=message.guild,
            )
            after.reply = message.reply  # one message: a reply to either is a reply to it
            await cog.on_message_edit(previous, after)
            previous = after
            await bot.recorder.flush()  # the second edit finds the reply in the store
        message.reply.assert_awaited_once()
        # A link added by the edit is still answered.
        added = FakeMessage(
            id=message.id,
            content=f"{message.content} and {URL_B}",
            embeds=previous.embeds,
            author=message.author,
            channel=message.channel,
            guild=message.guild,
        )
        added.reply = message.reply
        await add_claim(bot.services.store, "Water is dry", (URL_B,))
        await cog.on_message_edit(previous, added)
        assert message.reply.await_count == 2
        assert "Water is dry" in message.reply.await_args.kwargs["embeds"][0].description
        assert len(message.reply.await_args.kwargs["embeds"]) == 1


async def test_a_preview_arriving_while_the_message_is_checked_brings_no_second_reply(
    tmp_path: Path,
) -> None:
    # Discord's preview usually arrives while the bot still reads the page: the two checks of
    # one message run at once, and with no repeat window only the message itself can tell
    # them apart.
    config = make_config()
    config = replace(config, replies=replace(config.replies, repeat_window_minutes=0))
    async for bot in _bot(tmp_path, config):
        await add_claim(bot.services.store, "The moon is made of cheese", (URL_A,))
        cog = links_cog(bot)
        message = FakeMessage(content=f"look {URL_A}")
        after = FakeMessage(
            id=message.id,
            content=message.content,
            embeds=[discord.Embed(url=URL_A, title="Moon made of cheese")],
            author=message.author,
            channel=message.channel,
            guild=message.guild,
        )
        after.reply = message.reply
        await asyncio.gather(cog.on_message(message), cog.on_message_edit(message, after))
        message.reply.assert_awaited_once()


def uncached_edit(message: FakeMessage, *, age_s: float) -> discord.RawMessageUpdateEvent:
    """Discord's MESSAGE_UPDATE for a message the client's cache no longer holds (it keeps the
    last 1,000): discord.py dispatches only ``on_raw_message_edit``, with the message as it is
    now and no earlier version."""
    message.created_at = discord.utils.utcnow() - datetime.timedelta(seconds=age_s)
    data: Any = {"id": str(message.id), "channel_id": str(message.channel.id)}
    return discord.RawMessageUpdateEvent(data=data, message=message)  # type: ignore[arg-type]


async def test_a_preview_of_a_message_no_longer_cached_is_still_read(tmp_path: Path) -> None:
    # A busy bot's cache has moved on by the time the preview arrives (or the bot restarted):
    # the page could not be read, the preview's headline matches a claim.
    async for bot in _bot(tmp_path, make_config()):
        await add_claim(bot.services.store, "The moon is made of cheese", ())
        cog = links_cog(bot)
        edited = FakeMessage(
            content=f"look {URL_UNKNOWN}",
            embeds=[discord.Embed(url=URL_UNKNOWN, title="The moon is made of cheese")],
        )
        await cog.on_raw_message_edit(uncached_edit(edited, age_s=3))
        edited.reply.assert_awaited_once()
        assert "moon is made of cheese" in edited.reply.await_args.kwargs["embeds"][0].description
        # Discord sends the update again (another embed refreshed): no second reply.
        await bot.recorder.flush()
        await cog.on_raw_message_edit(uncached_edit(edited, age_s=5))
        edited.reply.assert_awaited_once()


async def test_an_old_uncached_message_edited_gets_no_reply(tmp_path: Path) -> None:
    # A message from yesterday pinned, or its embed refreshed: nobody is reading it now.
    async for bot in _bot(tmp_path, make_config()):
        await add_claim(bot.services.store, "The moon is made of cheese", (URL_A,))
        message = FakeMessage(content=f"look {URL_A}")
        await links_cog(bot).on_raw_message_edit(uncached_edit(message, age_s=86_400))
        message.reply.assert_not_awaited()


async def test_a_cached_edit_is_left_to_on_message_edit(tmp_path: Path) -> None:
    async for bot in _bot(tmp_path, make_config()):
        await add_claim(bot.services.store, "The moon is made of cheese", (URL_A,))
        message = FakeMessage(content=f"look {URL_A}")
        payload = uncached_edit(message, age_s=1)
        payload.cached_message = FakeMessage(id=message.id, content="look")
        await links_cog(bot).on_raw_message_edit(payload)
        message.reply.assert_not_awaited()  # discord.py calls on_message_edit with both


async def test_outlet_note_alone_is_known(bot: FactBot, store: Store) -> None:
    guild = FakeGuild()
    await store.set_source_note(
        "unknown.example.net", "satire site", "Jokes.", actor="test", guild_id=guild.id
    )
    message = FakeMessage(content=URL_UNKNOWN, guild=guild)
    await links_cog(bot).on_message(message)
    embeds = message.reply.await_args.kwargs["embeds"]
    assert len(embeds) == 1 and "satire site" in embeds[0].title


async def test_another_servers_claim_is_not_replied(bot: FactBot, store: Store) -> None:
    other = FakeGuild()
    await add_claim(store, "The moon is made of cheese", (URL_A,), guild_id=other.id)
    message = FakeMessage(content=URL_A)
    await links_cog(bot).on_message(message)
    message.reply.assert_not_awaited()


async def test_send_errors_are_logged_not_raised(
    bot: FactBot, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    await add_claim(store, "The moon is made of cheese", (URL_A,))
    cog = links_cog(bot)
    response = unittest.mock.MagicMock(status=403, reason="Forbidden")
    for exc in (discord.Forbidden(response, "no"), discord.HTTPException(response, "down")):
        message = FakeMessage(content=URL_A)
        message.reply.side_effect = exc
        cog.guard = type(cog.guard)(cog.guard.window_s)
        with caplog.at_level(logging.WARNING, logger="cogs.links"):
            await cog.on_message(message)
        assert str(message.channel.id) in caplog.text
        assert str(message.guild.id) in caplog.text
        caplog.clear()


async def test_store_failure_in_listener_is_logged(
    bot: FactBot, caplog: pytest.LogCaptureFixture
) -> None:
    message = FakeMessage(content=URL_A)
    await bot.services.store.close()  # a broken store: every read fails
    with caplog.at_level(logging.ERROR, logger="cogs.links"):
        await links_cog(bot).on_message(message)
    message.reply.assert_not_awaited()
    assert "checking a message failed" in caplog.text


# --- /factcheck and "Check links" ----------------------------------------------------------


async def test_factcheck_known_link_is_private(bot: FactBot, store: Store) -> None:
    await add_claim(store, "The moon is made of cheese", (URL_A,))
    interaction = FakeInteraction(client=bot)
    cog = links_cog(bot)
    await cog.factcheck.callback(cog, interaction, f"is this true? {URL_A}")
    interaction.response.defer.assert_awaited_once_with(ephemeral=True, thinking=True)
    sent = interaction.sent()
    assert len(sent) == 1 and sent[0]["ephemeral"] is True and no_mentions(sent[0])
    assert "moon is made of cheese" in interaction.sent_text()


async def test_factcheck_in_dms_knows_global_claims_only(bot: FactBot, store: Store) -> None:
    await add_claim(store, "The moon is made of cheese", (URL_A,))
    await add_claim(store, "Water is dry", (URL_B,), guild_id=FakeGuild().id)
    interaction = FakeInteraction(client=bot, guild=None)
    cog = links_cog(bot)
    await cog.factcheck.callback(cog, interaction, f"{URL_A} {URL_B}")
    text = interaction.sent_text()
    assert "moon is made of cheese" in text and "Water is dry" not in text
    assert all(sent["ephemeral"] is True and no_mentions(sent) for sent in interaction.sent())


async def test_factcheck_unknown_link_says_nothing_known(bot: FactBot) -> None:
    interaction = FakeInteraction(client=bot)
    cog = links_cog(bot)
    await cog.factcheck.callback(cog, interaction, URL_UNKNOWN)
    text = interaction.sent_text()
    assert "Nothing known" in text and "unknown.example.net" in text


async def test_factcheck_text_without_links_searches(bot: FactBot, store: Store) -> None:
    claim_id = await add_claim(store, "The moon is made of green cheese")
    interaction = FakeInteraction(client=bot)
    cog = links_cog(bot)
    await cog.factcheck.callback(cog, interaction, "moon made of green cheese")
    assert "green cheese" in interaction.sent_text()
    assert claim_id > 0


async def test_factcheck_lists_below_threshold_candidates(tmp_path: Path) -> None:
    async for bot in _bot(tmp_path, make_config(reply_threshold=1.0)):
        claim_id = await add_claim(bot.services.store, "The moon is made of green cheese")
        interaction = FakeInteraction(client=bot)
        cog = links_cog(bot)
        await cog.factcheck.callback(cog, interaction, "the moon is green cheese")
        text = interaction.sent_text()
        assert "Possibly related" in text and f"#{claim_id}" in text
        assert "(0." in text or "(1.00)" in text  # the score is shown


async def test_factcheck_unrelated_text_says_nothing_known(bot: FactBot) -> None:
    interaction = FakeInteraction(client=bot)
    cog = links_cog(bot)
    await cog.factcheck.callback(cog, interaction, "zebras quantum lasagne")
    assert "Nothing known" in interaction.sent_text()


async def test_private_answer_fits_discord_limits(bot: FactBot, store: Store) -> None:
    urls = [f"https://news{i}.example.com/story/{i}" for i in range(5)]
    for i, url in enumerate(urls):
        await store.add_claim(
            NewClaim(
                claim=f"Claim {i} " + "word " * 150, verdict="false", note="n " * 2000, urls=(url,)
            ),
            actor="test",
            guild_id=None,
        )
    interaction = FakeInteraction(client=bot)
    cog = links_cog(bot)
    await cog.factcheck.callback(cog, interaction, " ".join([*urls[:4], URL_UNKNOWN]))
    embeds = interaction.sent()[-1]["embeds"]
    assert len(embeds) == 5  # four known links, then "nothing known" about the fifth
    assert sum(len(e) for e in embeds) <= 6000
    assert "Nothing known about the other links" in embeds[-1].title


async def test_check_links_menu_checks_someone_elses_message(bot: FactBot, store: Store) -> None:
    await add_claim(store, "The moon is made of cheese", (URL_A,))
    cog = links_cog(bot)
    assert bot.tree.get_command("Check links", type=discord.AppCommandType.message) is not None
    interaction = FakeInteraction(client=bot)
    await cog.check_links(interaction, FakeMessage(content=f"lol {URL_A}"))
    sent = interaction.sent()
    assert sent[-1]["ephemeral"] is True and no_mentions(sent[-1])
    assert "moon is made of cheese" in interaction.sent_text()


async def test_check_links_menu_is_removed_on_unload(bot: FactBot) -> None:
    await bot.unload_extension("cogs.links")
    assert bot.tree.get_command("Check links", type=discord.AppCommandType.message) is None


# --- the moderator guard -------------------------------------------------------------------


async def test_guard_is_declared_for_discord(bot: FactBot) -> None:
    for name in ("claim", "source"):
        group = bot.tree.get_command(name)
        assert isinstance(group, app_commands.Group)
        assert group.default_permissions == discord.Permissions(manage_messages=True)
        assert group.guild_only


async def test_guard_refuses_non_moderator_and_dm(bot: FactBot) -> None:
    for guarded in (claims_cog(bot), sources_cog(bot)):
        with pytest.raises(NotModerator):
            await guarded.interaction_check(FakeInteraction(client=bot))
        with pytest.raises(app_commands.NoPrivateMessage):
            await guarded.interaction_check(
                FakeInteraction(
                    client=bot, guild=None, permissions=discord.Permissions(manage_messages=True)
                )
            )


async def test_guard_passes_manage_messages_or_moderator_role(bot: FactBot) -> None:
    cog = claims_cog(bot)
    assert await cog.interaction_check(moderator_interaction(bot))
    guild = FakeGuild()
    member = FakeMember(guild=guild, roles=[FakeRole(id=1), FakeRole(id=MOD_ROLE)])
    assert await cog.interaction_check(FakeInteraction(client=bot, guild=guild, user=member))
    other_role = FakeMember(guild=guild, roles=[FakeRole(id=7)])
    with pytest.raises(NotModerator):
        await check_moderator(FakeInteraction(client=bot, guild=guild, user=other_role))


async def test_guard_runs_before_a_subcommand(bot: FactBot) -> None:
    # What discord.py runs before every subcommand's callback (callbacks called directly skip it).
    command = claims_cog(bot).retire
    assert await command._check_can_run(moderator_interaction(bot))
    with pytest.raises(NotModerator):
        await command._check_can_run(FakeInteraction(client=bot))


async def test_a_guarded_cog_keeps_its_own_check_after_the_moderator_check(bot: FactBot) -> None:
    # A cog with its own interaction_check (here: only in one channel) keeps it: a moderator
    # elsewhere is refused, a member in that channel is still not a moderator.
    @moderator_only()
    class Pinned(commands.GroupCog, group_name="pinned"):
        def __init__(self, channel_id: int) -> None:
            self.channel_id = channel_id

        async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
            return interaction.channel_id == self.channel_id

    guild = FakeGuild()
    allowed = FakeTextChannel(guild=guild)
    pinned = Pinned(allowed.id)
    moderator = discord.Permissions(manage_messages=True)
    here = FakeInteraction(client=bot, guild=guild, channel=allowed, permissions=moderator)
    assert await pinned.interaction_check(here)
    assert not await pinned.interaction_check(moderator_interaction(bot, guild))
    with pytest.raises(NotModerator):
        await pinned.interaction_check(FakeInteraction(client=bot, guild=guild, channel=allowed))


async def test_a_guarded_command_is_hidden_and_checked(bot: FactBot) -> None:
    # moderator_only on a single command's callback, not a cog.
    @app_commands.command(name="purge", description="Moderators: purge")
    @moderator_only()
    async def purge(interaction: discord.Interaction) -> None:
        del interaction

    assert purge.default_permissions == discord.Permissions(manage_messages=True)
    assert purge.guild_only
    assert await purge._check_can_run(moderator_interaction(bot))
    with pytest.raises(NotModerator):
        await purge._check_can_run(FakeInteraction(client=bot))


@pytest.mark.parametrize(
    ("command_path", "needs"),
    [
        (("claim", "retire"), "You need Manage Messages or a moderator role."),
        (("settings",), "You need Manage Server."),
    ],
)
async def test_a_refused_member_is_told_what_they_need_and_the_operator_can_see_it(
    bot: FactBot, caplog: pytest.LogCaptureFixture, command_path: tuple[str, ...], needs: str
) -> None:
    command: Any = bot.tree.get_command(command_path[0])
    for name in command_path[1:]:
        command = command.get_command(name)
    member = FakeInteraction(client=bot)
    member.command = command
    caplog.set_level(logging.DEBUG, logger="cogs._checks")
    with pytest.raises(app_commands.CheckFailure) as refused:
        await command._check_can_run(member)
    # What the member reads: the tree's error handler answers the refusal privately.
    await bot.tree.on_error(member, refused.value)
    assert member.sent()[-1]["content"] == needs
    assert member.sent()[-1]["ephemeral"] is True
    # What an operator finds at DEBUG when a member asks why they were refused.
    refusals = [r.getMessage() for r in caplog.records if r.name == "cogs._checks"]
    said = f" to user {member.user.id} in guild {member.guild_id}"
    assert [m for m in refusals if m.startswith("refused ") and m.endswith(said)]


# --- /claim -------------------------------------------------------------------------------


async def test_modal_submit_adds_a_claim_with_one_audit_row(bot: FactBot, store: Store) -> None:
    cog = claims_cog(bot)
    interaction = moderator_interaction(bot)
    await cog.add.callback(cog, interaction)
    modal = interaction.response.send_modal.await_args.args[0]
    assert type(modal).__name__ == "AddClaimModal"
    fill_modal(
        modal,
        claim="The moon is made of cheese",
        verdict="Mostly False",
        note="It is rock.",
        urls=f"{URL_A}\n\n{URL_B}\n",
        sources="https://factcheck.example.org/moon Moon check",
    )
    before = await store.audit_count()
    submit = moderator_interaction(bot, guild=interaction.guild)
    submit.user = interaction.user
    await modal.on_submit(submit)
    assert await store.audit_count() == before + 1
    claims = await store.list_claims(guild_id=interaction.guild_id, include_global=False)
    assert len(claims) == 1
    claim = claims[0]
    assert claim.verdict == "mostly-false" and claim.urls == (URL_A, URL_B)
    assert claim.sources == (
        Source("https://factcheck.example.org/moon", "Moon check", "fact-check"),
    )
    assert claim.created_by == f"discord:{interaction.user.id}"
    history = await store.claim_history(claim.id, guild_id=interaction.guild_id)
    assert [e.action for e in history] == ["create"]
    assert f"Added claim #{claim.id}" in submit.sent_text()


async def test_modal_verdict_typo_lists_the_vocabulary(bot: FactBot, store: Store) -> None:
    modal = bot.extensions["cogs.claims"].AddClaimModal(store)
    fill_modal(modal, claim="x", verdict="flase", note="", urls="", sources="")
    interaction = moderator_interaction(bot)
    with pytest.raises(InvalidInput) as caught:
        await modal.on_submit(interaction)
    await modal.on_error(interaction, caught.value)
    text = interaction.sent_text()
    assert "flase" in text and all(v in text for v in VERDICTS)
    assert await store.audit_count() == 0


async def test_edit_link_source_retire_in_own_server(bot: FactBot, store: Store) -> None:
    cog = claims_cog(bot)
    interaction = moderator_interaction(bot)
    claim_id = await add_claim(store, "The moon is made of cheese", guild_id=interaction.guild_id)
    choice = app_commands.Choice(name="Mixed", value="mixed")
    await cog.edit.callback(cog, interaction, claim_id, choice, "New note", None)
    await cog.link.callback(cog, moderator_interaction(bot, interaction.guild), claim_id, URL_B)
    await cog.source.callback(
        cog,
        moderator_interaction(bot, interaction.guild),
        claim_id,
        URL_UNKNOWN,
        "Read",
        "alternative",
    )
    await cog.retire.callback(cog, moderator_interaction(bot, interaction.guild), claim_id)
    claim = await store.get_claim(claim_id, guild_id=interaction.guild_id)
    assert (claim.verdict, claim.note, claim.urls, claim.active) == (
        "mixed",
        "New note",
        (URL_B,),
        False,
    )
    assert Source(URL_UNKNOWN, "Read", "alternative") in claim.sources
    actions = [e.action for e in await store.claim_history(claim_id, guild_id=interaction.guild_id)]
    assert actions == ["create", "edit", "link", "source", "retire"]
    assert interaction.sent()[-1]["ephemeral"] is True


async def test_a_moderator_restores_a_claim_retired_by_mistake(bot: FactBot, store: Store) -> None:
    cog = claims_cog(bot)
    guild = FakeGuild()
    claim_id = await add_claim(store, "The moon is made of cheese", (URL_A,), guild_id=guild.id)
    await cog.retire.callback(cog, moderator_interaction(bot, guild), claim_id)
    restored = moderator_interaction(bot, guild)
    await cog.restore.callback(cog, restored, claim_id)
    assert restored.sent()[-1]["content"] == f"Claim #{claim_id} restored."
    assert restored.sent()[-1]["ephemeral"] is True
    assert (await store.get_claim(claim_id, guild_id=guild.id)).active
    actions = [e.action for e in await store.claim_history(claim_id, guild_id=guild.id)]
    assert actions == ["create", "retire", "restore"]
    # Guarded as every /claim command; another server's claim is not found.
    assert await cog.restore._check_can_run(moderator_interaction(bot, guild))
    with pytest.raises(NotModerator):
        await cog.restore._check_can_run(FakeInteraction(client=bot, guild=guild))
    with pytest.raises(NotFound):
        await cog.restore.callback(cog, moderator_interaction(bot), claim_id)


async def test_a_moderator_sets_and_clears_a_claims_claimant(bot: FactBot, store: Store) -> None:
    cog = claims_cog(bot)
    interaction = moderator_interaction(bot)
    claim_id = await add_claim(store, "The moon is made of cheese", guild_id=interaction.guild_id)
    await cog.edit.callback(cog, interaction, claim_id, None, None, None, "Jane Doe")
    claim = await store.get_claim(claim_id, guild_id=interaction.guild_id)
    assert claim.claimant == "Jane Doe"
    (embed,) = interaction.sent()[-1]["embeds"]
    assert [(f.name, f.value) for f in embed.fields][:1] == [("Claimant", "Jane Doe")]
    cleared = moderator_interaction(bot, interaction.guild)
    await cog.edit.callback(cog, cleared, claim_id, None, None, None, " - ")
    claim = await store.get_claim(claim_id, guild_id=interaction.guild_id)
    assert claim.claimant is None
    (embed,) = cleared.sent()[-1]["embeds"]
    assert "Claimant" not in [f.name for f in embed.fields]
    history = moderator_interaction(bot, interaction.guild)
    await cog.history.callback(cog, history, claim_id)
    assert history.sent_text().count("claimant changed") == 2


@pytest.mark.parametrize("owner", ["other-server", "global"])
async def test_other_servers_and_global_claims_are_not_found(
    bot: FactBot, store: Store, owner: str
) -> None:
    guild_id = FakeGuild().id if owner == "other-server" else None
    claim_id = await add_claim(store, "The moon is made of cheese", (URL_A,), guild_id=guild_id)
    before = await store.get_claim(claim_id, guild_id=guild_id)
    audit = await store.audit_count()
    cog = claims_cog(bot)
    calls = [
        (cog.edit, (claim_id, app_commands.Choice(name="True", value="true"), None, None)),
        (cog.retire, (claim_id,)),
        (cog.link, (claim_id, URL_B)),
        (cog.source, (claim_id, URL_B, None, "fact-check")),
    ]
    for command, args in calls:
        interaction = moderator_interaction(bot)
        with pytest.raises(NotFound) as caught:
            await command.callback(cog, interaction, *args)
        await errors.answer_error(interaction, caught.value)
        assert "not found" in interaction.sent_text()
    assert await store.get_claim(claim_id, guild_id=guild_id) == before
    assert await store.audit_count() == audit


async def test_show_search_history(bot: FactBot, store: Store) -> None:
    cog = claims_cog(bot)
    guild = FakeGuild()
    claim_id = await add_claim(store, "The moon is made of cheese", (URL_A,), guild_id=guild.id)
    for _ in range(3):
        await store.edit_claim(claim_id, actor="discord:1", guild_id=guild.id, note="n" * 3000)
        await store.edit_claim(claim_id, actor="discord:1", guild_id=guild.id, note="short")

    shown = moderator_interaction(bot, guild)
    await cog.show.callback(cog, shown, claim_id)
    assert f"Claim #{claim_id}" in shown.sent_text() and "news.example.com" in shown.sent_text()

    found = moderator_interaction(bot, guild)
    await cog.search.callback(cog, found, "moon cheese")
    assert f"#{claim_id}" in found.sent_text()

    history = moderator_interaction(bot, guild)
    await cog.history.callback(cog, history, claim_id)
    embed = history.sent()[-1]["embeds"][0]
    lines = embed.description.splitlines()
    assert "create" in lines[0] and "edit" in lines[-1]
    assert len(embed) <= 6000 and len(embed.description) <= 4096


async def test_history_is_trimmed_oldest_first(bot: FactBot, store: Store) -> None:
    cog = claims_cog(bot)
    guild = FakeGuild()
    claim_id = await add_claim(store, "c", guild_id=guild.id)
    for i in range(60):
        await store.edit_claim(
            claim_id, actor="discord:" + "9" * 50, guild_id=guild.id, note=str(i)
        )
    interaction = moderator_interaction(bot, guild)
    await cog.history.callback(cog, interaction, claim_id)
    description = interaction.sent()[-1]["embeds"][0].description
    assert len(description) <= 4096
    assert description.startswith("… ") and "earlier entries not shown" in description


# --- /source ------------------------------------------------------------------------------


async def test_source_set_and_clear(bot: FactBot, store: Store) -> None:
    cog = sources_cog(bot)
    interaction = moderator_interaction(bot)
    await cog.set_note.callback(cog, interaction, "https://www.Example.com/x", "state media", "")
    notes = await store.list_source_notes(guild_id=interaction.guild_id)
    assert [(n.domain, n.rating, n.guild_id) for n in notes] == [
        ("example.com", "state media", interaction.guild_id)
    ]
    assert "example.com" in interaction.sent_text()
    cleared = moderator_interaction(bot, interaction.guild)
    await cog.clear_note.callback(cog, cleared, "example.com")
    assert await store.list_source_notes(guild_id=interaction.guild_id) == []
    with pytest.raises(NotFound):
        await cog.clear_note.callback(
            cog, moderator_interaction(bot, interaction.guild), "example.com"
        )


# --- the error handler ---------------------------------------------------------------------


async def test_unexpected_error_is_polite_and_logged(
    bot: FactBot, caplog: pytest.LogCaptureFixture
) -> None:
    command = claims_cog(bot).show
    interaction = moderator_interaction(bot)
    interaction.command = command
    error = app_commands.CommandInvokeError(command, RuntimeError("kaboom"))
    with caplog.at_level(logging.ERROR, logger="cogs.errors"):
        await bot.tree.on_error(interaction, error)
    sent = interaction.sent()
    assert sent == [
        {
            "content": errors.SOMETHING_WRONG,
            "embeds": [],
            "ephemeral": True,
            "allowed_mentions": unittest.mock.ANY,
        }
    ]
    assert no_mentions(sent[0])
    record = caplog.records[-1]
    assert "claim show" in record.getMessage() and str(interaction.guild_id) in record.getMessage()
    assert record.exc_info is not None and "kaboom" in str(record.exc_info[1])


async def test_error_after_defer_is_a_followup(bot: FactBot) -> None:
    interaction = moderator_interaction(bot)
    await interaction.response.defer(ephemeral=True, thinking=True)
    await errors.answer_error(interaction, NotFound("claim #9 not found"))
    interaction.response.send_message.assert_not_awaited()
    interaction.followup.send.assert_awaited_once()
    assert interaction.sent()[0]["content"] == "claim #9 not found"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (app_commands.NoPrivateMessage(), errors.USE_IN_SERVER),
        (NotModerator(), errors.NEED_MODERATOR),
        (app_commands.MissingPermissions(["manage_messages"]), errors.NEED_MODERATOR),
        (InvalidInput("claim is empty"), "claim is empty"),
    ],
)
async def test_error_precedence(bot: FactBot, error: Exception, expected: str) -> None:
    interaction = moderator_interaction(bot)
    await errors.answer_error(interaction, error)
    assert interaction.sent()[0]["content"] == expected


async def test_bad_domain_is_explained(bot: FactBot) -> None:
    cog = sources_cog(bot)
    interaction = moderator_interaction(bot)
    interaction.command = cog.set_note
    try:
        await cog.set_note.callback(cog, interaction, "not a domain", "x", "")
    except Exception as exc:
        await bot.tree.on_error(interaction, app_commands.CommandInvokeError(cog.set_note, exc))
    assert interaction.sent_text().startswith("That URL doesn't look right:")
