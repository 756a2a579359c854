"""Whole-table reads and one-transaction replacement, for ``factbot migrate-store``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.store.copying import COPIED_TABLES, TableCopy, check_copied
from bot.store.postgres.search import (
    _INSERT_SEARCH_ROW,
    SearchMixin,
    _search_row,
    rebuild_postings,
)

# What a value read from SQLite becomes in a PostgreSQL column of this type (COPY is strict).
_CONVERT: dict[str, Any] = {
    "boolean": bool,
    "bigint": int,
    "integer": int,
    "smallint": int,
    "double precision": float,
    "real": float,
    "text": str,
    "bytea": bytes,
}


def _known(table: str) -> str:
    # Table names are spliced into SQL: only the fixed list ever is.
    if table not in COPIED_TABLES:
        raise ValueError(f"not a copied table: {table}")
    return table


class CopyMixin(SearchMixin):
    async def _column_types(self, table: str) -> dict[str, str]:
        rows = await self._fetch(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
            _known(table),
        )
        return {str(r[0]): str(r[1]) for r in rows}

    async def table_columns(self, table: str) -> list[str]:
        return list(await self._column_types(table))

    async def table_row_count(self, table: str) -> int:
        rows = await self._fetch(f"SELECT count(*) FROM {_known(table)}")
        return int(rows[0][0])

    async def table_rows(self, table: str, columns: Sequence[str]) -> list[tuple[Any, ...]]:
        names = ", ".join(f'"{c}"' for c in columns)
        return [tuple(r) for r in await self._fetch(f"SELECT {names} FROM {_known(table)}")]

    async def replace_contents(self, copies: Sequence[TableCopy]) -> None:
        types = {copy.table: await self._column_types(copy.table) for copy in copies}
        async with self._write() as db:
            # TRUNCATE fires no row triggers: the append-only audit log is emptied only here,
            # for a forced copy, in the transaction that refills it.
            await db.execute(
                f"TRUNCATE {', '.join(COPIED_TABLES)}, claim_search, claim_search_vocab"
            )
            await db.execute("UPDATE claim_search_totals SET docs = 0, tokens = 0")
            for copy in copies:
                converters = [_CONVERT.get(types[copy.table][c]) for c in copy.columns]
                records = [
                    tuple(
                        None if v is None or convert is None else convert(v)
                        for v, convert in zip(row, converters, strict=True)
                    )
                    for row in copy.rows
                ]
                await db.copy_records_to_table(
                    _known(copy.table), records=records, columns=list(copy.columns)
                )
                if "id" in copy.columns:
                    # Ids were copied: the next one the identity hands out must be past them.
                    await db.execute(
                        f"SELECT setval(pg_get_serial_sequence('{copy.table}', 'id'), "
                        f"coalesce((SELECT max(id) FROM {copy.table}), 0) + 1, false)"
                    )
            claims = await db.fetch("SELECT id, claim, context FROM claims")
            # One batch (10k claims: 14.6 s row by row, 10.1 s batched; migrate_store benchmark).
            await db.executemany(
                _INSERT_SEARCH_ROW,
                [
                    _search_row(r[0], self._index_terms(r[1]), self._index_terms(r[2]))
                    for r in claims
                ],
            )
            await rebuild_postings(db)
            for copy in copies:
                names = ", ".join(f'"{c}"' for c in copy.columns)
                rows = await db.fetch(f"SELECT {names} FROM {_known(copy.table)}")
                check_copied(copy, copy.columns, [tuple(r) for r in rows])
