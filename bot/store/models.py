"""What the store holds and returns: plain dataclasses shared by every engine, and its errors."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


class StoreError(Exception):
    """A store operation that cannot be done; ``str()`` is a short reason fit for a user."""


class NotFound(StoreError):
    """No such record in the caller's scope (also what another server's records look like)."""


class InvalidInput(StoreError):
    """A value that cannot be stored as given."""


class StoreBusy(StoreError):
    """The database stayed locked past the busy timeout."""


@dataclass(frozen=True)
class Source:
    url: str
    title: str | None = None
    kind: str = "alternative"


@dataclass(frozen=True)
class Claim:
    id: int
    guild_id: int | None
    claim: str
    verdict: str
    note: str
    rating_label: str | None
    context: str
    external_id: str | None
    created_by: str
    created_at: str
    updated_by: str
    updated_at: str
    active: bool
    urls: tuple[str, ...] = ()
    sources: tuple[Source, ...] = ()
    claimant: str | None = None  # who made the claim (ClaimReview itemReviewed.author)
    claim_date: str | None = None  # when it was made, "YYYY-MM-DD" (itemReviewed.datePublished)

    def snapshot(self) -> dict[str, Any]:
        """What the audit log records of a claim (``asdict`` converts its sources too)."""
        return asdict(self)


def claim_from_row(row: Any, urls: tuple[str, ...], sources: tuple[Source, ...]) -> Claim:
    """A claim from the engines' claim columns, in ``CLAIM_COLUMNS`` order."""
    return Claim(
        id=row[0],
        guild_id=row[1],
        claim=row[2],
        verdict=row[3],
        note=row[4],
        rating_label=row[5],
        context=row[6],
        external_id=row[7],
        created_by=row[8],
        created_at=row[9],
        updated_by=row[10],
        updated_at=row[11],
        active=bool(row[12]),
        urls=urls,
        sources=sources,
        claimant=row[13],
        claim_date=row[14],
    )


@dataclass(frozen=True)
class NewClaim:
    """A claim to add or import (validated by the store)."""

    claim: str
    verdict: str
    note: str = ""
    urls: tuple[str, ...] = ()
    sources: tuple[Source, ...] = ()
    rating_label: str | None = None
    context: str = ""
    external_id: str | None = None
    claimant: str | None = None
    claim_date: str | None = None


def import_changes_nothing(before: Claim, new: NewClaim) -> bool:
    """Whether importing ``new`` over the stored ``before`` would leave the claim as it is."""
    return (
        before.claim == new.claim
        and before.verdict == new.verdict
        and before.note == new.note
        and before.rating_label == new.rating_label
        and before.context == new.context
        and before.claimant == new.claimant
        and before.claim_date == new.claim_date
        # Order is not meaning: an export lists the fact-check first.
        and set(before.urls) == set(new.urls)
        and set(before.sources) == set(new.sources)
    )


@dataclass(frozen=True)
class SourceNote:
    domain: str
    guild_id: int | None
    rating: str
    note: str
    updated_by: str
    updated_at: str


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: str
    actor: str
    guild_id: int | None
    action: str
    claim_id: int | None
    domain: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True)
class CachedPage:
    url_key: str
    expires_at: float
    final_url: str | None = None
    title: str | None = None
    site_name: str | None = None
    description: str | None = None
    published: str | None = None
    lead: str | None = None
    canonical_url: str | None = None
    og_url: str | None = None
    error: str | None = None
    fingerprint: int | None = None
    text: str | None = None  # the main text, bounded; None for pages cached before it was kept


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    claim_ids: list[int] = field(default_factory=list)


# --- issue 10: settings, replies, seen links ----------------------------------------------------


@dataclass(frozen=True)
class SettingRow:
    """One stored setting: ``channel_id`` 0 is the server's own, else a channel's override."""

    guild_id: int
    channel_id: int
    key: str
    value: Any


@dataclass(frozen=True)
class ShownLink:
    """What one embed of a reply showed: the link's key, its claims (id, verdict, how matched)
    and the outlet note's domain. Ids and keys only: never message text."""

    url_key: str
    claims: tuple[tuple[int, str, str], ...] = ()
    domain: str | None = None


@dataclass(frozen=True)
class ReplyRecord:
    guild_id: int | None
    channel_id: int
    message_id: int
    reply_id: int | None
    style: str
    links: tuple[ShownLink, ...]
    posted_at: float
    id: int | None = None
    state: str = "live"
    corrected_at: float | None = None

    @property
    def claim_ids(self) -> tuple[int, ...]:
        return tuple(dict.fromkeys(c[0] for link in self.links for c in link.claims))


@dataclass(frozen=True)
class SeenLink:
    guild_id: int
    channel_id: int
    message_id: int
    url_key: str
    seen_at: float
    expires_at: float


# --- issue 11: requests, votes, retention ---------------------------------------------------------


class RequestLimit(InvalidInput):
    """A member asked for more checks than the server's rate allows (answered, not logged)."""


@dataclass(frozen=True)
class CheckRequest:
    """Something members asked to have checked: a link (its canonical key) or a message's text."""

    id: int
    guild_id: int
    kind: str  # "url" or "text"
    key: str
    url: str | None
    channel_id: int
    message_id: int
    asked_at: float
    count: int
    state: str = "open"
    claim_id: int | None = None
    closed_at: float | None = None


@dataclass(frozen=True)
class ClosedRequest:
    """A request a claim answered, and the askers who opted in to be told (``/notify on``)."""

    request: CheckRequest
    notify: tuple[int, ...]


@dataclass(frozen=True)
class VoteTally:
    helpful: int = 0
    not_helpful: int = 0
    not_helpful_members: int = 0

    @property
    def total(self) -> int:
        return self.helpful + self.not_helpful


@dataclass(frozen=True)
class VoteOutcome:
    """A vote as stored: whether it changed anything, the claims it covers, and those flagged."""

    changed: bool
    claim_ids: tuple[int, ...]
    flagged: tuple[int, ...] = ()


def audit_entry(row: Sequence[Any]) -> AuditEntry:
    """An audit row as both engines read it: id, at, actor, guild_id, action, claim_id, domain,
    and before/after as JSON text."""
    return AuditEntry(
        id=row[0],
        at=row[1],
        actor=row[2],
        guild_id=row[3],
        action=row[4],
        claim_id=row[5],
        domain=row[6],
        before=json.loads(row[7]) if row[7] else None,
        after=json.loads(row[8]) if row[8] else None,
    )


@dataclass(frozen=True)
class RequestItem:
    """One thing to check: a link's canonical key (``url`` as posted), or a message's text."""

    kind: str
    key: str
    url: str | None = None


REPLY_STATES = ("live", "deleted", "forbidden", "failed")


def shown_json(links: Sequence[ShownLink]) -> str:
    """What a reply showed, as both engines store it (JSON)."""
    return json.dumps(
        [
            {"key": s.url_key, "claims": [list(c) for c in s.claims], "domain": s.domain}
            for s in links
        ]
    )


def reply_record(row: Any) -> ReplyRecord:
    """A reply record from a row of either engine."""
    links = tuple(
        ShownLink(
            url_key=item["key"],
            claims=tuple((int(c[0]), str(c[1]), str(c[2])) for c in item["claims"]),
            domain=item.get("domain"),
        )
        for item in json.loads(row[6])
    )
    return ReplyRecord(
        id=row[0],
        guild_id=row[1],
        channel_id=row[2],
        message_id=row[3],
        reply_id=row[4],
        style=row[5],
        links=links,
        posted_at=row[7],
        state=row[8],
        corrected_at=row[9],
    )
