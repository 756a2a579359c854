"""The claims store. All of factbot's SQL lives in this package.

``models`` and ``validation`` are shared; each engine (today ``sqlite``) keeps one module per
concern (claims, search, imports, sources, pages, vectors, audit, settings, replies, requests,
votes, retention) behind the same methods.

Every change to a claim or a source note writes exactly one audit row in the same transaction.
Scopes: a claim or a source note belongs to one server (``guild_id``) or is global (``None``).
A server sees its own records plus global ones, and can change only its own: an edit of anything
else says "not found" and changes nothing.
"""

from __future__ import annotations

from bot.store.models import (
    AuditEntry,
    CachedPage,
    CheckRequest,
    Claim,
    ClosedRequest,
    ImportResult,
    InvalidInput,
    NewClaim,
    NotFound,
    ReplyRecord,
    RequestLimit,
    SeenLink,
    SettingRow,
    ShownLink,
    Source,
    SourceNote,
    StoreBusy,
    StoreError,
    VoteOutcome,
    VoteTally,
)
from bot.store.sqlite import SQLiteStore
from bot.store.sqlite.connection import BUSY_TIMEOUT_MS
from bot.store.sqlite.requests import RequestItem
from bot.store.validation import (
    MAX_CLAIM_CHARS,
    MAX_NOTE_CHARS,
    MAX_RATING_CHARS,
    MAX_SOURCES_PER_CLAIM,
    MAX_TITLE_CHARS,
    MAX_URLS_PER_CLAIM,
    SOURCE_KINDS,
    validate_new_claim,
    validate_source_note,
)

Store = SQLiteStore

__all__ = [
    "BUSY_TIMEOUT_MS",
    "MAX_CLAIM_CHARS",
    "MAX_NOTE_CHARS",
    "MAX_RATING_CHARS",
    "MAX_SOURCES_PER_CLAIM",
    "MAX_TITLE_CHARS",
    "MAX_URLS_PER_CLAIM",
    "SOURCE_KINDS",
    "AuditEntry",
    "CachedPage",
    "CheckRequest",
    "Claim",
    "ClosedRequest",
    "ImportResult",
    "InvalidInput",
    "NewClaim",
    "NotFound",
    "ReplyRecord",
    "RequestItem",
    "RequestLimit",
    "SeenLink",
    "SettingRow",
    "ShownLink",
    "Source",
    "SourceNote",
    "Store",
    "StoreBusy",
    "StoreError",
    "VoteOutcome",
    "VoteTally",
    "validate_new_claim",
    "validate_source_note",
]
