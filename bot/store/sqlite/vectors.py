"""Sentence vectors of claims for the semantic extra, one set per model."""

from __future__ import annotations

from collections.abc import Sequence

from bot.store.sqlite.connection import SQLiteBase


class VectorsMixin(SQLiteBase):
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
