"""Sentence vectors of claims for the semantic extra, one set per model."""

from __future__ import annotations

from collections.abc import Sequence

from bot.store.postgres.connection import PostgresBase


class VectorsMixin(PostgresBase):
    async def put_vectors(self, model: str, vectors: Sequence[tuple[int, bytes]]) -> None:
        rows = [(claim_id, model, blob) for claim_id, blob in vectors]
        if not rows:
            return
        async with self._write() as db:
            await db.executemany(
                "INSERT INTO claim_vectors (claim_id, model, vector) VALUES ($1, $2, $3) "
                "ON CONFLICT (claim_id) DO UPDATE SET model = EXCLUDED.model, "
                "vector = EXCLUDED.vector",
                rows,
            )

    async def get_vectors(self, model: str, claim_ids: Sequence[int]) -> dict[int, bytes]:
        if not claim_ids:
            return {}
        rows = await self._fetch(
            "SELECT claim_id, vector FROM claim_vectors "
            "WHERE model = $1 AND claim_id = ANY($2::bigint[])",
            model,
            list(claim_ids),
        )
        return {int(r[0]): bytes(r[1]) for r in rows}

    async def claim_texts(self, claim_ids: Sequence[int]) -> dict[int, str]:
        """The claim text of each existing claim (active or not), for embedding."""
        if not claim_ids:
            return {}
        rows = await self._fetch(
            "SELECT id, claim FROM claims WHERE id = ANY($1::bigint[])", list(claim_ids)
        )
        return {int(r[0]): str(r[1]) for r in rows}

    async def claims_without_vectors(self, model: str) -> list[tuple[int, str, str]]:
        rows = await self._fetch(
            "SELECT c.id, c.claim, c.context FROM claims c LEFT JOIN claim_vectors v "
            "ON v.claim_id = c.id AND v.model = $1 WHERE v.claim_id IS NULL AND c.active "
            "ORDER BY c.id",
            model,
        )
        return [(int(r[0]), r[1], r[2]) for r in rows]
