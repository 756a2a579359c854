"""Ranking claims for an article's text: the lexical stage, and the semantic stage when installed.

``Ranker.rank`` is the one function the bot, ``factbot check`` and ``factbot eval`` all use.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from bot import matching

if TYPE_CHECKING:
    from bot.semantic import Embedder
    from bot.store import Store

log = logging.getLogger(__name__)

# Texts per ONNX run when embedding claims in bulk: on 2 cores, 16 ran faster than 32 or 64
# (length-sorted CLEF-like claims, ~22 tokens); vectors go to the store 512 at a time.
_EMBED_BATCH = 16
_STORE_BATCH = 512


class Ranker:
    """Lexical (FTS5 BM25) ranking, re-ranked by sentence vectors when an embedder is given."""

    def __init__(self, embedder: Embedder | None = None) -> None:
        self.embedder = embedder

    @property
    def stages(self) -> list[str]:
        return ["lexical"] if self.embedder is None else ["lexical", "semantic"]

    async def rank(
        self, store: Store, text: str, *, guild_id: int | None, limit: int
    ) -> list[matching.Candidate]:
        """The best ``limit`` claims for ``text``, best first, with the confidence to reply."""
        if self.embedder is None:
            return await matching.rank_claims(store, text, guild_id=guild_id, limit=limit)
        from bot import semantic

        pool = await matching.rank_claims(
            store, text, guild_id=guild_id, limit=max(limit, semantic.DEFAULT_CANDIDATES)
        )
        if not pool:
            return []
        vectors = await store.get_vectors(semantic.MODEL_ID, [c.claim_id for c in pool])
        missing = [c.claim_id for c in pool if c.claim_id not in vectors]
        if missing:
            # Claims added since the last import or start-up (or edited) have no vector yet:
            # embed them now, once. Falling back to lexical order would mean comparing a
            # lexical confidence with the fused threshold.
            vectors.update(await self._embed_claims(store, missing))
        pool = [c for c in pool if c.claim_id in vectors]
        if not pool:
            return []
        query = (
            await asyncio.to_thread(
                self.embedder.embed, [text], max_tokens=semantic.QUERY_MAX_TOKENS
            )
        )[0]
        cosines = [float(semantic.blob_to_vector(vectors[c.claim_id]) @ query) for c in pool]
        fused = semantic.fuse_scores(
            [c.score for c in pool], cosines, semantic.DEFAULT_FUSION_WEIGHT
        )
        order = sorted(range(len(pool)), key=lambda i: fused[i], reverse=True)
        # Vectors order the candidates; the reply gate stays the lexical confidence. Measured on
        # 2022 train, gating on the fused score replied to fewer queries at the same false-alarm
        # rate (0.37 at 1.5%) than the lexical confidence of the fused top claim (0.43 at 1.1%).
        return [
            matching.Candidate(pool[i].claim_id, fused[i], pool[i].confidence, pool[i].quote)
            for i in order[:limit]
        ]

    async def _embed_claims(self, store: Store, claim_ids: list[int]) -> dict[int, bytes]:
        from bot import semantic
        from bot.store import StoreError

        assert self.embedder is not None
        texts = await store.claim_texts(claim_ids)
        ids = [i for i in claim_ids if i in texts]
        if not ids:
            return {}
        vectors = await asyncio.to_thread(self.embedder.embed, [texts[i] for i in ids])
        blobs = {i: semantic.vector_to_blob(v) for i, v in zip(ids, vectors, strict=True)}
        try:
            await store.put_vectors(semantic.MODEL_ID, list(blobs.items()))
        except StoreError as exc:  # a busy store: use them now, store them another time
            log.warning("could not store %d claim vectors: %s", len(blobs), exc)
        return blobs


async def embed_missing_claims(
    store: Store, embedder: Embedder, *, progress: bool = False, workers: int = 1
) -> int:
    """Compute and store vectors for claims that have none; returns how many were added.

    ``workers`` batches run at once: ONNX Runtime runs concurrent calls on one session in
    parallel, each on one core. An import asks for every core; the bot's background pass keeps
    to one, so replies are not starved.
    """
    from bot import semantic

    missing = await store.claims_without_vectors(semantic.MODEL_ID)
    # One length order for all of them: a batch of similar lengths pads least. (Sorting each
    # 64-claim chunk only, as before, ran about 1.4 times slower on CLEF-like claims.)
    missing.sort(key=lambda row: len(row[1]))
    limit = asyncio.Semaphore(max(1, workers))

    async def embed(texts: list[str]) -> Any:
        async with limit:
            return await asyncio.to_thread(embedder.embed, texts, batch_size=_EMBED_BATCH)

    done = 0
    for start in range(0, len(missing), _STORE_BATCH):
        chunk = missing[start : start + _STORE_BATCH]
        # The claim alone: adding the fact-check's title helped 2022 dev by 0.005 MAP@5 and
        # cost 2020 dev 0.03, and made embedding 1.6 times slower.
        texts = [claim for _, claim, _ in chunk]
        parts = [texts[i : i + _EMBED_BATCH] for i in range(0, len(texts), _EMBED_BATCH)]
        vectors = [v for part in await asyncio.gather(*map(embed, parts)) for v in part]
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
