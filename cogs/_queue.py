"""``/claim queue``: members' open fact-check requests, paged, each with a button that opens the
add-claim form pre-filled; and telling opted-in askers that their request was answered."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import discord

from bot.community import QUEUE_PAGE_SIZE, answered_dm, queue_page
from bot.store import Claim, ClosedRequest, NotFound, Store
from cogs._checks import check_moderator
from cogs._interactions import NO_MENTIONS, send_ephemeral
from cogs.errors import answer_error

if TYPE_CHECKING:
    from bot.client import FactBot

log = logging.getLogger(__name__)

QUEUE_TIMEOUT_S = 600.0

AnswerFn = Callable[[discord.Interaction, Claim], Awaitable[None]]
# The add-claim form (``cogs.claims.AddClaimModal``): store, then what to do with the new claim.
FormFn = Callable[..., discord.ui.Modal]


async def queue_answer(store: Store, guild_id: int, page: int, form: FormFn) -> dict[str, Any]:
    """The content and buttons of one page of the queue (``page`` clamped to what exists)."""
    total = await store.count_open_requests(guild_id)
    pages = max(1, -(-total // QUEUE_PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    requests = await store.open_requests(
        guild_id, limit=QUEUE_PAGE_SIZE, offset=page * QUEUE_PAGE_SIZE
    )
    items = [(r.id, r.kind, r.key, r.url) for r in requests]
    view = QueueView(store, guild_id, page, pages, items, form)
    return {"content": queue_page(requests, page=page, pages=pages, total=total), "view": view}


class QueueView(discord.ui.View):
    """Previous / next, and per request "Write #N" (the add-claim form) and "Done #N"."""

    def __init__(
        self,
        store: Store,
        guild_id: int,
        page: int,
        pages: int,
        requests: Sequence[tuple[int, str, str, str | None]],
        form: FormFn,
    ) -> None:
        super().__init__(timeout=QUEUE_TIMEOUT_S)
        self.store, self.guild_id, self.page, self.form = store, guild_id, page, form
        for request_id, kind, key, url in requests:
            write = discord.ui.Button[QueueView](label=f"Write #{request_id}")
            write.callback = self._writer(request_id, kind, key, url)  # type: ignore[method-assign]
            done = discord.ui.Button[QueueView](
                label=f"Done #{request_id}", style=discord.ButtonStyle.secondary
            )
            done.callback = self._closer(request_id)  # type: ignore[method-assign]
            self.add_item(write)
            self.add_item(done)
        if pages > 1:
            back = discord.ui.Button[QueueView](label="◀", disabled=page == 0, row=4)
            back.callback = self._turner(page - 1)  # type: ignore[method-assign]
            ahead = discord.ui.Button[QueueView](label="▶", disabled=page >= pages - 1, row=4)
            ahead.callback = self._turner(page + 1)  # type: ignore[method-assign]
            self.add_item(back)
            self.add_item(ahead)

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        # The queue's answer is private, but the check runs again: roles change.
        return await check_moderator(interaction)

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any], /
    ) -> None:
        await answer_error(interaction, error)

    def _turner(self, page: int) -> Any:
        async def turn(interaction: discord.Interaction) -> None:
            answer = await queue_answer(self.store, self.guild_id, page, self.form)
            await interaction.response.edit_message(**answer, allowed_mentions=NO_MENTIONS)

        return turn

    def _writer(self, request_id: int, kind: str, key: str, url: str | None) -> Any:
        async def write(interaction: discord.Interaction) -> None:
            prefill = {"urls": url or key} if kind == "url" else {"claim": key}
            modal = self.form(self.store, answers=self._answered_by(request_id), **prefill)
            await interaction.response.send_modal(modal)

        return write

    def _answered_by(self, request_id: int) -> AnswerFn:
        async def answered(interaction: discord.Interaction, claim: Claim) -> None:
            try:
                closed = await self.store.close_request(
                    request_id, guild_id=self.guild_id, claim_id=claim.id
                )
            except NotFound:
                return  # the claim's URL answered it already (the change feed closes those)
            await notify_answered(interaction.client, [closed])  # type: ignore[arg-type]

        return answered

    def _closer(self, request_id: int) -> Any:
        async def close(interaction: discord.Interaction) -> None:
            closed = await self.store.close_request(request_id, guild_id=self.guild_id)
            await send_ephemeral(interaction, f"Request #{request_id} closed.")
            await notify_answered(interaction.client, [closed])  # type: ignore[arg-type]

        return close


async def notify_answered(bot: FactBot, closed: Sequence[ClosedRequest]) -> None:
    """A DM to each asker who opted in (and nobody else); a refused DM is dropped quietly."""
    for item in closed:
        guild = bot.get_guild(item.request.guild_id)
        for member_id in item.notify:
            try:
                user = bot.get_user(member_id) or await bot.fetch_user(member_id)
                await user.send(
                    answered_dm(item.request, guild.name if guild is not None else None),
                    allowed_mentions=NO_MENTIONS,
                )
            except discord.HTTPException as exc:
                # Blocked DMs, a deleted account: the member keeps their privacy, we move on.
                log.debug("request DM not delivered (%s)", exc.status)
