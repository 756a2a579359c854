"""Ranking claims for an article's text: the lexical stage, and the semantic stage when installed.

``Ranker.rank`` is the one function the bot, ``factbot check`` and ``factbot eval`` all use.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from datetime import date
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
        self,
        store: Store,
        text: str,
        *,
        guild_id: int | None,
        limit: int,
        text_date: date | None = None,
    ) -> list[matching.Candidate]:
        """The best ``limit`` claims for ``text``, best first, with the confidence to reply.
        ``text_date``: when the text was written (claims made near it rank higher)."""
        if self.embedder is None:
            return await matching.rank_claims(
                store, text, guild_id=guild_id, limit=limit, text_date=text_date
            )
        import numpy as np

        from bot import semantic

        pool = await matching.rank_claims(
            store,
            text,
            guild_id=guild_id,
            limit=max(limit, semantic.DEFAULT_CANDIDATES),
            unit_choices=semantic.UNITS_PER_CANDIDATE,
            text_date=text_date,
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
        units = semantic.choose_units([c.units for c in pool], text)
        if not units:
            lexical = [c.score for c in pool]
            undated = [c.score / c.date_factor for c in pool]
            return [pool[i] for i in matching.keep_best(limit, undated, lexical)]
        unit_vectors = await asyncio.to_thread(
            self.embedder.embed,
            units,
            max_tokens=semantic.unit_max_tokens(text),
        )
        claim_vectors = np.stack([semantic.blob_to_vector(vectors[c.claim_id]) for c in pool])
        similarity = claim_vectors @ unit_vectors.T  # (claims, units) cosines: unit vectors
        best_unit = similarity.argmax(axis=1)
        cosines = [float(similarity[i, u]) for i, u in enumerate(best_unit)]
        bonus = [semantic.CLAIMANT_BONUS * c.claimant_named for c in pool]
        weight = semantic.DEFAULT_FUSION_WEIGHT
        fused = semantic.fuse_scores([c.score for c in pool], cosines, weight)
        fused = [f + b for f, b in zip(fused, bonus, strict=True)]
        # As in the lexical stage, which candidates are kept is decided without the date.
        undated = semantic.fuse_scores([c.score / c.date_factor for c in pool], cosines, weight)
        undated = [f + b for f, b in zip(undated, bonus, strict=True)]
        order = matching.keep_best(limit, undated, fused)
        chars = len(text[: matching.MAX_TEXT_CHARS])
        if len(pool) < matching.RIVAL_POOL:
            # As in the lexical stage: a handful of claims sharing the text's words (a new
            # server's notes) do not get the many chances to match by accident that the
            # long-text correction is for, and their lexical confidence was not corrected.
            chars = 0
        return [
            matching.Candidate(
                pool[i].claim_id,
                fused[i],
                semantic.confidence(pool[i].confidence, cosines[i], chars),
                _quote(pool[i], units[int(best_unit[i])], text),
                claimant_named=pool[i].claimant_named,
                date_factor=pool[i].date_factor,
            )
            for i in order
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


def _quote(candidate: matching.Candidate, closest: str, text: str) -> str | None:
    """What a reply quotes: the embedded unit closest to the claim, the place that says it
    best, when it is one of the places the lexical stage found for this claim. Only the best
    candidates' places are embedded: another claim's sentence may be the closest there is,
    and quoting it would show the reader a sentence that does not say the claim."""
    from bot import semantic

    if len(text) <= semantic.WHOLE_TEXT_CHARS or closest in candidate.units:
        return closest  # a short text is one unit: the whole of it, as embedded
    return candidate.quote


async def embed_missing_claims(
    store: Store,
    embedder: Embedder,
    *,
    progress: bool = False,
    workers: int = 1,
    batch_size: int | None = None,
) -> int:
    """Compute and store vectors for claims that have none; returns how many were added.

    ``workers`` batches run at once: ONNX Runtime runs concurrent calls on one session in
    parallel, each on one core. An import asks for every core; the bot's background pass keeps
    to one, so replies are not starved.

    Claims with the same text get one embedding. All texts are tokenised first, then embedded
    in batches (a batch is one thread's work; each text is its own ONNX run, see
    ``semantic.Embedder.vectors``).
    """
    from bot import semantic

    missing = await store.claims_without_vectors(semantic.MODEL_ID)
    if not missing:
        return 0
    ids_of: dict[str, list[int]] = {}
    for claim_id, claim, _ in missing:
        # The claim alone: adding the fact-check's title helped 2022 dev by 0.005 MAP@5 and
        # cost 2020 dev 0.03, and made embedding 1.6 times slower.
        ids_of.setdefault(claim, []).append(claim_id)
    texts = list(ids_of)
    rows = await asyncio.to_thread(embedder.encode, texts)
    step = batch_size or _EMBED_BATCH
    limit = asyncio.Semaphore(max(1, workers))

    async def embed(batch: list[int]) -> Any:
        async with limit:
            return await asyncio.to_thread(embedder.vectors, [rows[i] for i in batch])

    # A few batches more than ``workers`` are queued at a time, so no core waits for the
    # slowest batch of a group and memory holds a window of vectors, not the store's;
    # vectors are written in order, a write while the next batches embed.
    batches = iter([list(range(i, min(i + step, len(texts)))) for i in range(0, len(texts), step)])
    running: deque[tuple[list[int], asyncio.Future[Any]]] = deque()

    def top_up() -> None:
        while len(running) < 2 * max(1, workers) + 1:
            batch = next(batches, None)
            if batch is None:
                return
            running.append((batch, asyncio.ensure_future(embed(batch))))

    done = 0
    blobs: list[tuple[int, bytes]] = []
    writing: asyncio.Task[None] | None = None
    try:
        top_up()
        while running:
            batch, task = running.popleft()
            vectors = await task
            top_up()
            blobs += [
                (claim_id, semantic.vector_to_blob(vector))
                for i, vector in zip(batch, vectors, strict=True)
                for claim_id in ids_of[texts[i]]
            ]
            if len(blobs) < _STORE_BATCH and running:
                continue
            if writing is not None:
                await writing
            writing = asyncio.create_task(store.put_vectors(semantic.MODEL_ID, blobs))
            done += len(blobs)
            blobs = []
            if progress:
                from bot.progress import show_progress

                show_progress("embedding claims", done, len(missing))
        if writing is not None:
            await writing
    finally:
        for _, task in running:
            task.cancel()  # none left, unless this pass was cancelled or failed
        if writing is not None and not writing.done():
            writing.cancel()
    return done
