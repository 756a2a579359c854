"""The bot assembled offline: every extension loads, command names are unique, start-up errors
are explained. No network: the bot never logs in."""

from __future__ import annotations

import logging
import unittest.mock
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from bot import client
from bot.cli import UsageError
from bot.client import EXTENSIONS, FactBot
from bot.config import Config, DiscordConfig, MatchingConfig, PagesConfig
from bot.ranking import Ranker
from bot.services import open_services
from tests.fakes import FakeGuild, FakeMember

OWNER = 777


def make_config(tmp_path: Path) -> Config:
    return Config(
        discord=DiscordConfig(token="not-a-real-token", owner_ids=(OWNER,)),
        matching=MatchingConfig(semantic="off"),
        pages=PagesConfig(enabled=False),
    )


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[FactBot]:
    config = make_config(tmp_path)
    async with open_services(
        config, db_path=str(tmp_path / "t.db"), fetch_pages=False, ranker=Ranker()
    ) as services:
        made = FactBot(services)
        try:
            yield made
        finally:
            await made.close()


def all_command_names(tree: app_commands.CommandTree) -> list[tuple[str, str]]:
    """(type, qualified name) of every command, group and subcommand in the tree."""
    names: list[tuple[str, str]] = []
    for kind in discord.AppCommandType:
        for command in tree.get_commands(type=kind):
            names.append((kind.name, command.qualified_name))
            if isinstance(command, app_commands.Group):
                names.extend((kind.name, c.qualified_name) for c in command.walk_commands())
    return names


async def test_every_extension_loads_and_names_are_unique(bot: FactBot) -> None:
    for extension in EXTENSIONS:
        await bot.load_extension(extension)
    assert set(bot.extensions) == set(EXTENSIONS)
    names = all_command_names(bot.tree)
    assert len(names) == len(set(names)), names
    assert {n for _, n in names} >= {
        "factcheck",
        "Check links",
        "claim",
        "claim add",
        "claim link",
        "claim source",
        "claim edit",
        "claim retire",
        "claim show",
        "claim search",
        "claim history",
        "source",
        "source set",
        "source clear",
        "settings",
    }
    prefix = [c.qualified_name for c in bot.walk_commands()]
    assert prefix == ["sync"]
    # Discord's rules for the payload (name lengths, descriptions, choices) hold for all.
    for command in bot.tree.get_commands():
        command.to_dict(bot.tree)


async def test_setup_hook_loads_the_extensions(bot: FactBot) -> None:
    await bot.setup_hook()
    assert set(bot.extensions) == set(EXTENSIONS)


async def test_bot_options(bot: FactBot) -> None:
    assert bot.allowed_mentions is not None
    assert bot.allowed_mentions.to_dict() == discord.AllowedMentions.none().to_dict()
    assert bot.intents.guilds and bot.intents.guild_messages and bot.intents.message_content
    assert not bot.intents.members and not bot.intents.presences
    assert bot.command_prefix is commands.when_mentioned
    assert bot.owner_ids == {OWNER}


async def test_sync_is_owner_only(bot: FactBot) -> None:
    await bot.setup_hook()
    admin: Any = bot.get_cog("Admin")
    ctx = unittest.mock.NonCallableMagicMock(spec_set=commands.Context)
    ctx.author = FakeMember(id=OWNER + 1)
    with pytest.raises(commands.NotOwner):
        await admin.cog_check(ctx)
    ctx.author = FakeMember(id=OWNER)
    assert await admin.cog_check(ctx)


async def test_sync_to_this_server(bot: FactBot, monkeypatch: pytest.MonkeyPatch) -> None:
    await bot.setup_hook()
    admin: Any = bot.get_cog("Admin")
    sync = unittest.mock.AsyncMock(return_value=[object(), object()])
    monkeypatch.setattr(bot.tree, "sync", sync)  # Discord's API, not ours
    ctx = unittest.mock.NonCallableMagicMock(spec_set=commands.Context)
    ctx.guild = FakeGuild()
    await admin.sync.callback(admin, ctx, "guild")
    sync.assert_awaited_once_with(guild=ctx.guild)
    assert bot.tree.get_command("factcheck", guild=ctx.guild) is not None
    ctx.reply.assert_awaited_once()
    assert "Synced 2 commands" in ctx.reply.await_args.args[0]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (discord.LoginFailure("Improper token has been passed."), "refused the token"),
        (discord.PrivilegedIntentsRequired(None), "Message Content"),
    ],
)
async def test_start_up_errors_are_explained(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    error: Exception,
    expected: str,
) -> None:
    async def refuse(self: FactBot, token: str, *, reconnect: bool = True) -> None:
        raise error

    # Stands in for Discord's gateway, which refuses before anything of ours runs.
    monkeypatch.setattr(FactBot, "start", refuse)
    with caplog.at_level(logging.ERROR, logger="bot.client"), pytest.raises(UsageError) as caught:
        await client.run_bot(make_config(tmp_path), db_path=str(tmp_path / "t.db"))
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)
    assert expected in caplog.text
    assert "not-a-real-token" not in caplog.text


async def test_nothing_happens_at_import() -> None:
    import importlib

    for name in ("bot.client", *EXTENSIONS):
        module = importlib.import_module(name)
        assert not [v for v in vars(module).values() if isinstance(v, discord.Client)]
