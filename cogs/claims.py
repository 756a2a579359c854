"""``/claim``: moderators add, link, source, edit, retire, restore, show, search and trace
claims.

A server's moderators change only their server's claims: the store answers "not found" for a
global claim or another server's, and changes nothing.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.community import tally_text
from bot.replies import render_claim, render_claim_list, render_history
from bot.store import (
    MAX_CLAIM_CHARS,
    MAX_CLAIMANT_CHARS,
    MAX_NOTE_CHARS,
    InvalidInput,
    NewClaim,
    Source,
    Store,
)
from bot.verdicts import LABELS, VERDICTS, parse_verdict
from cogs._checks import moderator_only
from cogs._interactions import NO_MENTIONS, actor_of, defer_ephemeral, send_ephemeral
from cogs._queue import AnswerFn, queue_answer
from cogs.errors import answer_error

if TYPE_CHECKING:
    from bot.client import FactBot

log = logging.getLogger(__name__)

VERDICT_CHOICES = [app_commands.Choice(name=LABELS[v], value=v) for v in VERDICTS]
# A modal's text inputs hold at most 4000 characters.
MODAL_TEXT_CHARS = 4000


def lines_of(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def sources_of(text: str) -> tuple[Source, ...]:
    """Fact-check articles, one a line: a URL, optionally followed by a title."""
    sources = []
    for line in lines_of(text):
        url, _, title = line.partition(" ")
        sources.append(Source(url=url, title=title.strip() or None, kind="fact-check"))
    return tuple(sources)


def claim_from_form(claim: str, verdict: str, note: str, urls: str, sources: str) -> NewClaim:
    """The claim a moderator typed into the modal (the store validates the rest)."""
    try:
        parsed = parse_verdict(verdict)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    return NewClaim(
        claim=claim,
        verdict=parsed,
        note=note,
        urls=tuple(lines_of(urls)),
        sources=sources_of(sources),
    )


class AddClaimModal(discord.ui.Modal, title="Add a claim"):
    claim: discord.ui.TextInput[AddClaimModal] = discord.ui.TextInput(
        label="Claim (as people state it)",
        style=discord.TextStyle.paragraph,
        max_length=MAX_CLAIM_CHARS,
    )
    verdict: discord.ui.TextInput[AddClaimModal] = discord.ui.TextInput(
        label="Verdict",
        placeholder=", ".join(VERDICTS)[:100],
        max_length=40,
    )
    note: discord.ui.TextInput[AddClaimModal] = discord.ui.TextInput(
        label="Note (what fact-checkers found)",
        style=discord.TextStyle.paragraph,
        required=False,
        max_length=min(MAX_NOTE_CHARS, MODAL_TEXT_CHARS),
    )
    urls: discord.ui.TextInput[AddClaimModal] = discord.ui.TextInput(
        label="URLs where it appears, one a line",
        style=discord.TextStyle.paragraph,
        required=False,
        max_length=MODAL_TEXT_CHARS,
    )
    sources: discord.ui.TextInput[AddClaimModal] = discord.ui.TextInput(
        label="Fact-checks, one a line (URL, then title)",
        style=discord.TextStyle.paragraph,
        required=False,
        max_length=MODAL_TEXT_CHARS,
    )

    def __init__(
        self, store: Store, *, answers: AnswerFn | None = None, claim: str = "", urls: str = ""
    ) -> None:
        super().__init__()
        self.store = store
        self.answers = answers  # a request from the queue this claim answers
        self.claim.default = claim[:MAX_CLAIM_CHARS] or None
        self.urls.default = urls or None

    async def on_submit(self, interaction: discord.Interaction) -> None:
        new = claim_from_form(
            self.claim.value,
            self.verdict.value,
            self.note.value,
            self.urls.value,
            self.sources.value,
        )
        await defer_ephemeral(interaction)
        claim = await self.store.add_claim(
            new, actor=actor_of(interaction), guild_id=interaction.guild_id
        )
        log.info("claim #%d added (guild %s)", claim.id, interaction.guild_id)
        await send_ephemeral(interaction, f"Added claim #{claim.id}.", embeds=[render_claim(claim)])
        if self.answers is not None:
            await self.answers(interaction, claim)

    async def on_error(  # type: ignore[override]
        self, interaction: discord.Interaction, error: Exception, /
    ) -> None:
        await answer_error(interaction, error)


@moderator_only()
class Claims(commands.GroupCog, group_name="claim", group_description="Moderators: manage claims"):
    def __init__(self, bot: FactBot) -> None:
        self.bot = bot
        self.store = bot.services.store
        self.checker = bot.services.checker
        super().__init__()

    @app_commands.command(name="add")
    async def add(self, interaction: discord.Interaction) -> None:
        """Add a claim (opens a form)."""
        await interaction.response.send_modal(AddClaimModal(self.store))

    @app_commands.command(name="link")
    @app_commands.describe(claim_id="The claim's number", url="A URL where the claim appears")
    async def link(
        self,
        interaction: discord.Interaction,
        claim_id: app_commands.Range[int, 1],
        url: app_commands.Range[str, 1, 2048],
    ) -> None:
        """Attach a URL where a claim appears."""
        await defer_ephemeral(interaction)
        claim = await self.store.link_url(
            claim_id, url, actor=actor_of(interaction), guild_id=interaction.guild_id
        )
        await send_ephemeral(
            interaction, f"Linked to claim #{claim.id}.", embeds=[render_claim(claim)]
        )

    @app_commands.command(name="source")
    @app_commands.describe(
        claim_id="The claim's number",
        url="An article to read",
        title="Its title",
        kind="A fact-check of the claim, or an alternative read",
    )
    async def source(
        self,
        interaction: discord.Interaction,
        claim_id: app_commands.Range[int, 1],
        url: app_commands.Range[str, 1, 2048],
        title: app_commands.Range[str, 1, 300] | None = None,
        kind: Literal["fact-check", "alternative"] = "fact-check",
    ) -> None:
        """Add a source to read for a claim."""
        await defer_ephemeral(interaction)
        claim = await self.store.add_source(
            claim_id,
            Source(url=url, title=title, kind=kind),
            actor=actor_of(interaction),
            guild_id=interaction.guild_id,
        )
        await send_ephemeral(
            interaction, f"Source added to claim #{claim.id}.", embeds=[render_claim(claim)]
        )

    @app_commands.command(name="edit")
    @app_commands.describe(
        claim_id="The claim's number",
        verdict="New verdict",
        note="New note",
        claim="New wording",
        claimant="Who made the claim (a person or a description; - clears it)",
    )
    @app_commands.choices(verdict=VERDICT_CHOICES)
    async def edit(
        self,
        interaction: discord.Interaction,
        claim_id: app_commands.Range[int, 1],
        verdict: app_commands.Choice[str] | None = None,
        note: app_commands.Range[str, 0, MAX_NOTE_CHARS] | None = None,
        claim: app_commands.Range[str, 1, MAX_CLAIM_CHARS] | None = None,
        claimant: app_commands.Range[str, 1, MAX_CLAIMANT_CHARS] | None = None,
    ) -> None:
        """Change a claim's verdict, note, wording or claimant."""
        await defer_ephemeral(interaction)
        edited = await self.store.edit_claim(
            claim_id,
            actor=actor_of(interaction),
            guild_id=interaction.guild_id,
            claim=claim,
            verdict=verdict.value if verdict is not None else None,
            note=note,
            claimant=claimant,  # "-": nobody known (an option cannot be sent empty)
        )
        await send_ephemeral(
            interaction, f"Claim #{edited.id} saved.", embeds=[render_claim(edited)]
        )

    @app_commands.command(name="retire")
    @app_commands.describe(claim_id="The claim's number")
    async def retire(
        self, interaction: discord.Interaction, claim_id: app_commands.Range[int, 1]
    ) -> None:
        """Stop matching a claim (it is kept, with its history)."""
        await self._set_active(interaction, claim_id, False)

    @app_commands.command(name="restore")
    @app_commands.describe(claim_id="The claim's number")
    async def restore(
        self, interaction: discord.Interaction, claim_id: app_commands.Range[int, 1]
    ) -> None:
        """Match a retired claim again."""
        await self._set_active(interaction, claim_id, True)

    async def _set_active(
        self, interaction: discord.Interaction, claim_id: int, active: bool
    ) -> None:
        await defer_ephemeral(interaction)
        claim = await self.store.set_active(
            claim_id, active, actor=actor_of(interaction), guild_id=interaction.guild_id
        )
        await send_ephemeral(
            interaction, f"Claim #{claim.id} {'restored' if active else 'retired'}."
        )

    @app_commands.command(name="show")
    @app_commands.describe(claim_id="The claim's number")
    async def show(
        self, interaction: discord.Interaction, claim_id: app_commands.Range[int, 1]
    ) -> None:
        """Show a claim as stored, with what members here said of its note."""
        claim = await self.store.get_claim(claim_id, guild_id=interaction.guild_id)
        tally = await self.store.vote_tally(claim.id, guild_id=interaction.guild_id)
        embed = render_claim(claim).add_field(name="Votes here", value=tally_text(tally))
        await send_ephemeral(interaction, embeds=[embed])

    @app_commands.command(name="queue")
    async def queue(self, interaction: discord.Interaction) -> None:
        """Members' open fact-check requests, most asked first."""
        assert interaction.guild_id is not None  # guild_only
        answer = await queue_answer(self.store, interaction.guild_id, 0, AddClaimModal)
        await interaction.response.send_message(
            **answer, ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    @app_commands.command(name="search")
    @app_commands.describe(text="Words of the claim")
    async def search(
        self, interaction: discord.Interaction, text: app_commands.Range[str, 1, 500]
    ) -> None:
        """Find claims by their wording."""
        await defer_ephemeral(interaction)
        matches = await self.checker.search_text(text, guild_id=interaction.guild_id, limit=10)
        await send_ephemeral(interaction, embeds=[render_claim_list("Claims found", matches)])

    @app_commands.command(name="history")
    @app_commands.describe(claim_id="The claim's number")
    async def history(
        self, interaction: discord.Interaction, claim_id: app_commands.Range[int, 1]
    ) -> None:
        """Who changed a claim, and how (newest last)."""
        claim = await self.store.get_claim(claim_id, guild_id=interaction.guild_id)
        entries = await self.store.claim_history(claim_id, guild_id=interaction.guild_id)
        await send_ephemeral(interaction, embeds=[render_history(claim, entries)])


async def setup(bot: FactBot) -> None:
    await bot.add_cog(Claims(bot))
