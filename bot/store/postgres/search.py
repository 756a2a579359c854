"""Full-text search over claims: a tsvector per claim, a GIN index, and BM25 ranked in SQL.

The indexed text is :func:`bot.matching.index_terms` output (already stemmed, stop words gone),
so the store builds each tsvector from those tokens itself (``'term':1,4``) instead of letting
a PostgreSQL text search configuration re-parse and re-stem them: the index then holds exactly
the terms matching asks for, as FTS5 does. Ranking is FTS5's BM25 (k1 = 1.2, b = 0.75, the
same IDF floor and column weights) rather than ``ts_rank_cd``: the reply confidence in
:mod:`bot.matching` was fitted on BM25 scores and margins, and ``ts_rank_cd`` ignores how rare a
term is. The score is computed from the tsvector's positions (weight A: claim, B: context), the
vocabulary table and the index totals that triggers keep in step with every write.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence

import asyncpg

from bot.store.models import InvalidInput
from bot.store.postgres.connection import PostgresBase, scope_sql

log = logging.getLogger(__name__)

_BM25_K1 = 1.2
_BM25_B = 0.75
# tsvector limits: a lexeme under 2 KiB, positions up to 16383, 256 positions per lexeme.
_MAX_LEXEME_BYTES = 2046
_MAX_POSITION = 16383
_MAX_POSITIONS = 256

_INDEX_LOCK = 0x66616375  # serialises index rebuilds across processes

_QUOTED = re.compile(r'"((?:[^"]|"")*)"')


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


def tsquery_text(terms: Sequence[str]) -> str:
    """A tsquery that ORs ``terms`` as literal lexemes (no query syntax is parsed from them)."""
    return " | ".join(_lexeme(t) for t in terms)


def match_terms(match_expr: str) -> list[str]:
    """The terms of a match expression as :mod:`bot.matching` writes it: ``"a" OR "b"``.

    That OR of quoted terms is the search language both engines accept; anything else is
    refused rather than guessed at.
    """
    terms = [m.replace('""', '"') for m in _QUOTED.findall(match_expr)]
    rest = _QUOTED.sub(" ", match_expr).split()
    if not terms or any(word != "OR" for word in rest):
        raise InvalidInput("a search is an OR of quoted terms")
    # FTS5 reads a quoted run of words as a phrase; here each word counts on its own.
    return list(dict.fromkeys(word for term in terms for word in term.split()))


class SearchMixin(PostgresBase):
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
        """(claim id, BM25 score) of active visible claims for a match expression, best first."""
        terms = match_terms(match_expr)
        scope, params = scope_sql(guild_id, 6)
        # Score every document holding a term, then keep what the scope shows: the BM25 sum
        # takes each term's frequency from the tsvector (weight A: claim, B: context).
        rows = await self._fetch(
            f"""
            WITH totals AS (
                SELECT docs::float8 AS docs, greatest(tokens, 1)::float8 / greatest(docs, 1)
                       AS avgdl
                FROM claim_search_totals
            ),
            q AS (
                SELECT v.term,
                       greatest(ln((t.docs - v.docs + 0.5) / (v.docs + 0.5)), 1e-6) AS idf
                FROM claim_search_vocab v, totals t
                WHERE v.term = ANY($1::text[]) AND v.docs > 0
            ),
            scored AS (
                SELECT s.claim_id,
                       sum(q.idf * f.freq * ({_BM25_K1} + 1) / (f.freq + {_BM25_K1}
                           * (1 - {_BM25_B} + {_BM25_B} * s.length / t.avgdl))) AS score
                FROM claim_search s
                CROSS JOIN totals t
                CROSS JOIN LATERAL (
                    SELECT u.lexeme,
                           $3::float8 * cardinality(array_positions(u.weights, 'A'))
                           + $4::float8 * cardinality(array_positions(u.weights, 'B')) AS freq
                    FROM unnest(s.search) AS u
                ) f
                JOIN q ON q.term = f.lexeme
                WHERE s.search @@ $2::tsquery
                GROUP BY s.claim_id
            )
            SELECT sc.claim_id, sc.score
            FROM scored sc JOIN claims c ON c.id = sc.claim_id
            WHERE c.active AND {scope}
            ORDER BY sc.score DESC, sc.claim_id
            LIMIT $5
            """,
            terms,
            tsquery_text(terms),
            float(weights[0]),
            float(weights[1]),
            limit,
            *params,
        )
        return [(int(r[0]), float(r[1])) for r in rows]

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

    async def indexed_terms(self, claim_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
        """The indexed (claim, context) text of each claim, for scoring candidates."""
        if not claim_ids:
            return {}
        rows = await self._fetch(
            "SELECT claim_id, claim, context FROM claim_search WHERE claim_id = ANY($1::bigint[])",
            list(claim_ids),
        )
        return {int(r[0]): (r[1], r[2]) for r in rows}

    async def _index_claim(
        self, db: asyncpg.Connection, claim_id: int, claim: str, ctx: str, *, new: bool = False
    ) -> None:
        if not new:
            await db.execute("DELETE FROM claim_search WHERE claim_id = $1", claim_id)
            # A sentence vector of the old wording would rank the new one wrongly.
            await db.execute("DELETE FROM claim_vectors WHERE claim_id = $1", claim_id)
        await db.execute(
            _INSERT_SEARCH_ROW,
            *_search_row(claim_id, self._index_terms(claim), self._index_terms(ctx)),
        )


_INSERT_SEARCH_ROW = (
    "INSERT INTO claim_search (claim_id, claim, context, length, search) "
    "VALUES ($1, $2, $3, $4, setweight($5::tsvector, 'A') || setweight($6::tsvector, 'B'))"
)


def _search_row(claim_id: int, claim: str, context: str) -> tuple[int, str, str, int, str, str]:
    claim_vector, claim_tokens = tsvector_text(claim)
    context_vector, context_tokens = tsvector_text(context)
    return (claim_id, claim, context, claim_tokens + context_tokens, claim_vector, context_vector)
