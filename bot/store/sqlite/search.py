"""Full-text search over claims and the index's text normaliser.

``claim_search`` holds each claim's indexed text (a plain table since V8; it was FTS5's until
its index went unread); a search is ranked from the per-term postings (``claim_postings``, V7;
see :mod:`bot.store.postings`), which every write of ``claim_search`` keeps in step in the same
transaction, and reads document counts from ``claim_term_docs``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

import aiosqlite

from bot.store import postings
from bot.store.sqlite.connection import SQLiteBase, scope_sql

log = logging.getLogger(__name__)


class SearchMixin(SQLiteBase):
    async def _after_open(self) -> None:
        await super()._after_open()
        rows = await self._fetchall("SELECT 1 FROM claim_postings_totals")
        if not rows:  # a store from before V7 (or a new one): postings from the indexed text
            async with self._write() as db:
                await rebuild_postings(db)

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
            await rebuild_postings(db)
            await db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('index_terms_version', ?)",
                (str(version),),
            )

    async def search_claims(
        self,
        match_expr: str,
        *,
        guild_id: int | None,
        limit: int,
        weights: tuple[float, float] = (1.0, 1.0),
    ) -> list[tuple[int, float]]:
        """(claim id, BM25 score) of active visible claims for an OR of quoted terms, best first.

        The score is FTS5's ``bm25()`` for that query, computed from the postings.
        """
        terms = postings.match_terms(match_expr)
        if limit <= 0:
            return []
        # The totals ride along as a first row (no term): one hand-off to the thread, not two.
        rows = await self._fetchall(
            "SELECT NULL, docs, tokens FROM claim_postings_totals UNION ALL "
            "SELECT p.term, p.chunk, p.data FROM json_each(?) AS q "
            "CROSS JOIN claim_postings AS p ON p.term = q.value",
            (json.dumps(terms),),
        )
        docs = tokens = 0
        found: list[tuple[str, int, bytes]] = []
        for term, chunk, data in rows:
            if term is None:
                docs, tokens = int(chunk), int(data)
            else:
                found.append((str(term), int(chunk), bytes(data)))
        # Rank the best few and keep those the scope shows; when hidden claims (retired,
        # another server's) leave too few, rank deeper until every holder was looked at.
        best = 4 * limit + 32
        while True:
            ranked = postings.rank(found, docs=docs, tokens=tokens, weights=weights, best=best)
            visible = await self._visible(ranked.ids, guild_id)
            hits = [(i, s) for i, s in zip(ranked.ids, ranked.scores, strict=True) if i in visible]
            if len(hits) >= limit or ranked.complete:
                return hits[:limit]
            best *= 8

    async def _visible(self, claim_ids: Sequence[int], guild_id: int | None) -> set[int]:
        if not claim_ids:
            return set()
        scope, params = scope_sql(guild_id)
        rows = await self._fetchall(
            f"SELECT c.id FROM json_each(?) AS q CROSS JOIN claims AS c ON c.id = q.value "
            f"WHERE c.active = 1 AND {scope}",
            (json.dumps(list(claim_ids)), *params),
        )
        return {int(r[0]) for r in rows}

    async def term_document_counts(self, terms: Sequence[str]) -> tuple[int, dict[str, int]]:
        """(claims in all, {term: claims whose indexed text holds it}); unknown terms left out.

        Read from the postings' own counts: fts5vocab counts a term by walking its doclist.
        """
        rows = await self._fetchall(
            "SELECT NULL, docs FROM claim_postings_totals UNION ALL "
            "SELECT v.term, v.docs FROM json_each(?) AS q "
            "CROSS JOIN claim_term_docs AS v ON v.term = q.value",
            (json.dumps(list(terms)),),
        )
        total = next((int(r[1]) for r in rows if r[0] is None), 0)
        return total, {str(r[0]): int(r[1]) for r in rows if r[0] is not None}

    async def indexed_terms(
        self, claim_ids: Sequence[int]
    ) -> dict[int, tuple[str, str, str | None, str | None]]:
        """The indexed (claim, context) text of each claim, its claimant and its date."""
        if not claim_ids:
            return {}
        marks = ",".join("?" * len(claim_ids))
        rows = await self._fetchall(
            "SELECT s.rowid, s.claim, s.context, c.claimant, c.claim_date FROM claim_search s "
            f"JOIN claims c ON c.id = s.rowid WHERE s.rowid IN ({marks})",
            list(claim_ids),
        )
        return {int(r[0]): (r[1], r[2], r[3], r[4]) for r in rows}

    async def _index_claim(
        self,
        db: aiosqlite.Connection,
        claim_id: int,
        claim: str,
        ctx: str,
        *,
        new: bool = False,
    ) -> None:
        change = postings.PostingsChange()
        if not new:  # a new claim has nothing to replace: two statements fewer an import record
            async with db.execute(
                "SELECT claim, context FROM claim_search WHERE rowid = ?", (claim_id,)
            ) as cur:
                old = await cur.fetchone()
            if old is not None:
                change.remove(claim_id, old[0], old[1])
            await db.execute("DELETE FROM claim_search WHERE rowid = ?", (claim_id,))
            # A sentence vector of the old wording would rank the new one wrongly.
            await db.execute("DELETE FROM claim_vectors WHERE claim_id = ?", (claim_id,))
        claim_terms, context_terms = self._index_terms(claim), self._index_terms(ctx)
        await db.execute(
            "INSERT INTO claim_search (rowid, claim, context) VALUES (?, ?, ?)",
            (claim_id, claim_terms, context_terms),
        )
        change.add(claim_id, claim_terms, context_terms)
        await apply_postings(db, change)

    async def _unindex_claims(self, db: aiosqlite.Connection, where: str, params: Any) -> int:
        """Drop the search rows (text and postings) of the claims ``where`` selects by id."""
        change = postings.PostingsChange()
        async with db.execute(
            f"SELECT rowid, claim, context FROM claim_search WHERE rowid IN ({where})", params
        ) as cur:
            for row in await cur.fetchall():
                change.remove(int(row[0]), row[1], row[2])
        await apply_postings(db, change)
        cur = await db.execute(f"DELETE FROM claim_search WHERE rowid IN ({where})", params)
        return int(cur.rowcount)


async def apply_postings(db: aiosqlite.Connection, change: postings.PostingsChange) -> None:
    """Write ``change`` into the postings rows (in the caller's write transaction)."""
    if not change:
        return
    keys = change.keys()
    existing: dict[tuple[str, int], bytes] = {}
    for start in range(0, len(keys), 5000):
        async with db.execute(
            "SELECT p.term, p.chunk, p.data FROM json_each(?) AS q "
            "CROSS JOIN claim_postings AS p "
            "ON p.term = q.value ->> 0 AND p.chunk = q.value ->> 1",
            (json.dumps(keys[start : start + 5000]),),
        ) as cur:
            for term, chunk, data in await cur.fetchall():
                existing[(str(term), int(chunk))] = bytes(data)
    writes: list[tuple[str, int, bytes]] = []
    gone: list[tuple[str, int]] = []
    for key in keys:
        data = change.new_data(key, existing.get(key))
        if data:
            writes.append((key[0], key[1], data))
        elif key in existing:
            gone.append(key)
    await db.executemany(
        "INSERT OR REPLACE INTO claim_postings (term, chunk, data) VALUES (?, ?, ?)", writes
    )
    await db.executemany("DELETE FROM claim_postings WHERE term = ? AND chunk = ?", gone)
    docs = change.term_docs()
    await db.executemany(
        "INSERT INTO claim_term_docs (term, docs) VALUES (?, ?) "
        "ON CONFLICT (term) DO UPDATE SET docs = docs + excluded.docs",
        docs.items(),
    )
    await db.executemany(
        "DELETE FROM claim_term_docs WHERE term = ? AND docs <= 0",
        [(term,) for term, n in docs.items() if n < 0],
    )
    await db.execute(
        "UPDATE claim_postings_totals SET docs = docs + ?, tokens = tokens + ?",
        (change.docs, change.tokens),
    )


async def rebuild_postings(db: aiosqlite.Connection) -> None:
    """Every postings row again, from the indexed text (in the caller's transaction)."""
    async with db.execute("SELECT rowid, claim, context FROM claim_search") as cur:
        indexed = [(int(r[0]), str(r[1]), str(r[2])) for r in await cur.fetchall()]
    change = postings.rebuild(indexed)
    await db.execute("DELETE FROM claim_postings")
    await db.execute("DELETE FROM claim_term_docs")
    await db.execute("DELETE FROM claim_postings_totals")
    await db.executemany(
        "INSERT INTO claim_postings (term, chunk, data) VALUES (?, ?, ?)",
        [(term, chunk, b"".join(entries)) for (term, chunk), entries in change.added.items()],
    )
    await db.executemany(
        "INSERT INTO claim_term_docs (term, docs) VALUES (?, ?)", list(change.term_docs().items())
    )
    await db.execute(
        "INSERT INTO claim_postings_totals (only_row, docs, tokens) VALUES (1, ?, ?)",
        (change.docs, change.tokens),
    )
