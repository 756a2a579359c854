"""The claims store. All of factbot's SQL lives in this package.

``models`` and ``validation`` are shared; each engine (``sqlite``: one file, the default;
``postgres``: one database several processes share) keeps one module per concern (claims,
search, imports, sources, pages, vectors, audit, settings, replies, requests, votes, retention)
behind the same methods, the :class:`Store` interface. :func:`open_target` picks the engine: a
``postgresql://`` URL, else a file path.

Every change to a claim or a source note writes exactly one audit row in the same transaction.
Scopes: a claim or a source note belongs to one server (``guild_id``) or is global (``None``).
A server sees its own records plus global ones, and can change only its own: an edit of anything
else says "not found" and changes nothing.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

from bot.store.interface import Store
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
    RequestItem,
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
from bot.store.targets import is_postgres_url, redacted_url
from bot.store.validation import (
    MAX_CLAIM_CHARS,
    MAX_CLAIMANT_CHARS,
    MAX_NOTE_CHARS,
    MAX_RATING_CHARS,
    MAX_SOURCES_PER_CLAIM,
    MAX_TITLE_CHARS,
    MAX_URLS_PER_CLAIM,
    SOURCE_KINDS,
    validate_new_claim,
    validate_source_note,
)


@asynccontextmanager
async def scratch_target(base: str | None = None) -> AsyncIterator[str]:
    """Where a throwaway store can go, removed again on exit: a temporary SQLite file, or with a
    ``postgresql://`` ``base``, a new schema in that database (``factbot eval`` uses it)."""
    if base is not None and is_postgres_url(base):
        from bot.store.postgres.connection import temporary_schema

        async with temporary_schema(base) as url:
            yield url
        return
    with tempfile.TemporaryDirectory(prefix="factbot-scratch-") as tmp:
        yield str(Path(tmp) / "scratch.db")


async def open_target(target: str, *, create: bool = True) -> Store:
    """The store at ``target``: a ``postgresql://`` (or ``postgres://``) URL, else a file path.

    ``create=False``: only an existing, up-to-date store opens (read commands).
    """
    if is_postgres_url(target):
        try:
            urlsplit(target).port  # noqa: B018 (parses host and port: "[::1", ":99999")
        except ValueError as exc:
            raise StoreError(f"not a valid database URL: {exc}") from None
        # Imported here: a SQLite-only install never loads asyncpg's engine.
        from bot.store.postgres import PostgresStore

        return await PostgresStore.open(target, create=create)
    return await SQLiteStore.open(target, create=create)


__all__ = [
    "BUSY_TIMEOUT_MS",
    "MAX_CLAIMANT_CHARS",
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
    "SQLiteStore",
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
    "is_postgres_url",
    "open_target",
    "redacted_url",
    "scratch_target",
    "validate_new_claim",
    "validate_source_note",
]
