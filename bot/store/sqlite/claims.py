"""Claims: reading them with their URLs and sources, and every audited change to one."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import aiosqlite

from bot import links
from bot.store.edits import ClaimEdits
from bot.store.models import (
    AuditEntry,
    Claim,
    NewClaim,
    NotFound,
    Source,
    audit_entry,
    claim_from_row,
)
from bot.store.sqlite.audit import write_audit
from bot.store.sqlite.connection import CLAIM_COLUMNS, scope_sql
from bot.store.sqlite.search import SearchMixin
from bot.store.validation import (
    checked_guild,
    now_iso,
    row_id,
    validate_new_claim,
)

log = logging.getLogger(__name__)

#: Claims a URL lookup reads on the event loop's thread; more go through the reader's.
POINT_READ_ROWS = 64


class ClaimsMixin(SearchMixin, ClaimEdits):
    async def _after_open(self) -> None:
        await super()._after_open()
        await self._rekey_urls()

    async def _rekey_urls(self) -> None:
        """Re-key URL rows made by an older canonicaliser, so they keep matching.

        A row whose URL the new canonicaliser refuses, or whose new key the claim already has,
        keeps its old key (and is looked at again at the next start).
        """
        version = links.LINK_KEY_VERSION
        # Two index range probes, not a scan of every URL (the rows are indexed by version).
        stale = "key_version < ? OR key_version > ?"
        if not await self._fetchall(
            f"SELECT 1 FROM claim_urls WHERE {stale} LIMIT 1", (version, version)
        ):
            return
        rows = await self._fetchall(
            f"SELECT id, url FROM claim_urls WHERE {stale}", (version, version)
        )
        log.info("re-keying %d claim URLs to link key version %d", len(rows), version)
        async with self._write() as db:
            for row_id, url in rows:
                try:
                    key = links.canonical_url(url)
                except links.InvalidURL:
                    continue
                await db.execute(
                    "UPDATE OR IGNORE claim_urls SET url_key = ?, key_version = ? WHERE id = ?",
                    (key, links.LINK_KEY_VERSION, row_id),
                )

    # --- reading claims -----------------------------------------------------------------------

    async def _claims_where(self, where: str, params: Sequence[Any]) -> list[Claim]:
        rows = await self._fetchall(
            f"SELECT {CLAIM_COLUMNS} FROM claims c WHERE {where} ORDER BY c.id", params
        )
        return await self._with_children(rows)

    async def _with_children(self, rows: Sequence[Any], *, point_read: bool = False) -> list[Claim]:
        """Claims from ``claims`` rows, with their URLs and sources (one query a 500 claims).

        ``point_read``: a few rows, read on this thread (``_fetchall_now``)."""
        if not rows:
            return []
        ids = list(dict.fromkeys(row[0] for row in rows))
        urls: dict[int, list[str]] = {i: [] for i in ids}
        sources: dict[int, list[Source]] = {i: [] for i in ids}
        for chunk_start in range(0, len(ids), 500):
            chunk = ids[chunk_start : chunk_start + 500]
            marks = ",".join("?" * len(chunk))
            # One query (one round trip, unless read on this thread) for both child tables.
            sql = (
                f"SELECT claim_id, 1, id, url, NULL, NULL FROM claim_urls "
                f"WHERE claim_id IN ({marks}) "
                f"UNION ALL SELECT claim_id, 0, id, url, title, kind FROM claim_sources "
                f"WHERE claim_id IN ({marks}) ORDER BY 1, 2 DESC, 3"
            )
            args = (*chunk, *chunk)
            found = self._fetchall_now(sql, args) if point_read else await self._fetchall(sql, args)
            for claim_id, is_url, _, url, title, kind in found:
                if is_url:
                    urls[claim_id].append(url)
                else:
                    sources[claim_id].append(Source(url, title, kind))
        return [claim_from_row(row, tuple(urls[row[0]]), tuple(sources[row[0]])) for row in rows]

    async def get_claim(self, claim_id: int, *, guild_id: int | None) -> Claim:
        """A claim visible to ``guild_id`` (its own or global), retired ones included."""
        scope, params = scope_sql(guild_id)
        found = await self._claims_where(f"c.id = ? AND {scope}", (row_id(claim_id), *params))
        if not found:
            raise NotFound(f"claim #{claim_id} not found")
        return found[0]

    async def get_claims(self, claim_ids: Sequence[int], *, guild_id: int | None) -> list[Claim]:
        """Active claims visible to ``guild_id``, in the order of ``claim_ids``."""
        if not claim_ids:
            return []
        scope, params = scope_sql(guild_id)
        marks = ",".join("?" * len(claim_ids))
        found = await self._claims_where(
            f"c.id IN ({marks}) AND c.active = 1 AND {scope}",
            (*(row_id(i) for i in claim_ids), *params),
        )
        by_id = {c.id: c for c in found}
        return [by_id[i] for i in claim_ids if i in by_id]

    async def claims_for_url_keys(
        self, keys: Sequence[str], *, guild_id: int | None
    ) -> dict[str, list[Claim]]:
        """Active claims visible to ``guild_id`` attached to each canonical key.

        A posted link's lookup: point reads, on this thread (``_fetchall_now``), unless the
        keys hold more than ``POINT_READ_ROWS`` claims (then on the reader's thread, so a
        key shared by thousands of claims does not hold up the event loop)."""
        if not keys:
            return {}
        scope, params = scope_sql(guild_id)
        marks = ",".join("?" * len(keys))
        sql = (
            f"SELECT u.url_key, {CLAIM_COLUMNS} FROM claim_urls u "
            f"JOIN claims c ON c.id = u.claim_id "
            f"WHERE u.url_key IN ({marks}) AND c.active = 1 AND {scope} ORDER BY u.claim_id"
        )
        args = (*keys, *params)
        rows = self._fetchall_now(f"{sql} LIMIT {POINT_READ_ROWS + 1}", args)
        point_read = len(rows) <= POINT_READ_ROWS
        if not point_read:
            rows = await self._fetchall(sql, args)
        claims = {
            c.id: c for c in await self._with_children([r[1:] for r in rows], point_read=point_read)
        }
        result: dict[str, list[Claim]] = {}
        for row in rows:
            result.setdefault(row[0], []).append(claims[row[1]])
        return result

    async def list_claims(
        self, *, guild_id: int | None, include_global: bool = True, include_retired: bool = False
    ) -> list[Claim]:
        """Claims in a scope, oldest first (for export and listing)."""
        if include_global:
            where, params = scope_sql(guild_id)
        elif guild_id is None:
            where, params = "c.guild_id IS NULL", ()
        else:
            where, params = "c.guild_id = ?", (guild_id,)
        if not include_retired:
            where += " AND c.active = 1"
        return await self._claims_where(where, params)

    async def count_claims(self) -> int:
        rows = await self._fetchall("SELECT count(*) FROM claims WHERE active = 1")
        return int(rows[0][0])

    async def _insert_claim(
        self, db: aiosqlite.Connection, new: NewClaim, *, actor: str, guild_id: int | None
    ) -> int:
        now = now_iso()
        # Every claim gets a stable identity, so an export re-imported updates instead of copying.
        external_id = new.external_id or f"factbot:{uuid.uuid4()}"
        guild_id = checked_guild(guild_id)
        cur = await db.execute(
            "INSERT INTO claims (guild_id, claim, verdict, note, rating_label, context, "
            "external_id, created_by, created_at, updated_by, updated_at, claimant, claim_date) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                guild_id,
                new.claim,
                new.verdict,
                new.note,
                new.rating_label,
                new.context,
                external_id,
                actor,
                now,
                actor,
                now,
                new.claimant,
                new.claim_date,
            ),
        )
        claim_id = cur.lastrowid
        assert claim_id is not None
        await self._replace_children(db, claim_id, new.urls, new.sources, new=True)
        await self._index_claim(db, claim_id, new.claim, new.context, new=True)
        return claim_id

    async def _replace_children(
        self,
        db: aiosqlite.Connection,
        claim_id: int,
        urls: Iterable[str],
        sources: Iterable[Source],
        *,
        new: bool = False,
    ) -> None:
        if not new:
            await db.execute("DELETE FROM claim_urls WHERE claim_id = ?", (claim_id,))
            await db.execute("DELETE FROM claim_sources WHERE claim_id = ?", (claim_id,))
        await db.executemany(
            "INSERT OR IGNORE INTO claim_urls (claim_id, url, url_key, key_version) "
            "VALUES (?, ?, ?, ?)",
            [(claim_id, u, links.canonical_url(u), links.LINK_KEY_VERSION) for u in urls],
        )
        await db.executemany(
            "INSERT OR IGNORE INTO claim_sources (claim_id, url, title, kind) VALUES (?, ?, ?, ?)",
            [(claim_id, s.url, s.title, s.kind) for s in sources],
        )

    async def _snapshot(self, db: aiosqlite.Connection, claim_id: int) -> Claim:
        """A claim as the writer connection sees it (inside the current transaction)."""
        async with db.execute(
            f"SELECT {CLAIM_COLUMNS} FROM claims c WHERE c.id = ?",
            (row_id(claim_id),),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"claim #{claim_id} not found")
        async with db.execute(
            "SELECT url FROM claim_urls WHERE claim_id = ? ORDER BY id", (claim_id,)
        ) as cur:
            urls = tuple(r[0] for r in await cur.fetchall())
        async with db.execute(
            "SELECT url, title, kind FROM claim_sources WHERE claim_id = ? ORDER BY id", (claim_id,)
        ) as cur:
            sources = tuple(Source(*r) for r in await cur.fetchall())
        return claim_from_row(row, urls, sources)

    async def _editable(self, db: aiosqlite.Connection, claim_id: int, scope: int | None) -> Claim:
        claim = await self._snapshot(db, claim_id)
        if claim.guild_id != scope:
            raise NotFound(f"claim #{claim_id} not found")
        return claim

    async def add_claim(self, new: NewClaim, *, actor: str, guild_id: int | None) -> Claim:
        """Add a claim in a scope (``None``: global). Writes one audit row."""
        new = validate_new_claim(new)
        async with self._write() as db:
            claim_id = await self._insert_claim(db, new, actor=actor, guild_id=guild_id)
            claim = await self._snapshot(db, claim_id)
            await write_audit(
                db,
                actor=actor,
                guild_id=guild_id,
                action="create",
                claim_id=claim_id,
                after=claim.snapshot(),
                at=claim.created_at,
            )
        return claim

    async def _update_claim(
        self,
        claim_id: int,
        *,
        actor: str,
        scope: int | None,
        action: str,
        change: Any,
    ) -> Claim:
        """Apply ``change(before) -> (fields, urls, sources)`` in one audited transaction."""
        async with self._write() as db:
            before = await self._editable(db, claim_id, scope)
            fields, urls, sources = change(before)
            if fields == {} and urls == before.urls and sources == before.sources:
                return before
            fields = {**fields, "updated_by": actor, "updated_at": now_iso()}
            assignments = ", ".join(f"{name} = ?" for name in fields)
            await db.execute(
                f"UPDATE claims SET {assignments} WHERE id = ?", (*fields.values(), claim_id)
            )
            if urls != before.urls or sources != before.sources:
                await self._replace_children(db, claim_id, urls, sources)
            if "claim" in fields:  # no edit changes the context (an import indexes its own)
                await self._index_claim(db, claim_id, fields["claim"], before.context)
            after = await self._snapshot(db, claim_id)
            await write_audit(
                db,
                actor=actor,
                guild_id=scope,
                action=action,
                claim_id=claim_id,
                before=before.snapshot(),
                after=after.snapshot(),
                at=after.updated_at,
            )
        return after

    async def claim_history(self, claim_id: int, *, guild_id: int | None) -> list[AuditEntry]:
        """The audit trail of one claim visible to ``guild_id``, oldest first."""
        await self.get_claim(claim_id, guild_id=guild_id)
        # A global claim gathers rows from every server (their members' flags): a server sees
        # the global rows and its own, never another server's.
        mine, params = (
            ("", ()) if guild_id is None else (" AND ifnull(guild_id, ?) = ?", (guild_id, guild_id))
        )
        rows = await self._fetchall(
            "SELECT id, at, actor, guild_id, action, claim_id, domain, before, after "
            f"FROM audit_log WHERE claim_id = ?{mine} ORDER BY id",
            (claim_id, *params),
        )
        return [audit_entry(r) for r in rows]
