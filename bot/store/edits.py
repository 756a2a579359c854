"""Changes to a claim that read the same on every engine: what to change is decided here, from
the claim as it stands; the engine's ``_update_claim`` applies it in one audited transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot import links
from bot.store.models import Claim, InvalidInput, NotFound, Source
from bot.store.validation import (
    MAX_CLAIM_CHARS,
    MAX_NOTE_CHARS,
    MAX_SOURCES_PER_CLAIM,
    MAX_URLS_PER_CLAIM,
    check_source,
    check_url,
    check_verdict,
    clean_claimant,
    clean_text,
)

# (changed fields, URLs, sources) of a claim after a change.
Change = tuple[dict[str, Any], tuple[str, ...], tuple[Source, ...]]


class ClaimEdits:
    """The public edits of a claim, over an engine's ``_update_claim``."""

    async def _update_claim(
        self,
        claim_id: int,
        *,
        actor: str,
        scope: int | None,
        action: str,
        change: Callable[[Claim], Change],
    ) -> Claim:
        raise NotImplementedError

    async def edit_claim(
        self,
        claim_id: int,
        *,
        actor: str,
        guild_id: int | None,
        claim: str | None = None,
        verdict: str | None = None,
        note: str | None = None,
        claimant: str | None = None,
    ) -> Claim:
        """Change a claim's text, verdict, note or claimant (only in its own scope); an empty
        ``claimant`` clears it."""
        fields: dict[str, Any] = {}
        if claim is not None:
            fields["claim"] = clean_text(claim, "claim", MAX_CLAIM_CHARS, required=True)
        if verdict is not None:
            fields["verdict"] = check_verdict(verdict)
        if note is not None:
            fields["note"] = clean_text(note, "note", MAX_NOTE_CHARS)
        if claimant is not None:
            fields["claimant"] = clean_claimant(claimant)
        if not fields:
            raise InvalidInput("nothing to change")

        def change(before: Claim) -> Change:
            changed = {k: v for k, v in fields.items() if getattr(before, k) != v}
            if "verdict" in changed:
                # The imported label described the old verdict; keeping it would let an export
                # carry the old rating back in.
                changed["rating_label"] = None
            return changed, before.urls, before.sources

        return await self._update_claim(
            claim_id, actor=actor, scope=guild_id, action="edit", change=change
        )

    async def link_url(self, claim_id: int, url: str, *, actor: str, guild_id: int | None) -> Claim:
        """Attach a URL the claim appears at."""
        url, key = check_url(url)

        def change(before: Claim) -> Change:
            keys = {links.canonical_url(u) for u in before.urls}
            if key in keys:
                return {}, before.urls, before.sources
            if len(before.urls) >= MAX_URLS_PER_CLAIM:
                raise InvalidInput(f"claim #{claim_id} already has {MAX_URLS_PER_CLAIM} URLs")
            return {}, (*before.urls, url), before.sources

        return await self._update_claim(
            claim_id, actor=actor, scope=guild_id, action="link", change=change
        )

    async def unlink_url(
        self, claim_id: int, url: str, *, actor: str, guild_id: int | None
    ) -> Claim:
        """Detach a URL (matched by canonical key)."""
        _, key = check_url(url)

        def change(before: Claim) -> Change:
            kept = tuple(u for u in before.urls if links.canonical_url(u) != key)
            if kept == before.urls:
                raise NotFound(f"claim #{claim_id} has no URL {url[:80]}")
            return {}, kept, before.sources

        return await self._update_claim(
            claim_id, actor=actor, scope=guild_id, action="unlink", change=change
        )

    async def add_source(
        self,
        claim_id: int,
        source: Source,
        *,
        actor: str,
        guild_id: int | None,
    ) -> Claim:
        """Add (or retitle) a source to read for a claim."""
        source = check_source(source)

        def change(before: Claim) -> Change:
            others = tuple(s for s in before.sources if s.url != source.url)
            if len(others) >= MAX_SOURCES_PER_CLAIM:
                raise InvalidInput(f"claim #{claim_id} already has {MAX_SOURCES_PER_CLAIM} sources")
            if source in before.sources:
                return {}, before.urls, before.sources
            return {}, before.urls, (*others, source)

        return await self._update_claim(
            claim_id, actor=actor, scope=guild_id, action="source", change=change
        )

    async def set_active(
        self, claim_id: int, active: bool, *, actor: str, guild_id: int | None
    ) -> Claim:
        """Retire (or restore) a claim: retired claims are kept but never matched."""

        def change(before: Claim) -> Change:
            fields = {} if before.active == active else {"active": active}
            return fields, before.urls, before.sources

        return await self._update_claim(
            claim_id,
            actor=actor,
            scope=guild_id,
            action="retire" if not active else "restore",
            change=change,
        )
