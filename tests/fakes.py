"""Spec'd fakes of discord.py objects, in the style of python-discord's ``tests/helpers.py``.

Each fake is a ``NonCallableMagicMock`` with ``spec_set`` = the discord.py class: reading or
setting an attribute the class does not have fails (a typo in the code under test is caught),
``isinstance(fake, discord.Member)`` still holds, and coroutine methods (``reply``, ``send``,
``defer``...) are ``AsyncMock``s on which ``await_args`` shows what was sent.

Only discord.py is faked; factbot's own code (store, checker, cogs) is always the real thing.
"""

from __future__ import annotations

import itertools
import unittest.mock
from typing import Any, ClassVar

import discord

_ids = itertools.count(10_000)


def next_id() -> int:
    return next(_ids)


class SpecFake(unittest.mock.NonCallableMagicMock):
    """A fake of ``spec_class`` with the given attributes (a typo in a name fails)."""

    spec_class: ClassVar[type]
    # name -> a function making the default value (called once per fake)
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(spec_set=self.spec_class)
        for name, make in self.defaults.items():
            if name not in attrs:
                setattr(self, name, make())
        for name, value in attrs.items():
            setattr(self, name, value)


class FakeGuild(SpecFake):
    spec_class = discord.Guild
    defaults: ClassVar[dict[str, Any]] = {"id": next_id, "name": lambda: "guild"}


class FakeRole(SpecFake):
    spec_class = discord.Role
    defaults: ClassVar[dict[str, Any]] = {"id": next_id, "name": lambda: "role"}


class FakeMember(SpecFake):
    spec_class = discord.Member
    defaults: ClassVar[dict[str, Any]] = {
        "id": next_id,
        "name": lambda: "member",
        "bot": lambda: False,
        "roles": list,
    }


class FakeUser(SpecFake):
    """A user outside a server (DMs): no roles."""

    spec_class = discord.User
    defaults: ClassVar[dict[str, Any]] = {
        "id": next_id,
        "name": lambda: "user",
        "bot": lambda: False,
    }


class FakeTextChannel(SpecFake):
    spec_class = discord.TextChannel
    defaults: ClassVar[dict[str, Any]] = {
        "id": next_id,
        "name": lambda: "channel",
        "category_id": lambda: None,
    }


class FakeThread(SpecFake):
    """A thread (or a forum post) in ``parent``."""

    spec_class = discord.Thread
    defaults: ClassVar[dict[str, Any]] = {"id": next_id, "name": lambda: "thread"}

    def __init__(self, *, parent: Any, **attrs: Any) -> None:
        super().__init__(parent=parent, parent_id=parent.id, guild=parent.guild, **attrs)


class FakeForumChannel(SpecFake):
    spec_class = discord.ForumChannel
    defaults: ClassVar[dict[str, Any]] = {
        "id": next_id,
        "name": lambda: "forum",
        "category_id": lambda: None,
    }


class FakePartialMessage(SpecFake):
    """A message known by id (what the bot edits later, or backfills); ``reply`` returns the
    bot's message."""

    spec_class = discord.PartialMessage
    defaults: ClassVar[dict[str, Any]] = {"id": next_id}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.reply.side_effect = self._reply

    async def _reply(self, *args: Any, **kwargs: Any) -> Any:
        return FakeMessage()


class FakePartialMessageable(SpecFake):
    """A channel known by id; ``get_partial_message`` gives one fake per message id."""

    spec_class = discord.PartialMessageable

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.messages: dict[int, FakePartialMessage] = {}
        self.get_partial_message.side_effect = self._message

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "messages":
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    def _message(self, message_id: int) -> FakePartialMessage:
        return self.messages.setdefault(message_id, FakePartialMessage(id=message_id))


class FakeMessage(SpecFake):
    """A message; ``reply`` is an AsyncMock that returns the bot's message (a FakeMessage)."""

    spec_class = discord.Message
    defaults: ClassVar[dict[str, Any]] = {
        "id": next_id,
        "content": lambda: "",
        "embeds": list,
        "webhook_id": lambda: None,
    }

    def __init__(self, **attrs: Any) -> None:
        guild = attrs.pop("guild", None) or FakeGuild()
        attrs.setdefault("author", FakeMember())
        attrs.setdefault("channel", FakeTextChannel(guild=guild))
        super().__init__(guild=guild, **attrs)
        self.reply.side_effect = self._reply

    async def _reply(self, *args: Any, **kwargs: Any) -> FakeMessage:
        return FakeMessage(guild=self.guild, channel=self.channel)


class FakeWebhook(SpecFake):
    """``interaction.followup``; ``send`` is an AsyncMock."""

    spec_class = discord.Webhook


class FakeInteractionResponse(SpecFake):
    """``interaction.response``: answering (or deferring) makes ``is_done()`` true, once only."""

    spec_class = discord.InteractionResponse

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._done = False
        self.is_done.side_effect = lambda: self._done
        for name in ("send_message", "defer", "send_modal"):
            getattr(self, name).side_effect = self._answer

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "_done":
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    async def _answer(self, *args: Any, **kwargs: Any) -> None:
        if self._done:
            raise discord.InteractionResponded(unittest.mock.MagicMock())
        self._done = True


class FakeInteraction(SpecFake):
    """An application command interaction in a server channel (``guild=None``: in DMs)."""

    spec_class = discord.Interaction
    _no_guild = object()

    def __init__(
        self,
        *,
        client: discord.Client,
        guild: Any = _no_guild,
        user: Any = None,
        permissions: discord.Permissions | None = None,
        **attrs: Any,
    ) -> None:
        if guild is FakeInteraction._no_guild:
            guild = FakeGuild()
        channel = attrs.pop("channel", None) or FakeTextChannel(guild=guild)
        if user is None:
            user = FakeMember(guild=guild) if guild is not None else FakeUser()
        super().__init__(
            client=client,
            guild=guild,
            guild_id=guild.id if guild is not None else None,
            channel=channel,
            channel_id=channel.id,
            user=user,
            permissions=permissions if permissions is not None else discord.Permissions.none(),
            response=FakeInteractionResponse(),
            followup=FakeWebhook(),
            command=None,
            **attrs,
        )

    # --- what was sent ------------------------------------------------------------------

    def sent(self) -> list[dict[str, Any]]:
        """Every answer and follow-up, as {"content": ..., **kwargs}, in order."""
        calls = []
        for mock in (self.response.send_message, self.followup.send):
            for call in mock.await_args_list:
                content = call.args[0] if call.args else call.kwargs.get("content")
                calls.append({**call.kwargs, "content": content})
        return calls

    def sent_text(self) -> str:
        """All text sent: contents and embed titles, descriptions and fields."""
        parts: list[str] = []
        for call in self.sent():
            if isinstance(call["content"], str):
                parts.append(call["content"])
            for embed in call.get("embeds") or []:
                parts.extend(filter(None, (embed.title, embed.description)))
                parts.extend(f"{f.name}\n{f.value}" for f in embed.fields)
                if embed.footer.text:
                    parts.append(embed.footer.text)
        return "\n".join(parts)


def fill_modal(modal: discord.ui.Modal, **values: str) -> None:
    """Set a modal's text inputs as a submit from Discord does."""
    for name, value in values.items():
        item = getattr(modal, name)
        assert isinstance(item, discord.ui.TextInput), name
        item._refresh_state(
            unittest.mock.MagicMock(), {"type": 4, "custom_id": "x", "value": value}
        )


def no_mentions(kwargs: dict[str, Any]) -> bool:
    """Whether a send's ``allowed_mentions`` allows nothing at all."""
    allowed = kwargs.get("allowed_mentions")
    return (
        isinstance(allowed, discord.AllowedMentions)
        and allowed.to_dict() == discord.AllowedMentions.none().to_dict()
    )
