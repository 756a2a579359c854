"""Full-text search over claims: a tsvector per claim, per-term postings, BM25 as FTS5 ranks.

The indexed text is :func:`bot.matching.index_terms` output (already stemmed, stop words gone),
so the store builds each tsvector from those tokens itself (``'term':1,4``) instead of letting
a PostgreSQL text search configuration re-parse and re-stem them: the index then holds exactly
the terms matching asks for, as FTS5 does. Ranking is FTS5's BM25 (k1 = 1.2, b = 0.75, the
same IDF floor and column weights) rather than ``ts_rank_cd``: the reply confidence in
:mod:`bot.matching` was fitted on BM25 scores and margins, and ``ts_rank_cd`` ignores how rare a
term is. The score is computed (:mod:`bot.store.postings`) from the per-term postings rows
(V7) that every write of ``claim_search`` keeps in step, and the index totals that triggers
keep; the tsvector and its GIN index remain for the vocabulary counts and any other search.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import asyncpg

from bot.store import postings
from bot.store.postgres.connection import PostgresBase, scope_sql
from bot.store.postings import match_terms

log = logging.getLogger(__name__)

# tsvector limits: a lexeme under 2 KiB, positions up to 16383, 256 positions per lexeme.
_MAX_LEXEME_BYTES = 2046
_MAX_POSITION = 16383
_MAX_POSITIONS = 256

_INDEX_LOCK = 0x66616375  # serialises index rebuilds across processes


def _lexeme(term: str) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_text(text: str) -> tuple[str, int]:
    """(tsvector input for the whitespace-separated tokens of ``text``, how many tokens)."""
    tokens = text.split()
    positions: dict[str, list[int]] = {}
    for position, token in enumerate(tokens, start=1):
        if len(token.encode("utf-8")) > _MAX_LEXEME_BYTES:
            continue
        seen = positions.setdefault(token, [])
        if len(seen) < _MAX_POSITIONS:
            seen.append(min(position, _MAX_POSITION))
    vector = " ".join(
        f"{_lexeme(term)}:{','.join(str(p) for p in dict.fromkeys(found))}"
        for term, found in positions.items()
    )
    return vector, len(tokens)


class SearchMixin(PostgresBase):
    async def _after_open(self) -> None:
        await super()._after_open()
        if await self._fetch("SELECT 1 FROM meta WHERE key = 'claim_postings'"):
            return
        # A store from before V7 (or a new one): postings from the indexed text, once.
        async with self._write() as db:
            await db.execute("SELECT pg_advisory_xact_lock($1)", _INDEX_LOCK)
            if await db.fetchval("SELECT 1 FROM meta WHERE key = 'claim_postings'"):
                return
            await rebuild_postings(db)

    async def use_index_terms(self, index_terms: Callable[[str], str], version: int) -> None:
        """Set the search index's text normaliser; rebuild the index if it was made by another."""
        self._index_terms = index_terms
        rows = await self._fetch("SELECT value FROM meta WHERE key = 'index_terms_version'")
        if rows and rows[0][0] == str(version):
            return
        async with self._write() as db:
            await db.execute("SELECT pg_advisory_xact_lock($1)", _INDEX_LOCK)
            done = await db.fetchval("SELECT value FROM meta WHERE key = 'index_terms_version'")
            if done == str(version):
                return  # another process rebuilt it while this one waited
            rows = await db.fetch("SELECT id, claim, context FROM claims")
            if rows:
                log.info("rebuilding the search index for normaliser version %d", version)
            await db.execute("TRUNCATE claim_search, claim_search_vocab")
            await db.execute("UPDATE claim_search_totals SET docs = 0, tokens = 0")
            await db.executemany(
                _INSERT_SEARCH_ROW,
                [_search_row(r[0], index_terms(r[1]), index_terms(r[2])) for r in rows],
            )
            await rebuild_postings(db)
            await db.execute(
                "INSERT INTO meta (key, value) VALUES ('index_terms_version', $1) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                str(version),
            )

    async def search_claims(
        self,
        match_expr: str,
        *,
        guild_id: int | None,
        limit: int,
        weights: tuple[float, float] = (1.0, 1.0),
    ) -> list[tuple[int, float]]:
        """(claim id, BM25 score) of active visible claims for a match expression, best first.

        The score is FTS5's ``bm25()`` for that query, computed from the postings.
        """
        terms = match_terms(match_expr)
        if limit <= 0:
            return []
        totals = await self._fetch("SELECT docs, tokens FROM claim_search_totals")
        rows = await self._fetch(
            "SELECT term, chunk, data FROM claim_postings WHERE term = ANY($1::text[])", terms
        )
        docs, tokens = (int(totals[0][0]), int(totals[0][1])) if totals else (0, 0)
        found = [(str(r[0]), int(r[1]), bytes(r[2])) for r in rows]
        # Rank the best few and keep those the scope shows; when hidden claims (retired,
        # another server's) leave too few, rank deeper until every holder was looked at.
        best = 4 * limit + 32
        scope, params = scope_sql(guild_id, 2)
        while True:
            ranked = postings.rank(found, docs=docs, tokens=tokens, weights=weights, best=best)
            shown = await self._fetch(
                f"SELECT c.id FROM claims c WHERE c.id = ANY($1::bigint[]) AND c.active "
                f"AND {scope}",
                ranked.ids,
                *params,
            )
            visible = {int(r[0]) for r in shown}
            hits = [(i, s) for i, s in zip(ranked.ids, ranked.scores, strict=True) if i in visible]
            if len(hits) >= limit or ranked.complete:
                return hits[:limit]
            best *= 8

    async def term_document_counts(self, terms: Sequence[str]) -> tuple[int, dict[str, int]]:
        """(claims in all, {term: claims whose indexed text holds it}); unknown terms left out."""
        total = await self._fetch("SELECT docs FROM claim_search_totals")
        if not terms:
            return int(total[0][0]), {}
        rows = await self._fetch(
            "SELECT term, docs FROM claim_search_vocab WHERE term = ANY($1::text[]) AND docs > 0",
            list(terms),
        )
        return int(total[0][0]), {str(r[0]): int(r[1]) for r in rows}

    async def indexed_terms(
        self, claim_ids: Sequence[int]
    ) -> dict[int, tuple[str, str, str | None, str | None]]:
        """The indexed (claim, context) text of each claim, its claimant and its date."""
        if not claim_ids:
            return {}
        rows = await self._fetch(
            "SELECT s.claim_id, s.claim, s.context, c.claimant, c.claim_date FROM claim_search s "
            "JOIN claims c ON c.id = s.claim_id WHERE s.claim_id = ANY($1::bigint[])",
            list(claim_ids),
        )
        return {int(r[0]): (r[1], r[2], r[3], r[4]) for r in rows}

    async def _index_claim(
        self,
        db: asyncpg.Connection,
        claim_id: int,
        claim: str,
        ctx: str,
        *,
        new: bool = False,
        pending: postings.PostingsChange | None = None,
    ) -> None:
        """Index the claim's text; its postings go into ``pending`` when given (the caller
        applies it once), else are written now.

        An import appends to each posting row once, not once a claim: a row of a common term
        is tens of kilobytes, rewritten whole by every append.
        """
        change = postings.PostingsChange() if pending is None else pending
        if not new:
            old = await db.fetchrow(
                "DELETE FROM claim_search WHERE claim_id = $1 RETURNING claim, context", claim_id
            )
            if old is not None:
                change.remove(claim_id, old[0], old[1])
            # A sentence vector of the old wording would rank the new one wrongly.
            await db.execute("DELETE FROM claim_vectors WHERE claim_id = $1", claim_id)
        claim_terms, context_terms = self._index_terms(claim), self._index_terms(ctx)
        await db.execute(_INSERT_SEARCH_ROW, *_search_row(claim_id, claim_terms, context_terms))
        change.add(claim_id, claim_terms, context_terms)
        if pending is None:
            await apply_postings(db, change)

    async def _unindex_claims(self, db: asyncpg.Connection, guild_id: int) -> int:
        """Drop the search rows (text and postings) of the server's claims."""
        rows = await db.fetch(
            "DELETE FROM claim_search WHERE claim_id IN (SELECT id FROM claims "
            "WHERE guild_id = $1) RETURNING claim_id, claim, context",
            guild_id,
        )
        change = postings.PostingsChange()
        for row in rows:
            change.remove(int(row[0]), row[1], row[2])
        await apply_postings(db, change)
        return len(rows)


async def apply_postings(db: asyncpg.Connection, change: postings.PostingsChange) -> None:
    """Write ``change`` into the postings rows (in the caller's transaction).

    Rows that lose a claim are locked and rewritten (in key order, as every writer locks
    them); rows that only gain one are appended to in one statement, so two processes adding
    claims at once both land.
    """
    if not change:
        return
    removing = sorted(change.removed)
    if removing:
        locked = await db.fetch(
            "SELECT p.term, p.chunk, p.data FROM claim_postings p "
            "JOIN unnest($1::text[], $2::int[]) AS k (term, chunk) "
            "ON p.term = k.term AND p.chunk = k.chunk "
            "ORDER BY p.term, p.chunk FOR UPDATE OF p",
            [k[0] for k in removing],
            [k[1] for k in removing],
        )
        existing = {(str(r[0]), int(r[1])): bytes(r[2]) for r in locked}
        rewrite: list[tuple[str, int, bytes]] = []
        gone: list[tuple[str, int]] = []
        for key in existing:
            data = change.new_data(key, existing[key])
            if data:
                rewrite.append((key[0], key[1], data))
            else:
                gone.append(key)
        await db.executemany(
            "UPDATE claim_postings SET data = $3 WHERE term = $1 AND chunk = $2", rewrite
        )
        await db.executemany("DELETE FROM claim_postings WHERE term = $1 AND chunk = $2", gone)
        appends = sorted(k for k in change.added if k not in existing)
    else:
        appends = sorted(change.added)
    if appends:
        await db.execute(
            "INSERT INTO claim_postings (term, chunk, data) "
            "SELECT * FROM unnest($1::text[], $2::int[], $3::bytea[]) "
            "ON CONFLICT (term, chunk) DO UPDATE SET data = claim_postings.data || EXCLUDED.data",
            [k[0] for k in appends],
            [k[1] for k in appends],
            [b"".join(change.added[k]) for k in appends],
        )


async def rebuild_postings(db: asyncpg.Connection) -> None:
    """Every postings row again, from the indexed text (in the caller's transaction)."""
    indexed = await db.fetch("SELECT claim_id, claim, context FROM claim_search")
    change = postings.rebuild((int(r[0]), str(r[1]), str(r[2])) for r in indexed)
    await db.execute("TRUNCATE claim_postings")
    await db.copy_records_to_table(
        "claim_postings",
        records=[(t, c, b"".join(entries)) for (t, c), entries in change.added.items()],
        columns=["term", "chunk", "data"],
    )
    await db.execute(
        "INSERT INTO meta (key, value) VALUES ('claim_postings', '1') ON CONFLICT (key) DO NOTHING"
    )


_INSERT_SEARCH_ROW = (
    "INSERT INTO claim_search (claim_id, claim, context, length, search) "
    "VALUES ($1, $2, $3, $4, setweight($5::tsvector, 'A') || setweight($6::tsvector, 'B'))"
)


def _search_row(claim_id: int, claim: str, context: str) -> tuple[int, str, str, int, str, str]:
    claim_vector, claim_tokens = tsvector_text(claim)
    context_vector, context_tokens = tsvector_text(context)
    return (claim_id, claim, context, claim_tokens + context_tokens, claim_vector, context_vector)
