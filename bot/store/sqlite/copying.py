"""Whole-table reads and one-transaction replacement, for ``factbot migrate-store``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.store.copying import COPIED_TABLES, TableCopy, check_copied
from bot.store.sqlite.search import SearchMixin, rebuild_postings


def _known(table: str) -> str:
    # Table names are spliced into SQL: only the fixed list ever is.
    if table not in COPIED_TABLES:
        raise ValueError(f"not a copied table: {table}")
    return table


class CopyMixin(SearchMixin):
    async def table_columns(self, table: str) -> list[str]:
        rows = await self._fetchall(f"PRAGMA table_info({_known(table)})")
        return [str(r[1]) for r in rows]

    async def table_row_count(self, table: str) -> int:
        rows = await self._fetchall(f"SELECT count(*) FROM {_known(table)}")
        return int(rows[0][0])

    async def table_rows(self, table: str, columns: Sequence[str]) -> list[tuple[Any, ...]]:
        names = ", ".join(f'"{c}"' for c in columns)
        return [tuple(r) for r in await self._fetchall(f"SELECT {names} FROM {_known(table)}")]

    async def replace_contents(self, copies: Sequence[TableCopy]) -> None:
        async with self._write() as db:
            # The audit log refuses deletes (append-only); emptying the whole store for a
            # forced copy is the one exception, and the trigger comes back in this transaction.
            async with db.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' "
                "AND name = 'audit_log_no_delete'"
            ) as cur:
                trigger = await cur.fetchone()
            if trigger is not None:
                await db.execute("DROP TRIGGER audit_log_no_delete")
            for table in reversed(COPIED_TABLES):
                await db.execute(f"DELETE FROM {_known(table)}")
            if trigger is not None:
                await db.execute(trigger[0])
            await db.execute("DELETE FROM claim_search")
            for copy in copies:
                names = ", ".join(f'"{c}"' for c in copy.columns)
                marks = ", ".join("?" for _ in copy.columns)
                await db.executemany(
                    f"INSERT INTO {_known(copy.table)} ({names}) VALUES ({marks})", copy.rows
                )
            async with db.execute("SELECT id, claim, context FROM claims") as cur:
                claims = list(await cur.fetchall())
            await db.executemany(
                "INSERT INTO claim_search (rowid, claim, context) VALUES (?, ?, ?)",
                [(r[0], self._index_terms(r[1]), self._index_terms(r[2])) for r in claims],
            )
            # Postings once for all: claim by claim, each common term's row is rewritten anew.
            await rebuild_postings(db)
            for copy in copies:
                names = ", ".join(f'"{c}"' for c in copy.columns)
                async with db.execute(f"SELECT {names} FROM {_known(copy.table)}") as cur:
                    check_copied(copy, copy.columns, [tuple(r) for r in await cur.fetchall()])
