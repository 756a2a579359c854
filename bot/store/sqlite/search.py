"""Full-text search over claims (FTS5 BM25) and the index's text normaliser."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence

import aiosqlite

from bot.store.sqlite.connection import SQLiteBase, scope_sql

log = logging.getLogger(__name__)


class SearchMixin(SQLiteBase):
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

    async def search_claims(
        self,
        match_expr: str,
        *,
        guild_id: int | None,
        limit: int,
        weights: tuple[float, float] = (1.0, 1.0),
    ) -> list[tuple[int, float]]:
        """(claim id, BM25 score) of active visible claims for an FTS5 MATCH, best first."""
        scope, params = scope_sql(guild_id)
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
