"""The claims store: one SQLite file, owned by one class. All of factbot's SQL lives here.

Writes go through one connection, one transaction each (``BEGIN IMMEDIATE`` under an asyncio lock,
so one coroutine never commits another's half-done work). Reads go through a second connection,
which in WAL mode sees only committed data. Every change to a claim or a source note writes exactly
one audit row in the same transaction.

Scopes: a claim or a source note belongs to one server (``guild_id``) or is global (``None``).
A server sees its own records plus global ones, and can change only its own: an edit of anything
else says "not found" and changes nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit

import aiosqlite

from bot import links
from bot.verdicts import VERDICTS

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
SOURCE_KINDS = ("fact-check", "alternative")

# Field limits: a Discord modal caps text inputs at 4000 characters; the rest keeps rows sane.
MAX_CLAIM_CHARS = 1000
MAX_NOTE_CHARS = 4000
MAX_TITLE_CHARS = 300
MAX_RATING_CHARS = 60
MAX_URLS_PER_CLAIM = 50
MAX_SOURCES_PER_CLAIM = 20


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


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    claim_ids: list[int] = field(default_factory=list)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _migrations() -> list[tuple[int, str]]:
    found = []
    for entry in resources.files("bot").joinpath("migrations").iterdir():
        name = entry.name
        if name.startswith("V") and name.endswith(".sql"):
            found.append((int(name[1:].split("__", 1)[0]), entry.read_text(encoding="utf-8")))
    return sorted(found)


def _clean_text(value: str, what: str, limit: int, *, required: bool = False) -> str:
    text = value.strip()
    if required and not text:
        raise InvalidInput(f"{what} is empty")
    if len(text) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters")
    return text


def _check_url(url: str) -> tuple[str, str]:
    """(url as entered, canonical key); raises InvalidInput with the reason."""
    try:
        return url.strip(), links.canonical_url(url.strip())
    except links.InvalidURL as exc:
        raise InvalidInput(f"bad URL {url[:80]!r}: {exc}") from None


def _check_verdict(verdict: str) -> str:
    if verdict not in VERDICTS:
        raise InvalidInput(f"unknown verdict {verdict!r}; use one of: {', '.join(VERDICTS)}")
    return verdict


def _check_link(url: str) -> str:
    """A URL to show as a link (a source): http(s) with a host; it is never looked up by key."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        host = None
    if (
        host is None
        or parts.scheme.lower() not in ("http", "https")
        or len(text) > links.MAX_URL_LENGTH
        or any(c.isspace() for c in text)
    ):
        raise InvalidInput(f"bad URL {url[:80]!r}: not an http(s) link")
    return text


def _check_source(source: Source) -> Source:
    url = _check_link(source.url)
    if source.kind not in SOURCE_KINDS:
        raise InvalidInput(f"unknown source kind {source.kind!r}; use fact-check or alternative")
    title = _clean_text(source.title, "source title", MAX_TITLE_CHARS) if source.title else None
    return Source(url=url, title=title or None, kind=source.kind)


def validate_new_claim(new: NewClaim) -> NewClaim:
    """The claim as it will be stored, or InvalidInput naming the first problem."""
    if len(new.urls) > MAX_URLS_PER_CLAIM:
        raise InvalidInput(f"more than {MAX_URLS_PER_CLAIM} URLs")
    if len(new.sources) > MAX_SOURCES_PER_CLAIM:
        raise InvalidInput(f"more than {MAX_SOURCES_PER_CLAIM} sources")
    # One URL per canonical key: the store keys them, so two spellings would never compare equal
    # to what was stored and every re-import would look like a change.
    by_key: dict[str, str] = {}
    for url in new.urls:
        entered, key = _check_url(url)
        by_key.setdefault(key, entered)
    urls = tuple(by_key.values())
    sources = tuple({s.url: s for s in (_check_source(s) for s in new.sources)}.values())
    return replace(
        new,
        claim=_clean_text(new.claim, "claim", MAX_CLAIM_CHARS, required=True),
        verdict=_check_verdict(new.verdict),
        note=_clean_text(new.note, "note", MAX_NOTE_CHARS),
        context=_clean_text(new.context, "context", MAX_NOTE_CHARS),
        urls=urls,
        sources=sources,
    )


def validate_source_note(rating: str, note: str) -> tuple[str, str]:
    """(rating, note) as they will be stored, or InvalidInput naming the problem."""
    return (
        _clean_text(rating, "rating", MAX_RATING_CHARS, required=True),
        _clean_text(note, "note", MAX_NOTE_CHARS),
    )


_CLAIM_COLUMNS = (
    "c.id, c.guild_id, c.claim, c.verdict, c.note, c.rating_label, c.context, c.external_id, "
    "c.created_by, c.created_at, c.updated_by, c.updated_at, c.active"
)


def _scope_sql(guild_id: int | None) -> tuple[str, tuple[Any, ...]]:
    """WHERE fragment for records a guild may see: its own plus global."""
    if guild_id is None:
        return "c.guild_id IS NULL", ()
    return "(c.guild_id IS NULL OR c.guild_id = ?)", (guild_id,)


class Store:
    """The claims store: ``await Store.open(path)``, then ``await store.close()``."""

    def __init__(self, writer: aiosqlite.Connection, reader: aiosqlite.Connection, path: str):
        self._db = writer
        self._read = reader
        self._lock = asyncio.Lock()
        self.path = path
        self._index_terms: Callable[[str], str] = _default_index_terms

    # --- lifecycle --------------------------------------------------------------------------

    @classmethod
    async def open(cls, path: str | Path, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> Self:
        path = str(path)
        if path == ":memory:" or path.startswith("file:"):
            # Two connections must see one database: only a file will do.
            raise StoreError("the store must be a file path")
        parent = Path(path).parent
        if not parent.is_dir():
            raise StoreError(f"cannot open {path}: folder {parent} does not exist")
        try:
            writer = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open {path}: {exc}") from None
        reader: aiosqlite.Connection | None = None
        try:
            await _configure(writer, busy_timeout_ms)
            await _migrate(writer)
            reader = await aiosqlite.connect(path, isolation_level=None)
            await _configure(reader, busy_timeout_ms)
            await reader.execute("PRAGMA query_only = ON")
            store = cls(writer, reader, path)
            await store._rekey_urls()
        except BaseException as exc:
            # Never leave a connection's thread behind: it would keep the process alive.
            if reader is not None:
                await reader.close()
            await writer.close()
            if isinstance(exc, sqlite3.Error):
                raise _store_error(exc, path) from None
            raise
        return store

    async def close(self) -> None:
        await self._read.close()
        await self._db.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def use_index_terms(self, index_terms: Callable[[str], str], version: int) -> None:
        """Set the search index's text normaliser; rebuild the index if it was made by another.

        A change to the normaliser (a new stemmer, new stop words) would otherwise leave old
        claims indexed one way and queried another, and silently stop matching them.
        """
        self._index_terms = index_terms
        rows = await self._fetchall("SELECT value FROM meta WHERE key = 'index_terms_version'")
        if rows and rows[0][0] == str(version):
            return
        count = await self._fetchall("SELECT count(*) FROM claims")
        if int(count[0][0]):
            log.info("rebuilding the search index for normaliser version %d", version)
        async with self._write() as db:
            await db.execute("DELETE FROM claim_search")
            async with db.execute("SELECT id, claim, context FROM claims") as cur:
                rows = list(await cur.fetchall())
            await db.executemany(
                "INSERT INTO claim_search (rowid, claim, context) VALUES (?, ?, ?)",
                [(r[0], index_terms(r[1]), index_terms(r[2])) for r in rows],
            )
            await db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('index_terms_version', ?)",
                (str(version),),
            )

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._lock:
            try:
                await self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise _store_error(exc, self.path) from None
            try:
                yield self._db
            except sqlite3.Error as exc:
                await self._rollback()
                raise _store_error(exc, self.path) from None
            except BaseException:
                await self._rollback()
                raise
            try:
                await self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                await self._rollback()
                raise _store_error(exc, self.path) from None

    async def _rollback(self) -> None:
        if self._db.in_transaction:
            await self._db.execute("ROLLBACK")

    async def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        try:
            # One hand-off to aiosqlite's thread, not three (execute, fetchall, close): at
            # ~100 us a hop, they were most of a URL lookup's cost.
            return list(await self._read.execute_fetchall(sql, params))
        except sqlite3.Error as exc:
            raise _store_error(exc, self.path) from None

    async def _rekey_urls(self) -> None:
        """Re-key URL rows made by an older canonicaliser, so they keep matching.

        A row whose URL the new canonicaliser refuses, or whose new key the claim already has,
        keeps its old key (and is looked at again at the next start).
        """
        version = links.LINK_KEY_VERSION
        # Two index range probes, not a scan of every URL (the rows are indexed by version).
        stale = "key_version < ? OR key_version > ?"
        if not await self._fetchall(
            f"SELECT 1 FROM claim_urls WHERE {stale} LIMIT 1", (version, version)
        ):
            return
        rows = await self._fetchall(
            f"SELECT id, url FROM claim_urls WHERE {stale}", (version, version)
        )
        log.info("re-keying %d claim URLs to link key version %d", len(rows), version)
        async with self._write() as db:
            for row_id, url in rows:
                try:
                    key = links.canonical_url(url)
                except links.InvalidURL:
                    continue
                await db.execute(
                    "UPDATE OR IGNORE claim_urls SET url_key = ?, key_version = ? WHERE id = ?",
                    (key, links.LINK_KEY_VERSION, row_id),
                )

    # --- reading claims -----------------------------------------------------------------------

    async def _claims_where(self, where: str, params: Sequence[Any]) -> list[Claim]:
        rows = await self._fetchall(
            f"SELECT {_CLAIM_COLUMNS} FROM claims c WHERE {where} ORDER BY c.id", params
        )
        return await self._with_children(rows)

    async def _with_children(self, rows: Sequence[Any]) -> list[Claim]:
        """Claims from ``claims`` rows, with their URLs and sources (one query a 500 claims)."""
        if not rows:
            return []
        ids = list(dict.fromkeys(row[0] for row in rows))
        urls: dict[int, list[str]] = {i: [] for i in ids}
        sources: dict[int, list[Source]] = {i: [] for i in ids}
        for chunk_start in range(0, len(ids), 500):
            chunk = ids[chunk_start : chunk_start + 500]
            marks = ",".join("?" * len(chunk))
            # One round trip to aiosqlite's thread for both child tables.
            for claim_id, is_url, _, url, title, kind in await self._fetchall(
                f"SELECT claim_id, 1, id, url, NULL, NULL FROM claim_urls "
                f"WHERE claim_id IN ({marks}) "
                f"UNION ALL SELECT claim_id, 0, id, url, title, kind FROM claim_sources "
                f"WHERE claim_id IN ({marks}) ORDER BY 1, 2 DESC, 3",
                (*chunk, *chunk),
            ):
                if is_url:
                    urls[claim_id].append(url)
                else:
                    sources[claim_id].append(Source(url, title, kind))
        return [_claim(row, tuple(urls[row[0]]), tuple(sources[row[0]])) for row in rows]

    async def get_claim(self, claim_id: int, *, guild_id: int | None) -> Claim:
        """A claim visible to ``guild_id`` (its own or global), retired ones included."""
        scope, params = _scope_sql(guild_id)
        found = await self._claims_where(f"c.id = ? AND {scope}", (claim_id, *params))
        if not found:
            raise NotFound(f"claim #{claim_id} not found")
        return found[0]

    async def get_claims(self, claim_ids: Sequence[int], *, guild_id: int | None) -> list[Claim]:
        """Active claims visible to ``guild_id``, in the order of ``claim_ids``."""
        if not claim_ids:
            return []
        scope, params = _scope_sql(guild_id)
        marks = ",".join("?" * len(claim_ids))
        found = await self._claims_where(
            f"c.id IN ({marks}) AND c.active = 1 AND {scope}", (*claim_ids, *params)
        )
        by_id = {c.id: c for c in found}
        return [by_id[i] for i in claim_ids if i in by_id]

    async def claims_for_url_keys(
        self, keys: Sequence[str], *, guild_id: int | None
    ) -> dict[str, list[Claim]]:
        """Active claims visible to ``guild_id`` attached to each canonical key."""
        if not keys:
            return {}
        scope, params = _scope_sql(guild_id)
        marks = ",".join("?" * len(keys))
        rows = await self._fetchall(
            f"SELECT u.url_key, {_CLAIM_COLUMNS} FROM claim_urls u "
            f"JOIN claims c ON c.id = u.claim_id "
            f"WHERE u.url_key IN ({marks}) AND c.active = 1 AND {scope} ORDER BY u.claim_id",
            (*keys, *params),
        )
        claims = {c.id: c for c in await self._with_children([r[1:] for r in rows])}
        result: dict[str, list[Claim]] = {}
        for row in rows:
            result.setdefault(row[0], []).append(claims[row[1]])
        return result

    async def list_claims(
        self, *, guild_id: int | None, include_global: bool = True, include_retired: bool = False
    ) -> list[Claim]:
        """Claims in a scope, oldest first (for export and listing)."""
        if include_global:
            where, params = _scope_sql(guild_id)
        elif guild_id is None:
            where, params = "c.guild_id IS NULL", ()
        else:
            where, params = "c.guild_id = ?", (guild_id,)
        if not include_retired:
            where += " AND c.active = 1"
        return await self._claims_where(where, params)

    async def count_claims(self) -> int:
        rows = await self._fetchall("SELECT count(*) FROM claims WHERE active = 1")
        return int(rows[0][0])

    # --- full-text search ---------------------------------------------------------------------

    async def search_claims(
        self,
        match_expr: str,
        *,
        guild_id: int | None,
        limit: int,
        weights: tuple[float, float] = (1.0, 1.0),
    ) -> list[tuple[int, float]]:
        """(claim id, BM25 score) of active visible claims for an FTS5 MATCH, best first."""
        scope, params = _scope_sql(guild_id)
        # Rank inside FTS5 first and join only the best few: joining every matching row before
        # sorting doubled the time of an article-sized query on 100k claims. When hidden claims
        # (retired, another server's) leave fewer than ``limit`` in that pool, the full query
        # runs instead, so the answer is the same.
        pool = 4 * limit + 32
        rows = await self._fetchall(
            f"SELECT s.rowid, s.score FROM (SELECT rowid, -bm25(claim_search, ?, ?) AS score "
            f"FROM claim_search WHERE claim_search MATCH ? "
            f"ORDER BY bm25(claim_search, ?, ?) LIMIT ?) s "
            f"JOIN claims c ON c.id = s.rowid WHERE c.active = 1 AND {scope} "
            f"ORDER BY s.score DESC LIMIT ?",
            (*weights, match_expr, *weights, pool, *params, limit),
        )
        if len(rows) < limit:
            rows = await self._fetchall(
                f"SELECT s.rowid, -bm25(claim_search, ?, ?) AS score FROM claim_search s "
                f"JOIN claims c ON c.id = s.rowid "
                f"WHERE claim_search MATCH ? AND c.active = 1 AND {scope} "
                f"ORDER BY bm25(claim_search, ?, ?) LIMIT ?",
                (*weights, match_expr, *params, *weights, limit),
            )
        return [(int(r[0]), float(r[1])) for r in rows]

    async def term_document_counts(self, terms: Sequence[str]) -> tuple[int, dict[str, int]]:
        """(claims in all, {term: claims whose indexed text holds it}); unknown terms left out.

        ``term IN (...)`` makes fts5vocab scan its whole vocabulary (17 ms at 100k claims);
        joining json_each looks each term up instead.
        """
        total = await self._fetchall("SELECT count(*) FROM claims")
        if not terms:
            return int(total[0][0]), {}
        rows = await self._fetchall(
            "SELECT v.term, v.doc FROM json_each(?) AS q "
            "JOIN claim_search_vocab AS v ON v.term = q.value",
            (json.dumps(list(terms)),),
        )
        return int(total[0][0]), {str(r[0]): int(r[1]) for r in rows}

    async def indexed_terms(self, claim_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
        """The indexed (claim, context) text of each claim, for scoring candidates."""
        if not claim_ids:
            return {}
        marks = ",".join("?" * len(claim_ids))
        rows = await self._fetchall(
            f"SELECT rowid, claim, context FROM claim_search WHERE rowid IN ({marks})",
            list(claim_ids),
        )
        return {int(r[0]): (r[1], r[2]) for r in rows}

    async def _index_claim(
        self, db: aiosqlite.Connection, claim_id: int, claim: str, ctx: str, *, new: bool = False
    ) -> None:
        if not new:  # a new claim has nothing to replace: two statements fewer an import record
            await db.execute("DELETE FROM claim_search WHERE rowid = ?", (claim_id,))
            # A sentence vector of the old wording would rank the new one wrongly.
            await db.execute("DELETE FROM claim_vectors WHERE claim_id = ?", (claim_id,))
        await db.execute(
            "INSERT INTO claim_search (rowid, claim, context) VALUES (?, ?, ?)",
            (claim_id, self._index_terms(claim), self._index_terms(ctx)),
        )

    # --- writing claims -----------------------------------------------------------------------

    async def _audit(
        self,
        db: aiosqlite.Connection,
        *,
        actor: str,
        guild_id: int | None,
        action: str,
        claim_id: int | None = None,
        domain: str | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        await db.execute(
            "INSERT INTO audit_log (at, actor, guild_id, action, claim_id, domain, before, after) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                _now(),
                actor,
                guild_id,
                action,
                claim_id,
                domain,
                None if before is None else json.dumps(before, ensure_ascii=False),
                None if after is None else json.dumps(after, ensure_ascii=False),
            ),
        )

    async def _insert_claim(
        self, db: aiosqlite.Connection, new: NewClaim, *, actor: str, guild_id: int | None
    ) -> int:
        now = _now()
        # Every claim gets a stable identity, so an export re-imported updates instead of copying.
        external_id = new.external_id or f"factbot:{uuid.uuid4()}"
        cur = await db.execute(
            "INSERT INTO claims (guild_id, claim, verdict, note, rating_label, context, "
            "external_id, created_by, created_at, updated_by, updated_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                guild_id,
                new.claim,
                new.verdict,
                new.note,
                new.rating_label,
                new.context,
                external_id,
                actor,
                now,
                actor,
                now,
            ),
        )
        claim_id = cur.lastrowid
        assert claim_id is not None
        await self._replace_children(db, claim_id, new.urls, new.sources, new=True)
        await self._index_claim(db, claim_id, new.claim, new.context, new=True)
        return claim_id

    async def _replace_children(
        self,
        db: aiosqlite.Connection,
        claim_id: int,
        urls: Iterable[str],
        sources: Iterable[Source],
        *,
        new: bool = False,
    ) -> None:
        if not new:
            await db.execute("DELETE FROM claim_urls WHERE claim_id = ?", (claim_id,))
            await db.execute("DELETE FROM claim_sources WHERE claim_id = ?", (claim_id,))
        await db.executemany(
            "INSERT OR IGNORE INTO claim_urls (claim_id, url, url_key, key_version) "
            "VALUES (?, ?, ?, ?)",
            [(claim_id, u, links.canonical_url(u), links.LINK_KEY_VERSION) for u in urls],
        )
        await db.executemany(
            "INSERT OR IGNORE INTO claim_sources (claim_id, url, title, kind) VALUES (?, ?, ?, ?)",
            [(claim_id, s.url, s.title, s.kind) for s in sources],
        )

    async def _snapshot(self, db: aiosqlite.Connection, claim_id: int) -> Claim:
        """A claim as the writer connection sees it (inside the current transaction)."""
        async with db.execute(
            "SELECT id, guild_id, claim, verdict, note, rating_label, context, external_id, "
            "created_by, created_at, updated_by, updated_at, active FROM claims WHERE id = ?",
            (claim_id,),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"claim #{claim_id} not found")
        async with db.execute(
            "SELECT url FROM claim_urls WHERE claim_id = ? ORDER BY id", (claim_id,)
        ) as cur:
            urls = tuple(r[0] for r in await cur.fetchall())
        async with db.execute(
            "SELECT url, title, kind FROM claim_sources WHERE claim_id = ? ORDER BY id", (claim_id,)
        ) as cur:
            sources = tuple(Source(*r) for r in await cur.fetchall())
        return _claim(row, urls, sources)

    async def _editable(self, db: aiosqlite.Connection, claim_id: int, scope: int | None) -> Claim:
        claim = await self._snapshot(db, claim_id)
        if claim.guild_id != scope:
            raise NotFound(f"claim #{claim_id} not found")
        return claim

    async def add_claim(self, new: NewClaim, *, actor: str, guild_id: int | None) -> Claim:
        """Add a claim in a scope (``None``: global). Writes one audit row."""
        new = validate_new_claim(new)
        async with self._write() as db:
            claim_id = await self._insert_claim(db, new, actor=actor, guild_id=guild_id)
            claim = await self._snapshot(db, claim_id)
            await self._audit(
                db,
                actor=actor,
                guild_id=guild_id,
                action="create",
                claim_id=claim_id,
                after=claim.snapshot(),
            )
        return claim

    async def _update_claim(
        self,
        claim_id: int,
        *,
        actor: str,
        scope: int | None,
        action: str,
        change: Any,
    ) -> Claim:
        """Apply ``change(before) -> (fields, urls, sources)`` in one audited transaction."""
        async with self._write() as db:
            before = await self._editable(db, claim_id, scope)
            fields, urls, sources = change(before)
            if fields == {} and urls == before.urls and sources == before.sources:
                return before
            fields = {**fields, "updated_by": actor, "updated_at": _now()}
            assignments = ", ".join(f"{name} = ?" for name in fields)
            await db.execute(
                f"UPDATE claims SET {assignments} WHERE id = ?", (*fields.values(), claim_id)
            )
            if urls != before.urls or sources != before.sources:
                await self._replace_children(db, claim_id, urls, sources)
            if "claim" in fields or "context" in fields:
                await self._index_claim(
                    db,
                    claim_id,
                    fields.get("claim", before.claim),
                    fields.get("context", before.context),
                )
            after = await self._snapshot(db, claim_id)
            await self._audit(
                db,
                actor=actor,
                guild_id=scope,
                action=action,
                claim_id=claim_id,
                before=before.snapshot(),
                after=after.snapshot(),
            )
        return after

    async def edit_claim(
        self,
        claim_id: int,
        *,
        actor: str,
        guild_id: int | None,
        claim: str | None = None,
        verdict: str | None = None,
        note: str | None = None,
    ) -> Claim:
        """Change a claim's text, verdict or note (only in its own scope)."""
        fields: dict[str, Any] = {}
        if claim is not None:
            fields["claim"] = _clean_text(claim, "claim", MAX_CLAIM_CHARS, required=True)
        if verdict is not None:
            fields["verdict"] = _check_verdict(verdict)
        if note is not None:
            fields["note"] = _clean_text(note, "note", MAX_NOTE_CHARS)
        if not fields:
            raise InvalidInput("nothing to change")

        def change(before: Claim) -> tuple[dict[str, Any], tuple[str, ...], tuple[Source, ...]]:
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
        url, key = _check_url(url)

        def change(before: Claim) -> tuple[dict[str, Any], tuple[str, ...], tuple[Source, ...]]:
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
        _, key = _check_url(url)

        def change(before: Claim) -> tuple[dict[str, Any], tuple[str, ...], tuple[Source, ...]]:
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
        source = _check_source(source)

        def change(before: Claim) -> tuple[dict[str, Any], tuple[str, ...], tuple[Source, ...]]:
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

        def change(before: Claim) -> tuple[dict[str, Any], tuple[str, ...], tuple[Source, ...]]:
            fields = {} if before.active == active else {"active": int(active)}
            return fields, before.urls, before.sources

        return await self._update_claim(
            claim_id,
            actor=actor,
            scope=guild_id,
            action="retire" if not active else "restore",
            change=change,
        )

    async def claim_history(self, claim_id: int, *, guild_id: int | None) -> list[AuditEntry]:
        """The audit trail of one claim visible to ``guild_id``, oldest first."""
        await self.get_claim(claim_id, guild_id=guild_id)
        rows = await self._fetchall(
            "SELECT id, at, actor, guild_id, action, claim_id, domain, before, after "
            "FROM audit_log WHERE claim_id = ? ORDER BY id",
            (claim_id,),
        )
        return [_audit_entry(r) for r in rows]

    async def audit_count(self) -> int:
        rows = await self._fetchall("SELECT count(*) FROM audit_log")
        return int(rows[0][0])

    # --- import -------------------------------------------------------------------------------

    async def import_claims(
        self,
        records: Sequence[NewClaim],
        *,
        actor: str,
        guild_id: int | None,
        progress: Callable[[int, int], None] | None = None,
    ) -> ImportResult:
        """Create or update claims by ``external_id``, all in one transaction.

        Records must already be validated (``validate_new_claim``). A record whose stored twin
        is identical changes nothing and writes no audit row, so re-importing a file is a no-op.
        """
        result = ImportResult()
        async with self._write() as db:
            # One query for every identity in the scope, not one a record.
            existing = {
                row[0]: row[1]
                for row in await db.execute_fetchall(
                    "SELECT external_id, id FROM claims "
                    "WHERE ifnull(guild_id, 0) = ? AND external_id IS NOT NULL",
                    (guild_id or 0,),
                )
            }
            for done, new in enumerate(records, start=1):
                if progress is not None and done % 500 == 0:
                    progress(done, len(records))
                existing_id = existing.get(new.external_id) if new.external_id else None
                if existing_id is None:
                    claim_id = await self._insert_claim(db, new, actor=actor, guild_id=guild_id)
                    if new.external_id:
                        existing[new.external_id] = claim_id
                    after = {
                        "claim": new.claim,
                        "verdict": new.verdict,
                        "external_id": new.external_id,
                    }
                    await self._audit(
                        db,
                        actor=actor,
                        guild_id=guild_id,
                        action="import",
                        claim_id=claim_id,
                        after=after,
                    )
                    result.created += 1
                    result.claim_ids.append(claim_id)
                    continue
                before = await self._snapshot(db, existing_id)
                same = (
                    before.claim == new.claim
                    and before.verdict == new.verdict
                    and before.note == new.note
                    and before.rating_label == new.rating_label
                    and before.context == new.context
                    # Order is not meaning: an export lists the fact-check first.
                    and set(before.urls) == set(new.urls)
                    and set(before.sources) == set(new.sources)
                )
                result.claim_ids.append(existing_id)
                if same:
                    result.unchanged += 1
                    continue
                await db.execute(
                    "UPDATE claims SET claim = ?, verdict = ?, note = ?, rating_label = ?, "
                    "context = ?, updated_by = ?, updated_at = ? WHERE id = ?",
                    (
                        new.claim,
                        new.verdict,
                        new.note,
                        new.rating_label,
                        new.context,
                        actor,
                        _now(),
                        existing_id,
                    ),
                )
                await self._replace_children(db, existing_id, new.urls, new.sources)
                await self._index_claim(db, existing_id, new.claim, new.context)
                after_claim = await self._snapshot(db, existing_id)
                await self._audit(
                    db,
                    actor=actor,
                    guild_id=guild_id,
                    action="import",
                    claim_id=existing_id,
                    before=before.snapshot(),
                    after=after_claim.snapshot(),
                )
                result.updated += 1
        if progress is not None:
            progress(len(records), len(records))
        return result

    # --- source notes -------------------------------------------------------------------------

    async def source_note_for(
        self, hosts: Sequence[str], *, guild_id: int | None
    ) -> SourceNote | None:
        """The note for the most specific host in ``hosts``; a server's own note wins a tie."""
        if not hosts:
            return None
        marks = ",".join("?" * len(hosts))
        scope, params = _scope_sql(guild_id)
        rows = await self._fetchall(
            f"SELECT domain, guild_id, rating, note, updated_by, updated_at FROM source_notes c "
            f"WHERE domain IN ({marks}) AND {scope}",
            (*hosts, *params),
        )
        if not rows:
            return None
        order = {host: i for i, host in enumerate(hosts)}
        best = min(rows, key=lambda r: (order[r[0]], r[1] is None))
        return SourceNote(*best)

    async def list_source_notes(self, *, guild_id: int | None) -> list[SourceNote]:
        where, params = _scope_sql(guild_id)
        rows = await self._fetchall(
            f"SELECT domain, guild_id, rating, note, updated_by, updated_at FROM source_notes c "
            f"WHERE {where} ORDER BY domain",
            params,
        )
        return [SourceNote(*r) for r in rows]

    async def set_source_note(
        self, domain: str, rating: str, note: str, *, actor: str, guild_id: int | None
    ) -> SourceNote:
        """Set the note on a domain in a scope (``domain`` already normalised)."""
        rating, note = validate_source_note(rating, note)
        now = _now()
        async with self._write() as db:
            before = await self._source_row(db, domain, guild_id)
            if before is not None and (before.rating, before.note) == (rating, note):
                return before
            if before is None:
                await db.execute(
                    "INSERT INTO source_notes (guild_id, domain, rating, note, updated_by, "
                    "updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (guild_id, domain, rating, note, actor, now),
                )
            else:
                await db.execute(
                    "UPDATE source_notes SET rating = ?, note = ?, updated_by = ?, updated_at = ? "
                    "WHERE domain = ? AND ifnull(guild_id, 0) = ?",
                    (rating, note, actor, now, domain, guild_id or 0),
                )
            after = SourceNote(domain, guild_id, rating, note, actor, now)
            await self._audit(
                db,
                actor=actor,
                guild_id=guild_id,
                action="source-set",
                domain=domain,
                before=None if before is None else asdict(before),
                after=asdict(after),
            )
        return after

    async def clear_source_note(self, domain: str, *, actor: str, guild_id: int | None) -> None:
        async with self._write() as db:
            before = await self._source_row(db, domain, guild_id)
            if before is None:
                raise NotFound(f"no note on {domain}")
            await db.execute(
                "DELETE FROM source_notes WHERE domain = ? AND ifnull(guild_id, 0) = ?",
                (domain, guild_id or 0),
            )
            await self._audit(
                db,
                actor=actor,
                guild_id=guild_id,
                action="source-clear",
                domain=domain,
                before=asdict(before),
            )

    async def _source_row(
        self, db: aiosqlite.Connection, domain: str, guild_id: int | None
    ) -> SourceNote | None:
        async with db.execute(
            "SELECT domain, guild_id, rating, note, updated_by, updated_at FROM source_notes "
            "WHERE domain = ? AND ifnull(guild_id, 0) = ?",
            (domain, guild_id or 0),
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else SourceNote(*row)

    # --- page cache and fingerprints ---------------------------------------------------------

    async def cached_page(self, url_key: str, *, now: float | None = None) -> CachedPage | None:
        rows = await self._fetchall(
            "SELECT url_key, expires_at, final_url, title, site_name, description, published, "
            "lead, canonical_url, og_url, error, fingerprint FROM page_cache "
            "WHERE url_key = ? AND expires_at > ?",
            (url_key, time.time() if now is None else now),
        )
        if not rows:
            return None
        page = CachedPage(*rows[0])
        if page.fingerprint is not None:
            page = replace(page, fingerprint=page.fingerprint & 0xFFFFFFFFFFFFFFFF)
        return page

    async def cache_page(self, page: CachedPage, *, final_key: str | None = None) -> None:
        """Cache what a page said; its fingerprint is kept after the cache entry expires.

        ``final_key`` is the canonical key of the page actually read (after redirects).
        """
        signed = None if page.fingerprint is None else _signed64(page.fingerprint)
        async with self._write() as db:
            await db.execute(
                "INSERT OR REPLACE INTO page_cache (url_key, expires_at, final_url, title, "
                "site_name, description, published, lead, canonical_url, og_url, error, "
                "fingerprint) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    page.url_key,
                    page.expires_at,
                    page.final_url,
                    page.title,
                    page.site_name,
                    page.description,
                    page.published,
                    page.lead,
                    page.canonical_url,
                    page.og_url,
                    page.error,
                    signed,
                ),
            )
            if page.fingerprint is not None:
                await db.execute(
                    "INSERT OR REPLACE INTO article_fingerprints "
                    "(url_key, final_key, fingerprint, band0, band1, band2, band3) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (page.url_key, final_key or page.url_key, signed, *_bands(page.fingerprint)),
                )
            await db.execute("DELETE FROM page_cache WHERE expires_at < ?", (time.time() - 86400,))

    async def similar_fingerprints(self, fingerprint: int) -> list[tuple[str, str, int]]:
        """(url_key, final_key, fingerprint) of articles sharing at least one 16-bit band."""
        b = _bands(fingerprint)
        rows = await self._fetchall(
            "SELECT url_key, final_key, fingerprint FROM article_fingerprints "
            "WHERE band0 = ? OR band1 = ? OR band2 = ? OR band3 = ?",
            b,
        )
        return [(r[0], r[1], r[2] & 0xFFFFFFFFFFFFFFFF) for r in rows]

    # --- claim vectors (semantic extra) ------------------------------------------------------

    async def put_vectors(self, model: str, vectors: Sequence[tuple[int, bytes]]) -> None:
        async with self._write() as db:
            await db.executemany(
                "INSERT OR REPLACE INTO claim_vectors (claim_id, model, vector) VALUES (?, ?, ?)",
                [(claim_id, model, blob) for claim_id, blob in vectors],
            )

    async def get_vectors(self, model: str, claim_ids: Sequence[int]) -> dict[int, bytes]:
        if not claim_ids:
            return {}
        marks = ",".join("?" * len(claim_ids))
        rows = await self._fetchall(
            f"SELECT claim_id, vector FROM claim_vectors WHERE model = ? AND claim_id IN ({marks})",
            (model, *claim_ids),
        )
        return {int(r[0]): bytes(r[1]) for r in rows}

    async def claim_texts(self, claim_ids: Sequence[int]) -> dict[int, str]:
        """The claim text of each existing claim (active or not), for embedding."""
        if not claim_ids:
            return {}
        marks = ",".join("?" * len(claim_ids))
        rows = await self._fetchall(
            f"SELECT id, claim FROM claims WHERE id IN ({marks})", list(claim_ids)
        )
        return {int(r[0]): str(r[1]) for r in rows}

    async def claims_without_vectors(self, model: str) -> list[tuple[int, str, str]]:
        rows = await self._fetchall(
            "SELECT c.id, c.claim, c.context FROM claims c LEFT JOIN claim_vectors v "
            "ON v.claim_id = c.id AND v.model = ? WHERE v.claim_id IS NULL AND c.active = 1",
            (model,),
        )
        return [(int(r[0]), r[1], r[2]) for r in rows]


def _bands(fingerprint: int) -> tuple[int, int, int, int]:
    return (
        fingerprint & 0xFFFF,
        (fingerprint >> 16) & 0xFFFF,
        (fingerprint >> 32) & 0xFFFF,
        (fingerprint >> 48) & 0xFFFF,
    )


def _signed64(value: int) -> int:
    """SQLite integers are signed 64-bit."""
    return value - (1 << 64) if value >= 1 << 63 else value


def _audit_entry(row: sqlite3.Row | tuple[Any, ...]) -> AuditEntry:
    before = json.loads(row[7]) if row[7] else None
    after = json.loads(row[8]) if row[8] else None
    return AuditEntry(
        id=row[0],
        at=row[1],
        actor=row[2],
        guild_id=row[3],
        action=row[4],
        claim_id=row[5],
        domain=row[6],
        before=before,
        after=after,
    )


def _claim(row: Any, urls: tuple[str, ...], sources: tuple[Source, ...]) -> Claim:
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
    )


def _default_index_terms(text: str) -> str:
    return text.casefold()


async def _configure(db: aiosqlite.Connection, busy_timeout_ms: int) -> None:
    await db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    await db.execute("PRAGMA foreign_keys = ON")
    # FULL: a write the bot has acknowledged survives a power cut, not only a crash.
    await db.execute("PRAGMA synchronous = FULL")


async def _migrate(db: aiosqlite.Connection) -> None:
    async with db.execute("PRAGMA user_version") as cur:
        row = await cur.fetchone()
    current = int(row[0]) if row else 0
    migrations = _migrations()
    latest = migrations[-1][0] if migrations else 0
    if current > latest:
        raise StoreError(
            f"the database is at schema version {current}, newer than this factbot ({latest})"
        )
    async with db.execute("PRAGMA journal_mode = WAL") as cur:
        await cur.fetchone()
    for version, sql in migrations:
        if version <= current:
            continue
        log.info("applying store migration V%d", version)
        # executescript commits any open transaction first, so the script carries its own.
        try:
            await db.executescript(
                f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;"
            )
        except sqlite3.Error:
            if db.in_transaction:
                await db.execute("ROLLBACK")
            raise


def _store_error(exc: sqlite3.Error, path: str) -> StoreError:
    message = str(exc)
    if "locked" in message or "busy" in message:
        return StoreBusy("the database is busy (locked by another process); try again")
    if isinstance(exc, sqlite3.DatabaseError) and "not a database" in message:
        return StoreError(f"{path} is not a factbot database")
    return StoreError(f"database error: {message}")
