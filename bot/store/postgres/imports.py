"""ClaimReview imports: many records, one transaction, no audit row for what did not change."""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping, Sequence

from bot.store import postings
from bot.store.models import ImportResult, NewClaim, import_changes_nothing
from bot.store.postgres.audit import write_audit
from bot.store.postgres.claims import ClaimsMixin
from bot.store.postgres.search import apply_postings
from bot.store.validation import now_iso, scope_key

#: Imports at least this large refresh the planner's statistics of the tables they grew.
_ANALYZE_AFTER = 1000


class ImportMixin(ClaimsMixin):
    async def import_claims(
        self,
        records: Sequence[NewClaim],
        *,
        actor: str,
        guild_id: int | None,
        progress: Callable[[int, int], None] | None = None,
        url_keys: MutableMapping[str, str] | None = None,
        index_terms: Mapping[str, str] | None = None,
    ) -> ImportResult:
        """Create or update claims by ``external_id``, all in one transaction.

        Records must already be validated (``validate_new_claim``). A record whose stored twin
        is identical changes nothing and writes no audit row, so re-importing a file is a no-op.
        ``url_keys`` (the keys the file's validation computed) and ``index_terms`` (its texts'
        index terms) are accepted for the interface; this engine keys and indexes each record
        as it writes it (``canonical_url`` is cached; the import's time is its round trips).
        """
        result = ImportResult()
        scope = scope_key(guild_id)
        change = postings.PostingsChange()
        async with self._write() as db:
            existing = {
                row[0]: row[1]
                for row in await db.fetch(
                    "SELECT external_id, id FROM claims "
                    "WHERE coalesce(guild_id, 0) = $1 AND external_id IS NOT NULL",
                    scope,
                )
            }
            for done, new in enumerate(records, start=1):
                if progress is not None and done % 500 == 0:
                    progress(done, len(records))
                existing_id = existing.get(new.external_id) if new.external_id else None
                if existing_id is None:
                    now = now_iso()
                    claim_id = await self._insert_claim(
                        db, new, actor=actor, guild_id=guild_id, pending=change, now=now
                    )
                    if new.external_id:
                        existing[new.external_id] = claim_id
                    after = {
                        "claim": new.claim,
                        "verdict": new.verdict,
                        "external_id": new.external_id,
                    }
                    await write_audit(
                        db,
                        actor=actor,
                        guild_id=guild_id,
                        action="import",
                        claim_id=claim_id,
                        after=after,
                        at=now,
                    )
                    result.created += 1
                    result.claim_ids.append(claim_id)
                    continue
                before = await self._snapshot(db, existing_id)
                result.claim_ids.append(existing_id)
                if import_changes_nothing(before, new):
                    result.unchanged += 1
                    continue
                await db.execute(
                    "UPDATE claims SET claim = $1, verdict = $2, note = $3, rating_label = $4, "
                    "context = $5, claimant = $6, claim_date = $7, updated_by = $8, "
                    "updated_at = $9 WHERE id = $10",
                    new.claim,
                    new.verdict,
                    new.note,
                    new.rating_label,
                    new.context,
                    new.claimant,
                    new.claim_date,
                    actor,
                    now_iso(),
                    existing_id,
                )
                await self._replace_children(db, existing_id, new.urls, new.sources)
                await self._index_claim(db, existing_id, new.claim, new.context, pending=change)
                after_claim = await self._snapshot(db, existing_id)
                await write_audit(
                    db,
                    actor=actor,
                    guild_id=guild_id,
                    action="import",
                    claim_id=existing_id,
                    before=before.snapshot(),
                    after=after_claim.snapshot(),
                    at=after_claim.updated_at,
                )
                result.updated += 1
            await apply_postings(db, change)
        if result.created + result.updated >= _ANALYZE_AFTER:
            # Autovacuum would get there later; until then the planner's row counts are those
            # of the store before the import and it picks poor plans for search.
            async with self._write() as db:
                await db.execute("ANALYZE claims, claim_urls, claim_search, claim_search_vocab")
        if progress is not None:
            progress(len(records), len(records))
        return result
