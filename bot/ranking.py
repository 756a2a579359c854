"""Ranking claims for an article's text: the lexical stage, and the semantic stage when installed.

``Ranker.rank`` is the one function the bot, ``factbot check`` and ``factbot eval`` all use.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from bot import matching

if TYPE_CHECKING:
    from bot.semantic import Embedder
    from bot.store import Store

log = logging.getLogger(__name__)


class Ranker:
    """Lexical (FTS5 BM25) ranking, re-ranked by sentence vectors when an embedder is given."""

    def __init__(self, embedder: Embedder | None = None) -> None:
        self.embedder = embedder

    @property
    def stages(self) -> list[str]:
        return ["lexical"] if self.embedder is None else ["lexical", "semantic"]

    @property
    def model_id(self) -> str | None:
        if self.embedder is None:
            return None
        from bot import semantic

        return semantic.MODEL_ID

    async def rank(
        self, store: Store, text: str, *, guild_id: int | None, limit: int
    ) -> list[matching.Candidate]:
        if self.embedder is None:
            return await matching.rank_claims(store, text, guild_id=guild_id, limit=limit)
        from bot import semantic

        pool = await matching.rank_claims(
            store, text, guild_id=guild_id, limit=max(limit, semantic.DEFAULT_CANDIDATES)
        )
        if not pool:
            return []
        vectors = await store.get_vectors(semantic.MODEL_ID, [c.claim_id for c in pool])
        if len(vectors) < len(pool):
            log.debug("%d candidates have no vector; lexical order kept", len(pool) - len(vectors))
            return pool[:limit]
        query = (await asyncio.to_thread(self.embedder.embed, [text]))[0]
        cosines = [float(semantic.blob_to_vector(vectors[c.claim_id]) @ query) for c in pool]
        fused = semantic.fuse_scores(
            [c.score for c in pool], cosines, semantic.DEFAULT_FUSION_WEIGHT
        )
        order = sorted(range(len(pool)), key=lambda i: fused[i], reverse=True)
        return [replace(pool[i], score=fused[i]) for i in order[:limit]]


async def embed_missing_claims(store: Store, embedder: Embedder, *, progress: bool = False) -> int:
    """Compute and store vectors for claims that have none; returns how many were added."""
    from bot import semantic

    missing = await store.claims_without_vectors(semantic.MODEL_ID)
    done = 0
    batch = 64
    for start in range(0, len(missing), batch):
        chunk = missing[start : start + batch]
        texts = [semantic.claim_text(claim, context) for _, claim, context in chunk]
        vectors = await asyncio.to_thread(embedder.embed, texts)
        await store.put_vectors(
            semantic.MODEL_ID,
            [
                (claim_id, semantic.vector_to_blob(v))
                for (claim_id, _, _), v in zip(chunk, vectors, strict=True)
            ],
        )
        done += len(chunk)
        if progress:
            from bot.progress import show_progress

            show_progress("embedding claims", done, len(missing))
    return done
