"""What factbot knows about the links in a message: the one function both front ends call.

For each link: its canonical key is looked up (``match: "url"``); the outlet's note is found by
host; when the key is unknown the page is read (cache first) and its final, canonical and
``og:url`` addresses are looked up too; then the article's text is matched against the claims
(``"content"`` above the reply threshold, else only listed as candidates) and against the
fingerprints of articles read before (``"copy"``).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from bot import fingerprint, links, matching
from bot.config import Config
from bot.pages import PageReader
from bot.ranking import Ranker
from bot.store import CachedPage, Claim, SourceNote, Store

log = logging.getLogger(__name__)

# Text of an article handed to the matcher: title, description and main text, bounded because
# the cost grows with it. 30,000 characters is a 5,000-word article, longer than nearly every
# news article; what a page says past that is rarely what it is shared for.
MAX_MATCH_TEXT = 30_000
# Lines at the top of a page's main text that may be a kicker, a standfirst, a byline or a
# dateline (see _article_text); the first line that ends a sentence ends them sooner.
HEADER_LINES = 4
_ENDS_SENTENCE = re.compile(r"[.!?…][\"'”’)\]]*\s*$")


@dataclass(frozen=True)
class Preview:
    """The link preview Discord attached to a message (``message.embeds``)."""

    url: str | None
    title: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Match:
    claim: Claim
    match: str  # "url" | "content" | "copy"
    score: float
    quote: str | None = None  # content matches: the page's sentence that repeats the claim

    def to_json(self) -> dict[str, Any]:
        return {
            "claim_id": self.claim.id,
            "claim": self.claim.claim,
            "claimant": self.claim.claimant,
            "verdict": self.claim.verdict,
            "note": self.claim.note,
            "match": self.match,
            "score": round(self.score, 4),
            "quote": self.quote,
            "sources": [
                {"url": s.url, "title": s.title, "kind": s.kind} for s in self.claim.sources
            ],
        }


@dataclass(frozen=True)
class LinkReport:
    url: str
    canonical_url: str
    final_url: str | None = None
    fetch_error: str | None = None
    title: str | None = None
    source: SourceNote | None = None
    matches: tuple[Match, ...] = ()
    candidates: tuple[Match, ...] = ()

    @property
    def known(self) -> bool:
        """Whether the bot has something to say about this link (it replies only then)."""
        return bool(self.matches) or self.source is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "canonical_url": self.canonical_url,
            "final_url": self.final_url,
            "fetch_error": self.fetch_error,
            "title": self.title,
            "source": None
            if self.source is None
            else {
                "domain": self.source.domain,
                "rating": self.source.rating,
                "note": self.source.note,
            },
            "matches": [m.to_json() for m in self.matches],
            "candidates": [m.to_json() for m in self.candidates],
        }


@dataclass(frozen=True)
class CheckResult:
    links: tuple[LinkReport, ...] = ()

    @property
    def known(self) -> tuple[LinkReport, ...]:
        return tuple(link for link in self.links if link.known)


@dataclass
class Checker:
    """The services a check needs; built once at start-up and shared by both front ends."""

    store: Store
    config: Config
    reader: PageReader | None = None
    ranker: Ranker = field(default_factory=Ranker)
    _in_flight: dict[tuple[str, int | None], asyncio.Future[LinkReport]] = field(
        default_factory=dict, init=False, repr=False
    )

    @property
    def reply_threshold(self) -> float:
        configured = self.config.matching.reply_threshold
        return matching.DEFAULT_REPLY_THRESHOLD if configured is None else configured

    async def check_text(
        self,
        text: str,
        *,
        guild_id: int | None,
        user_id: int | None = None,
        previews: Sequence[Preview] = (),
    ) -> CheckResult:
        """Reports for the links in a message (at most ``max_links_per_message``)."""
        urls = links.extract_links(text, self.config.replies.max_links_per_message)
        by_key = {links.canonical_url_or_none(p.url): p for p in previews}
        reports = []
        for url in urls:
            key = links.canonical_url(url)  # extract_links keeps only links it accepts
            reports.append(
                await self._check_link_once(
                    url, key, guild_id=guild_id, user_id=user_id, preview=by_key.get(key)
                )
            )
        return CheckResult(tuple(reports))

    async def _check_link_once(
        self,
        url: str,
        key: str,
        *,
        guild_id: int | None,
        user_id: int | None,
        preview: Preview | None,
    ) -> LinkReport:
        """One check per (link, server) at a time: a burst of posts of one new link shares it.

        Without this, 200 messages with the same new link each ran their own content match
        after the one shared fetch, and finished together seconds later.
        """
        if preview is not None:
            # A preview is this message's own evidence; it is not shared.
            return await self.check_link(
                url, key, guild_id=guild_id, user_id=user_id, preview=preview
            )
        flight = (key, guild_id)
        pending = self._in_flight.get(flight)
        if pending is None:
            pending = asyncio.ensure_future(
                self.check_link(url, key, guild_id=guild_id, user_id=user_id)
            )
            self._in_flight[flight] = pending
            pending.add_done_callback(lambda _: self._in_flight.pop(flight, None))
            return await asyncio.shield(pending)
        report = await asyncio.shield(pending)
        if report.fetch_error == "rate limited":
            # The first poster's rate limit is not this member's.
            return await self.check_link(url, key, guild_id=guild_id, user_id=user_id)
        return _with(report, url=url)

    async def check_link(
        self,
        url: str,
        key: str,
        *,
        guild_id: int | None,
        user_id: int | None = None,
        preview: Preview | None = None,
    ) -> LinkReport:
        store = self.store
        known = await store.claims_for_url_keys([key], guild_id=guild_id)
        matches = [Match(c, "url", 1.0) for c in known.get(key, [])]
        source = await store.source_note_for(_hosts(url), guild_id=guild_id)
        report = LinkReport(url=url, canonical_url=key, source=source)

        # The page is read even for a link known by URL: it is what fingerprints the article,
        # so that copies of it elsewhere are recognised later (and the cache keeps this cheap).
        page: CachedPage | None = None
        if self.reader is not None and self.config.pages.enabled:
            page = await self.reader.read(url, key, user_id=user_id)
            report = _with(
                report, final_url=page.final_url, fetch_error=page.error, title=page.title
            )
            other_keys = _page_keys(page, key)
            if other_keys:
                found = await store.claims_for_url_keys(other_keys, guild_id=guild_id)
                seen = {m.claim.id for m in matches}
                for other in other_keys:
                    for claim in found.get(other, []):
                        if claim.id not in seen:
                            seen.add(claim.id)
                            matches.append(Match(claim, "url", 1.0))
            if page.final_url and source is None:
                source = await store.source_note_for(_hosts(page.final_url), guild_id=guild_id)
                report = _with(report, source=source)
        if report.title is None and preview is not None:
            report = _with(report, title=preview.title)
        if matches:
            return _with(report, matches=matches)
        if page is not None and page.fingerprint is not None:
            copies = await self._copies(page, key, guild_id)
            if copies:
                return _with(report, matches=copies)

        article_text = _article_text(page, preview)
        if not article_text:
            return report
        candidates = await self.ranker.rank(
            store,
            article_text,
            guild_id=guild_id,
            limit=max(self.config.matching.candidates, matching.MAX_REPLIES),
            text_date=_written_on(page),
        )
        chosen = {c.claim_id for c in matching.replies(candidates, self.reply_threshold)}
        claims = {
            c.id: c
            for c in await store.get_claims([c.claim_id for c in candidates], guild_id=guild_id)
        }
        replied: list[Match] = []
        listed: list[Match] = []
        for candidate in sorted(candidates, key=lambda c: c.confidence, reverse=True):
            candidate_claim = claims.get(candidate.claim_id)
            if candidate_claim is None:
                continue
            entry = Match(candidate_claim, "content", candidate.confidence, candidate.quote)
            (replied if candidate.claim_id in chosen else listed).append(entry)
        return _with(
            report,
            matches=replied,
            candidates=listed[: self.config.matching.candidates],
        )

    async def search_text(self, text: str, *, guild_id: int | None, limit: int = 5) -> list[Match]:
        """Claims that best match free text (``/factcheck`` without a link, ``/claim search``)."""
        candidates = await self.ranker.rank(self.store, text, guild_id=guild_id, limit=limit)
        claims = {
            c.id: c
            for c in await self.store.get_claims(
                [c.claim_id for c in candidates], guild_id=guild_id
            )
        }
        return [
            Match(claims[c.claim_id], "content", c.confidence, c.quote)
            for c in candidates
            if c.claim_id in claims
        ]

    async def _copies(self, page: CachedPage, key: str, guild_id: int | None) -> list[Match]:
        """URL matches inherited from a near-identical article read before on another URL."""
        assert page.fingerprint is not None
        hashed = page.fingerprint
        final_key = links.canonical_url_or_none(page.final_url)
        here = page.final_url or key
        seen: list[tuple[str, str | None, int]] = [*await self.store.similar_fingerprints(hashed)]
        if self.reader is not None:
            seen += self.reader.unwritten_fingerprints()
        similar = [
            other
            for other, other_final, value in seen
            # The same page reached from two links is not a copy of itself, and a copy is on
            # another site: one site's consent wall, paywall or "article removed" page looks
            # the same behind every article (same-site moves are found by URL instead).
            if other != key
            and other_final != final_key
            and not links.same_site(other, here)
            and fingerprint.distance(hashed, value) <= fingerprint.MAX_DISTANCE
        ]
        if not similar:
            return []
        found = await self.store.claims_for_url_keys(similar, guild_id=guild_id)
        copies: dict[int, Match] = {}
        for other in similar:
            for claim in found.get(other, []):
                copies.setdefault(claim.id, Match(claim, "copy", 1.0))
        return list(copies.values())


def _with(report: LinkReport, **changes: Any) -> LinkReport:
    for name in ("matches", "candidates"):
        if name in changes:
            changes[name] = tuple(changes[name])
    return replace(report, **changes)


def _hosts(url: str) -> list[str]:
    try:
        return links.host_candidates(url)
    except links.InvalidURL:
        return []


def _page_keys(page: CachedPage, key: str) -> list[str]:
    """Canonical keys of a page's other addresses (final URL, rel=canonical, og:url).

    Each counts only on the page's own site: a stranger's page (or a redirect on the stranger's
    site) naming a checked article elsewhere would otherwise borrow that article's verdict. A
    link shortener's whole job is to send visitors to another site, so its final URL counts.
    """
    final = page.final_url
    if not final or not (links.same_site(final, key) or links.is_shortener(key)):
        return []
    candidates = [final] + [
        u for u in (page.canonical_url, page.og_url) if u and links.same_site(u, final)
    ]
    keys: list[str] = []
    for url in candidates:
        other = links.canonical_url_or_none(url)
        if other is not None and other != key and other not in keys:
            keys.append(other)
    return keys


def _written_on(page: CachedPage | None) -> date | None:
    """When a page says it was published: claims made near then rank higher. None for a page
    that does not say (and for typed text): its date is not guessed."""
    if page is None or not page.published:
        return None
    try:
        return date.fromisoformat(page.published)
    except ValueError:  # not a date after all: the page reader keeps only ISO dates
        return None


def _article_text(page: CachedPage | None, preview: Preview | None) -> str:
    """What the matcher reads of a page: its title, its description, Discord's preview of it
    and its main text, in that order, bounded.

    A headline rarely ends in a full stop, and the splitter cuts sentences at punctuation and
    blank lines, not at a line break: run together with a single line break, the title, the
    description and the text's own first lines without one (a kicker, a standfirst repeated in
    the text, a byline: at most HEADER_LINES) were read, and quoted, as the start of its first
    sentence. Each is its own paragraph here, and a line the title or description already gave
    is not read twice. Past those first lines the main text is as the page reader left it.
    """
    body = ((page.text or page.lead) if page else None) or ""
    lines = body.split("\n")
    header = 0
    while header < min(HEADER_LINES, len(lines) - 1) and not _ENDS_SENTENCE.search(lines[header]):
        header += 1
    parts: list[str] = []
    for part in (
        page.title if page else None,
        page.description if page else None,
        preview.title if preview else None,
        preview.description if preview else None,
        *lines[:header],
        "\n".join(lines[header:]),
    ):
        if part and part not in parts:
            parts.append(part)
    return "\n\n".join(parts)[:MAX_MATCH_TEXT]


class RepeatGuard:
    """Remembers which links were answered in which channel, to stay quiet about repeats.

    With a ``store``, the answer is also claimed there: processes sharing a PostgreSQL store
    answer a link once between them (SQLite's claim is free: one process owns the file).
    """

    def __init__(self, window_s: float, max_entries: int = 50_000, store: Store | None = None):
        self.window_s = window_s
        self.max_entries = max_entries
        self.store = store
        self._seen: dict[tuple[int, str], float] = {}

    async def first_time(self, channel_id: int, key: str, now: float | None = None) -> bool:
        """True (and remembered) unless the key was answered in the channel within the window."""
        now = time.monotonic() if now is None else now
        seen_at = self._seen.get((channel_id, key))
        if seen_at is not None and now - seen_at < self.window_s:
            return False
        if len(self._seen) >= self.max_entries:
            cutoff = now - self.window_s
            self._seen = {k: t for k, t in self._seen.items() if t > cutoff}
        self._seen[(channel_id, key)] = now
        if self.store is None or self.window_s <= 0:
            return True
        return await self.store.claim_first_reply(channel_id, key, window_s=self.window_s)

    async def release(self, channel_id: int, key: str) -> None:
        """Give back an answer that could not be posted: the next post of the link in the
        channel is answered (else a reply Discord refused would silence it for a window)."""
        self._seen.pop((channel_id, key), None)
        if self.store is not None and self.window_s > 0:
            await self.store.release_first_reply(channel_id, key)
