"""Claims: reading them with their URLs and sources, and every audited change to one."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg

from bot import links
from bot.store import postings
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
from bot.store.postgres.audit import write_audit
from bot.store.postgres.connection import CLAIM_COLUMNS, scope_sql
from bot.store.postgres.search import SearchMixin
from bot.store.validation import (
    checked_guild,
    now_iso,
    row_id,
    validate_new_claim,
)

log = logging.getLogger(__name__)


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
        stale = "key_version < $1 OR key_version > $1"
        if not await self._fetch(f"SELECT 1 FROM claim_urls WHERE {stale} LIMIT 1", version):
            return
        rows = await self._fetch(f"SELECT id, url FROM claim_urls WHERE {stale}", version)
        log.info("re-keying %d claim URLs to link key version %d", len(rows), version)
        async with self._write() as db:
            for row_id, url in rows:
                try:
                    key = links.canonical_url(url)
                except links.InvalidURL:
                    continue
                await db.execute(
                    "UPDATE claim_urls u SET url_key = $1, key_version = $2 WHERE u.id = $3 "
                    "AND NOT EXISTS (SELECT 1 FROM claim_urls o "
                    "WHERE o.claim_id = u.claim_id AND o.url_key = $1 AND o.id <> u.id)",
                    key,
                    version,
                    row_id,
                )

    # --- reading claims -----------------------------------------------------------------------

    async def _claims_where(self, where: str, *params: Any) -> list[Claim]:
        rows = await self._fetch(
            f"SELECT {CLAIM_COLUMNS} FROM claims c WHERE {where} ORDER BY c.id", *params
        )
        return await self._with_children(rows)

    async def _with_children(self, rows: Sequence[Any]) -> list[Claim]:
        """Claims from ``claims`` rows, with their URLs and sources (one query)."""
        if not rows:
            return []
        ids = list(dict.fromkeys(int(row[0]) for row in rows))
        urls: dict[int, list[str]] = {i: [] for i in ids}
        sources: dict[int, list[Source]] = {i: [] for i in ids}
        for claim_id, is_url, _, url, title, kind in await self._fetch(
            "SELECT claim_id, 1, id, url, NULL, NULL FROM claim_urls "
            "WHERE claim_id = ANY($1::bigint[]) "
            "UNION ALL SELECT claim_id, 0, id, url, title, kind FROM claim_sources "
            "WHERE claim_id = ANY($1::bigint[]) ORDER BY 1, 2 DESC, 3",
            ids,
        ):
            if is_url:
                urls[claim_id].append(url)
            else:
                sources[claim_id].append(Source(url, title, kind))
        return [claim_from_row(row, tuple(urls[row[0]]), tuple(sources[row[0]])) for row in rows]

    async def get_claim(self, claim_id: int, *, guild_id: int | None) -> Claim:
        """A claim visible to ``guild_id`` (its own or global), retired ones included."""
        scope, params = scope_sql(guild_id, 2)
        found = await self._claims_where(f"c.id = $1 AND {scope}", row_id(claim_id), *params)
        if not found:
            raise NotFound(f"claim #{claim_id} not found")
        return found[0]

    async def get_claims(self, claim_ids: Sequence[int], *, guild_id: int | None) -> list[Claim]:
        """Active claims visible to ``guild_id``, in the order of ``claim_ids``."""
        if not claim_ids:
            return []
        scope, params = scope_sql(guild_id, 2)
        found = await self._claims_where(
            f"c.id = ANY($1::bigint[]) AND c.active AND {scope}",
            [row_id(i) for i in claim_ids],
            *params,
        )
        by_id = {c.id: c for c in found}
        return [by_id[i] for i in claim_ids if i in by_id]

    async def claims_for_url_keys(
        self, keys: Sequence[str], *, guild_id: int | None
    ) -> dict[str, list[Claim]]:
        """Active claims visible to ``guild_id`` attached to each canonical key."""
        if not keys:
            return {}
        scope, params = scope_sql(guild_id, 2)
        rows = await self._fetch(
            f"SELECT u.url_key, {CLAIM_COLUMNS} FROM claim_urls u "
            f"JOIN claims c ON c.id = u.claim_id "
            f"WHERE u.url_key = ANY($1::text[]) AND c.active AND {scope} ORDER BY u.claim_id",
            list(keys),
            *params,
        )
        claims = {c.id: c for c in await self._with_children([tuple(r)[1:] for r in rows])}
        result: dict[str, list[Claim]] = {}
        for row in rows:
            result.setdefault(row[0], []).append(claims[row[1]])
        return result

    async def list_claims(
        self, *, guild_id: int | None, include_global: bool = True, include_retired: bool = False
    ) -> list[Claim]:
        """Claims in a scope, oldest first (for export and listing)."""
        params: tuple[Any, ...]
        if include_global:
            where, params = scope_sql(guild_id, 1)
        elif guild_id is None:
            where, params = "c.guild_id IS NULL", ()
        else:
            where, params = "c.guild_id = $1", (guild_id,)
        if not include_retired:
            where += " AND c.active"
        return await self._claims_where(where, *params)

    async def count_claims(self) -> int:
        rows = await self._fetch("SELECT count(*) FROM claims WHERE active")
        return int(rows[0][0])

    async def _insert_claim(
        self,
        db: asyncpg.Connection,
        new: NewClaim,
        *,
        actor: str,
        guild_id: int | None,
        pending: postings.PostingsChange | None = None,
        now: str | None = None,
    ) -> int:
        """The new claim's id; ``now``: its time, when the caller audits it with that time."""
        now = now or now_iso()
        # Every claim gets a stable identity, so an export re-imported updates instead of copying.
        external_id = new.external_id or f"factbot:{uuid.uuid4()}"
        guild_id = checked_guild(guild_id)
        claim_id = await db.fetchval(
            "INSERT INTO claims (guild_id, claim, verdict, note, rating_label, context, "
            "external_id, created_by, created_at, updated_by, updated_at, claimant, claim_date) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
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
        )
        await self._replace_children(db, claim_id, new.urls, new.sources, new=True)
        await self._index_claim(db, claim_id, new.claim, new.context, new=True, pending=pending)
        return int(claim_id)

    async def _replace_children(
        self,
        db: asyncpg.Connection,
        claim_id: int,
        urls: Iterable[str],
        sources: Iterable[Source],
        *,
        new: bool = False,
    ) -> None:
        if not new:
            await db.execute("DELETE FROM claim_urls WHERE claim_id = $1", claim_id)
            await db.execute("DELETE FROM claim_sources WHERE claim_id = $1", claim_id)
        url_rows = [(claim_id, u, links.canonical_url(u), links.LINK_KEY_VERSION) for u in urls]
        if url_rows:
            await db.executemany(
                "INSERT INTO claim_urls (claim_id, url, url_key, key_version) "
                "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                url_rows,
            )
        source_rows = [(claim_id, s.url, s.title, s.kind) for s in sources]
        if source_rows:
            await db.executemany(
                "INSERT INTO claim_sources (claim_id, url, title, kind) "
                "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                source_rows,
            )

    async def _snapshot(self, db: asyncpg.Connection, claim_id: int) -> Claim:
        """A claim as this transaction sees it (its row locked until the transaction ends)."""
        row = await db.fetchrow(
            f"SELECT {CLAIM_COLUMNS} FROM claims c WHERE c.id = $1 FOR UPDATE",
            row_id(claim_id),
        )
        if row is None:
            raise NotFound(f"claim #{claim_id} not found")
        urls = tuple(
            r[0]
            for r in await db.fetch(
                "SELECT url FROM claim_urls WHERE claim_id = $1 ORDER BY id", claim_id
            )
        )
        sources = tuple(
            Source(*r)
            for r in await db.fetch(
                "SELECT url, title, kind FROM claim_sources WHERE claim_id = $1 ORDER BY id",
                claim_id,
            )
        )
        return claim_from_row(row, urls, sources)

    async def _editable(self, db: asyncpg.Connection, claim_id: int, scope: int | None) -> Claim:
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
            assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(fields, start=1))
            await db.execute(
                f"UPDATE claims SET {assignments} WHERE id = ${len(fields) + 1}",
                *fields.values(),
                claim_id,
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
        rows = await self._fetch(
            "SELECT id, at, actor, guild_id, action, claim_id, domain, before, after "
            "FROM audit_log WHERE claim_id = $1 "
            "AND ($2::bigint IS NULL OR guild_id IS NULL OR guild_id = $2) ORDER BY id",
            claim_id,
            guild_id,
        )
        return [audit_entry(r) for r in rows]
