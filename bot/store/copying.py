"""Copying a whole store to another (``factbot migrate-store``), in either engine's direction.

Every table that holds what members, moderators and the bot did is copied row for row, ids
included. The search index (indexed text and postings in SQLite; tsvector, vocabulary, totals
and postings in PostgreSQL) is derived from the claims, so the target rebuilds it in its own
dialect; ``meta`` only records the index's normaliser version, which the target keeps for the
index it just rebuilt.

The engines write the copy in one transaction on the target and, before committing, read every
table back and compare its row count and checksum with the source's: any difference rolls the
whole copy back, leaving the target as it was.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.store.models import StoreError

if TYPE_CHECKING:
    from bot.store.interface import Store

log = logging.getLogger(__name__)

#: Copied tables, parents before the tables that reference them.
COPIED_TABLES: tuple[str, ...] = (
    "claims",
    "claim_urls",
    "claim_sources",
    "source_notes",
    "audit_log",
    "page_cache",
    "article_fingerprints",
    "claim_vectors",
    "guild_settings",
    "bot_replies",
    "reply_claims",
    "seen_links",
    "check_requests",
    "request_askers",
    "notify_members",
    "reply_votes",
    "vote_claims",
    "claim_flags",
    "guild_departures",
    "guild_erasures",
)

#: Tables each engine rebuilds or keeps for itself rather than copying.
NOT_COPIED: frozenset[str] = frozenset(
    {
        "meta",
        "claim_search",
        "claim_search_vocab",
        "claim_search_totals",
        # The postings (V7) are rebuilt from the claims' indexed text.
        "claim_postings",
        "claim_term_docs",
        "claim_postings_totals",
        "factbot_schema",
        # PostgreSQL's minute-long agreements between processes (V6): nothing to carry over.
        "reply_window",
        "member_fetches",
    }
)


@dataclass(frozen=True)
class TableCopy:
    """One table's rows as read from the source, with the figures the target must match."""

    table: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    count: int
    checksum: str


@dataclass(frozen=True)
class TableFigure:
    table: str
    rows: int
    checksum: str


def _comparable(value: Any) -> Any:
    # The engines spell the same value differently: a flag is 0/1 in SQLite and a boolean in
    # PostgreSQL, a vector a BLOB or a BYTEA.
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return {"hex": bytes(value).hex()}
    if isinstance(value, float):
        return repr(value)
    return value


def table_checksum(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """SHA-256 over a table's rows in an order both engines agree on, columns by name."""
    order = sorted(range(len(columns)), key=lambda i: columns[i])
    lines = sorted(json.dumps([_comparable(row[i]) for i in order]) for row in rows)
    digest = hashlib.sha256()
    digest.update(json.dumps(sorted(columns)).encode())
    for line in lines:
        digest.update(line.encode())
        digest.update(b"\n")
    return digest.hexdigest()


def check_copied(copy: TableCopy, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """StoreError unless the target's ``rows`` match what was read from the source."""
    if len(rows) != copy.count:
        raise StoreError(
            f"copy of {copy.table} has {len(rows)} rows, the source {copy.count}: nothing copied"
        )
    if table_checksum(columns, rows) != copy.checksum:
        raise StoreError(f"copy of {copy.table} differs from the source: nothing copied")


async def read_tables(source: Store) -> list[TableCopy]:
    copies = []
    for table in COPIED_TABLES:
        columns = tuple(await source.table_columns(table))
        rows = await source.table_rows(table, columns)
        copies.append(TableCopy(table, columns, rows, len(rows), table_checksum(columns, rows)))
    return copies


async def copy_store(source: Store, target: Store, *, force: bool) -> list[TableFigure]:
    """Copy everything in ``source`` to ``target``; the figures both sides agreed on.

    A target that holds anything is refused unless ``force`` (then it is emptied first, in the
    same transaction). StoreError, with the target unchanged, on any difference.
    """
    for table in COPIED_TABLES:
        theirs = set(await target.table_columns(table))
        ours = set(await source.table_columns(table))
        if theirs != ours:
            raise StoreError(f"table {table} has other columns in the target: nothing copied")
    if not force:
        used = [t for t in COPIED_TABLES if await target.table_row_count(t)]
        if used:
            raise StoreError(
                f"the target is not empty ({', '.join(used)}): use --force to replace it"
            )
    copies = await read_tables(source)
    await target.replace_contents(copies)
    log.info("copied %d rows in %d tables", sum(c.count for c in copies), len(copies))
    return [TableFigure(c.table, c.count, c.checksum) for c in copies]
