"""What the store holds and returns: plain dataclasses shared by every engine, and its errors."""

from __future__ import annotations

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

    def snapshot(self) -> dict[str, Any]:
        """What the audit log records of a claim."""
        data = asdict(self)
        data["sources"] = [asdict(s) for s in self.sources]
        data["urls"] = list(self.urls)
        return data


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
