"""Validation shared by every engine: what may be stored, and the one-line reason when not."""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import urlsplit

from bot import links
from bot.store.models import InvalidInput, NewClaim, Source
from bot.verdicts import VERDICTS

SOURCE_KINDS = ("fact-check", "alternative")

# Field limits: a Discord modal caps text inputs at 4000 characters; the rest keeps rows sane.
MAX_CLAIM_CHARS = 1000
MAX_NOTE_CHARS = 4000
MAX_TITLE_CHARS = 300
MAX_CLAIMANT_CHARS = 200
MAX_RATING_CHARS = 60
MAX_URLS_PER_CLAIM = 50
MAX_SOURCES_PER_CLAIM = 20


# Characters that show nothing: a claim of only these is an empty claim.
_SPACE_RE = re.compile(r"\s")  # exactly str.isspace(), checked over every code point
# What a name never holds: control characters (NUL, ESC, ...) and lone surrogates, which no
# UTF-8 column stores.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_INVISIBLE_RE = re.compile(r"[\s\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]+")


def clean_text(value: str, what: str, limit: int, *, required: bool = False) -> str:
    text = value.strip()
    if required and not _INVISIBLE_RE.sub("", text):
        raise InvalidInput(f"{what} is empty")
    if len(text) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters")
    return text


def clean_claimant(value: str | None) -> str | None:
    """Who made a claim, as one line of text; None when not said (nothing, or "-")."""
    if value is None:
        return None
    name = " ".join(value.split())
    if not _INVISIBLE_RE.sub("", name) or name == "-":
        return None
    if len(name) > MAX_CLAIMANT_CHARS:
        raise InvalidInput(f"claimant is longer than {MAX_CLAIMANT_CHARS} characters")
    if _CONTROL_RE.search(name):
        raise InvalidInput("claimant holds a control character or a lone surrogate")
    return name


def clean_claim_date(value: object) -> str | None:
    """When a claim was made, as "YYYY-MM-DD"; an ISO 8601 date-time keeps its date part
    (as written: the day the claimant saw). None when not said. ``value`` is what a file
    holds: anything but a string (or null) is refused."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput("not a string")
    text = value.strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).date().isoformat()
    except ValueError:
        raise InvalidInput(f"not an ISO 8601 date: {text[:40]!r}") from None


def check_url(url: str, keys: MutableMapping[str, str] | None = None) -> tuple[str, str]:
    """(url as entered, canonical key); raises InvalidInput with the reason.

    ``keys`` remembers the key of each URL (a file's URLs are keyed once, however many times
    they appear, and the import reuses them).
    """
    entered = url.strip()
    if keys is not None and entered in keys:
        return entered, keys[entered]
    try:
        key = links.canonical_url(entered)
    except links.InvalidURL as exc:
        raise InvalidInput(f"bad URL {url[:80]!r}: {exc}") from None
    if keys is not None:
        keys[entered] = key
    return entered, key


def check_verdict(verdict: str) -> str:
    if verdict not in VERDICTS:
        raise InvalidInput(f"unknown verdict {verdict!r}; use one of: {', '.join(VERDICTS)}")
    return verdict


def check_link(url: str) -> str:
    """A URL to show as a link (a source): http(s) with a host; it is never looked up by key."""
    text = url.strip()
    if len(text) > links.MAX_URL_LENGTH or _SPACE_RE.search(text):
        raise InvalidInput(f"bad URL {url[:80]!r}: not an http(s) link")
    if links.has_control_characters(text):
        # As a claim URL's key refuses them: a link shows them raw, and no site can be named.
        raise InvalidInput(f"bad URL {url[:80]!r}: control characters in URL")
    try:
        netloc = urlsplit(text).netloc
    except ValueError:  # "http://[::1": no host to lead to
        raise InvalidInput(f"bad URL {url[:80]!r}: not an http(s) link") from None
    if "@" in netloc:
        # "https://trusted.example@evil.example/" leads to evil.example; the fetcher refuses it.
        raise InvalidInput(f"bad URL {url[:80]!r}: credentials (user@) in URL")
    if links.link_target(text) is None:  # also a bad host name or port (99999)
        raise InvalidInput(f"bad URL {url[:80]!r}: not an http(s) link")
    return text


def check_source(source: Source) -> Source:
    url = check_link(source.url)
    if source.kind not in SOURCE_KINDS:
        raise InvalidInput(f"unknown source kind {source.kind!r}; use fact-check or alternative")
    title = clean_text(source.title, "source title", MAX_TITLE_CHARS) if source.title else None
    return Source(url=url, title=title or None, kind=source.kind)


def validate_new_claim(
    new: NewClaim, *, url_keys: MutableMapping[str, str] | None = None
) -> NewClaim:
    """The claim as it will be stored, or InvalidInput naming the first problem.

    ``url_keys``: see :func:`check_url`.
    """
    if len(new.urls) > MAX_URLS_PER_CLAIM:
        raise InvalidInput(f"more than {MAX_URLS_PER_CLAIM} URLs")
    if len(new.sources) > MAX_SOURCES_PER_CLAIM:
        raise InvalidInput(f"more than {MAX_SOURCES_PER_CLAIM} sources")
    # One URL per canonical key: the store keys them, so two spellings would never compare equal
    # to what was stored and every re-import would look like a change.
    by_key: dict[str, str] = {}
    for url in new.urls:
        entered, key = check_url(url, url_keys)
        by_key.setdefault(key, entered)
    urls = tuple(by_key.values())
    sources = tuple({s.url: s for s in (check_source(s) for s in new.sources)}.values())
    return replace(
        new,
        claim=clean_text(new.claim, "claim", MAX_CLAIM_CHARS, required=True),
        verdict=check_verdict(new.verdict),
        note=clean_text(new.note, "note", MAX_NOTE_CHARS),
        context=clean_text(new.context, "context", MAX_NOTE_CHARS),
        claimant=clean_claimant(new.claimant),
        claim_date=clean_claim_date(new.claim_date),
        urls=urls,
        sources=sources,
    )


def validate_source_note(rating: str, note: str) -> tuple[str, str]:
    """(rating, note) as they will be stored, or InvalidInput naming the problem."""
    return (
        clean_text(rating, "rating", MAX_RATING_CHARS, required=True),
        clean_text(note, "note", MAX_NOTE_CHARS),
    )


def now_iso() -> str:
    """The time of a change as the store records it (UTC, seconds)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


MAX_GUILD_ID = 2**63 - 1  # a 64-bit signed INTEGER / BIGINT; Discord's ids are far below


def checked_guild(guild_id: int | None) -> int | None:
    """``guild_id`` if it can be a server's id (or None: global); InvalidInput otherwise.

    Columns that need a non-NULL scope store global as 0, so 0 must never reach the store as a
    server: it would read and write the global records.
    """
    if guild_id is None:
        return None
    if isinstance(guild_id, bool) or not isinstance(guild_id, int):
        raise InvalidInput(f"not a server id: {guild_id!r}")
    if not 0 < guild_id <= MAX_GUILD_ID:
        raise InvalidInput(f"not a server id: {guild_id}")
    return guild_id


def scope_key(guild_id: int | None) -> int:
    """The non-NULL scope of unique indexes: a server's id, or 0 for global."""
    checked = checked_guild(guild_id)
    return 0 if checked is None else checked


def row_id(claim_id: int) -> int:
    """A claim id that fits a 64-bit INTEGER / BIGINT; anything larger is no claim (0), so that a
    typo of a huge number reads as "not found" on either engine, not as an overflow."""
    if isinstance(claim_id, bool) or not isinstance(claim_id, int):
        raise InvalidInput(f"not a claim id: {claim_id!r}")
    return claim_id if -(2**63) <= claim_id < 2**63 else 0
