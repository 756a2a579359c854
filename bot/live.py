"""Following the store while the bot runs: settings, replies and links seen, corrections, backfill.

No Discord here: ``cogs/live.py`` supplies the two things that talk to Discord (editing a reply,
posting a backfilled one) and runs :meth:`Follower.tick` every ``[live] poll_seconds``.

- :class:`SettingsBook` caches each server's settings; the change feed drops a server's entry
  when its settings change, whoever changed them (``/settings``, the CLI, another process).
- :class:`Recorder` keeps replies posted and links seen in memory and writes them in one
  transaction a tick: the reply path pays for a list append, not a disk write.
- :class:`Follower` reads the audit log forward (the change feed) and turns each change into
  settings reloads, corrections of earlier replies and backfilled replies.
- :class:`CorrectionQueue` edits replies one at a time, paced; a deleted reply or a lost
  permission is remembered and skipped, and a failing edit is tried a bounded number of times.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.checking import CheckResult, LinkReport, Match
from bot.config import Config
from bot.settings import Defaults, GuildSettings, resolve
from bot.store import AuditEntry, ClosedRequest, ReplyRecord, SeenLink, ShownLink, Store

log = logging.getLogger(__name__)

# What a reply shows of a claim: a change to any of these corrects it.
SHOWN_FIELDS = ("claim", "verdict", "note", "sources", "active")
# Records past the horizon (replies) or the backfill window (links) are deleted this often.
PRUNE_INTERVAL_S = 3600.0
# Changes after which a claim may have a URL it did not have (backfill looks its keys up).
URL_ACTIONS = ("create", "import", "link", "restore")


def defaults_from(config: Config) -> Defaults:
    return Defaults(
        reply_style=config.replies.style,
        reply_threshold=config.matching.reply_threshold,
        backfill_hours=config.replies.backfill_hours,
        moderator_roles=config.discord.moderator_roles,
    )


class SettingsBook:
    """Each server's settings, read from the store once and kept until they change."""

    def __init__(self, store: Store, defaults: Defaults) -> None:
        self.store = store
        self.defaults = defaults
        self._cache: dict[int, GuildSettings] = {}
        # One read per server however many messages arrive while it runs (a burst).
        self._loading: dict[int, asyncio.Future[GuildSettings]] = {}
        # Bumped by forget(): a read that started before a change is answered but not kept.
        self._generation: dict[int, int] = {}
        self._plain = resolve((), defaults)

    async def get(self, guild_id: int | None) -> GuildSettings:
        if guild_id is None:  # DMs: the config file's values
            return self._plain
        found = self._cache.get(guild_id)
        if found is not None:
            return found
        loading = self._loading.get(guild_id)
        if loading is None:
            loading = asyncio.ensure_future(self._load(guild_id))
            self._loading[guild_id] = loading

            def done(future: asyncio.Future[GuildSettings]) -> None:
                if self._loading.get(guild_id) is future:
                    del self._loading[guild_id]

            loading.add_done_callback(done)
        return await asyncio.shield(loading)

    async def _load(self, guild_id: int) -> GuildSettings:
        generation = self._generation.get(guild_id, 0)
        rows = await self.store.setting_rows(guild_id)
        found = resolve(((r.channel_id, r.key, r.value) for r in rows), self.defaults)
        if self._generation.get(guild_id, 0) == generation:
            self._cache[guild_id] = found
        return found

    def forget(self, guild_id: int) -> None:
        """Drop a server's settings (they changed): the next message reads them again."""
        self._generation[guild_id] = self._generation.get(guild_id, 0) + 1
        self._cache.pop(guild_id, None)
        self._loading.pop(guild_id, None)


class Recorder:
    """Replies posted and links seen, written to the store in batches (see :meth:`flush`)."""

    def __init__(self, store: Store, max_pending: int = 5000) -> None:
        self.store = store
        self.max_pending = max_pending
        self._replies: list[ReplyRecord] = []
        self._writing: list[ReplyRecord] = []  # taken by a flush, not yet in the store
        self._seen: list[SeenLink] = []
        self._lock = asyncio.Lock()

    def reply(self, record: ReplyRecord) -> None:
        self._replies.append(record)

    def seen(self, links: Iterable[SeenLink]) -> None:
        if len(self._seen) < self.max_pending:
            # A flood of links between two ticks: the backfill of the rest is given up, the
            # replies are not.
            self._seen.extend(links)

    async def replied_keys(self, message_ids: Sequence[int]) -> set[tuple[int, str]]:
        """(message id, link key) pairs answered: those written and those still to be."""
        wanted = set(message_ids)
        found = {
            (record.message_id, link.url_key)
            for record in (*self._writing, *self._replies)
            if record.message_id in wanted
            for link in record.links
        }
        return found | await self.store.replied_keys(sorted(wanted))

    @property
    def pending(self) -> int:
        return len(self._replies) + len(self._seen)

    async def flush(self) -> None:
        async with self._lock:
            replies, self._replies = self._replies, []
            seen, self._seen = self._seen, []
            self._writing = replies
            try:
                await self.store.record_replies(replies)
                replies = []  # written: a failure below must not queue them a second time
                await self.store.remember_links(seen)
            except BaseException:
                # Kept for the next tick (a busy database is not the end of them).
                self._replies[:0] = replies
                self._seen[:0] = seen
                raise
            finally:
                self._writing = []


async def _reported(work: Awaitable[object], what: str) -> None:
    try:
        await work
    except Exception:
        log.warning("%s failed", what, exc_info=True)


def _shown_changed(entry: AuditEntry) -> bool:
    before, after = entry.before or {}, entry.after or {}
    if not before or not after:
        return False
    return any(before.get(name) != after.get(name) for name in SHOWN_FIELDS)


@dataclass(frozen=True)
class BackfillTarget:
    """A message that would have got a reply: where it is and which of its links to answer."""

    guild_id: int
    channel_id: int
    message_id: int
    keys: tuple[str, ...]


CorrectFn = Callable[[Sequence[ReplyRecord], Collection[int]], None]
BackfillFn = Callable[[Sequence[BackfillTarget]], Awaitable[None]]
SettingsFn = Callable[[Sequence[AuditEntry]], Awaitable[None]]
AnsweredFn = Callable[[Sequence[ClosedRequest]], Awaitable[None]]


class Follower:
    """Reads the change feed and hands on what the changes mean."""

    def __init__(
        self,
        store: Store,
        settings: SettingsBook,
        recorder: Recorder,
        *,
        horizon_s: float,
        correct: CorrectFn,
        backfill: BackfillFn,
        settings_changed: SettingsFn | None = None,
        mod_log: SettingsFn | None = None,
        answered: AnsweredFn | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.recorder = recorder
        self.horizon_s = horizon_s
        self.correct = correct
        self.backfill = backfill
        self.settings_changed = settings_changed
        self.mod_log = mod_log  # every change, for the servers' mod logs
        self.answered = answered  # fact-check requests a new URL of a claim answered
        self.last_id = 0
        self.applied_id = 0  # every change up to here has been acted on
        self._caught_up = asyncio.Condition()
        # One tick at a time: two would both act on the same changes.
        self._ticking = asyncio.Lock()
        self._pruned_at = 0.0

    async def start(self) -> None:
        """Follow from now on: what happened before the bot started is not news."""
        self.last_id = self.applied_id = await self.store.latest_change_id()

    async def tick(self, now: float | None = None) -> int:
        """One poll: flush what was recorded, then act on every new change. Returns the count."""
        seen = 0
        async with self._ticking:
            await self.recorder.flush()
            clock = time.time() if now is None else now
            if clock - self._pruned_at >= PRUNE_INTERVAL_S:
                self._pruned_at = clock
                replies = await self.store.forget_replies(before=clock - self.horizon_s)
                links = await self.store.forget_links(now=clock)
                if replies or links:
                    log.info("forgot %d old reply records and %d links seen", replies, links)
            while True:
                changes = await self.store.changes_since(self.last_id)
                if not changes:
                    break
                seen += len(changes)
                # Moved past first: a change that fails to apply is logged, not retried forever.
                self.last_id = changes[-1].id
                try:
                    await self._apply(changes, time.time() if now is None else now)
                finally:
                    self.applied_id = self.last_id
        async with self._caught_up:
            self._caught_up.notify_all()
        return seen

    async def caught_up(self, change_id: int) -> None:
        """Wait until every change up to ``change_id`` has been acted on."""
        async with self._caught_up:
            await self._caught_up.wait_for(lambda: self.applied_id >= change_id)

    async def _apply(self, changes: Sequence[AuditEntry], now: float) -> None:
        corrected: set[int] = set()
        gaining: set[int] = set()
        settings_changes = []
        for entry in changes:
            if entry.action == "settings" and entry.guild_id is not None:
                self.settings.forget(entry.guild_id)
                settings_changes.append(entry)
            if entry.action == "forget" and isinstance((entry.after or {}).get("guild_id"), int):
                self.settings.forget((entry.after or {})["guild_id"])
            if entry.claim_id is None:
                continue
            if _shown_changed(entry):
                corrected.add(entry.claim_id)
            if entry.action in URL_ACTIONS:
                gaining.add(entry.claim_id)
        if corrected:
            records = await self.store.replies_showing(
                sorted(corrected), since=now - self.horizon_s
            )
            if records:
                log.info("%d earlier replies show changed claims", len(records))
                self.correct(records, corrected)
        if gaining and self.answered is not None:
            closed = await self.store.close_covered_requests(sorted(gaining))
            if closed:
                log.info("%d fact-check requests answered", len(closed))
                await self.answered(closed)
        if gaining:
            targets = await self.backfill_targets(sorted(gaining), now)
            if targets:
                log.info("backfilling %d messages", len(targets))
                await self.backfill(targets)
        # Last, and each on its own: a mod-log post that fails must not cost the corrections,
        # answered requests and backfill above, which this tick would otherwise skip for good.
        if settings_changes and self.settings_changed is not None:
            await _reported(self.settings_changed(settings_changes), "posting settings changes")
        if self.mod_log is not None:
            await _reported(self.mod_log(changes), "posting to the mod log")

    async def backfill_targets(self, claim_ids: Sequence[int], now: float) -> list[BackfillTarget]:
        """Messages in a backfill window whose links the claims now carry, not yet answered."""
        by_scope: dict[int | None, set[str]] = {}
        for guild_id, key in await self.store.url_keys_of_claims(claim_ids):
            by_scope.setdefault(guild_id, set()).add(key)
        sightings: dict[tuple[int, int, int], set[str]] = {}
        for guild_id, keys in by_scope.items():
            for seen in await self.store.seen_with_keys(sorted(keys), guild_id=guild_id, now=now):
                where = (seen.guild_id, seen.channel_id, seen.message_id)
                settings = await self.settings.get(seen.guild_id)
                if seen.seen_at < now - settings.backfill_hours * 3600:
                    continue
                sightings.setdefault(where, set()).add(seen.url_key)
        if not sightings:
            return []
        answered = await self.store.replied_keys([m for _, _, m in sightings])
        targets = []
        for (guild_id, channel_id, message_id), keys in sightings.items():
            fresh = tuple(sorted(k for k in keys if (message_id, k) not in answered))
            if fresh:
                targets.append(BackfillTarget(guild_id, channel_id, message_id, fresh))
        return targets


def shown_of(result: CheckResult) -> tuple[ShownLink, ...]:
    """What a reply shows, as recorded: keys, claim ids, verdicts and outlets (no text)."""
    return tuple(
        ShownLink(
            url_key=report.canonical_url,
            claims=tuple((m.claim.id, m.claim.verdict, m.match) for m in report.matches),
            domain=report.source.domain if report.source is not None else None,
        )
        for report in result.known
    )


async def reports_now(store: Store, records: Sequence[ReplyRecord]) -> list[LinkReport]:
    """The links of earlier replies with their claims and outlet notes as they are now."""
    reports: list[LinkReport] = []
    for record in records:
        claims = {
            c.id: c for c in await store.claims_by_id(record.claim_ids, guild_id=record.guild_id)
        }
        for link in record.links:
            matches = tuple(
                Match(claims[claim_id], match, 1.0)
                for claim_id, _, match in link.claims
                if claim_id in claims
            )
            source = None
            if link.domain is not None:
                source = await store.source_note_for([link.domain], guild_id=record.guild_id)
            reports.append(
                LinkReport(
                    url=link.url_key, canonical_url=link.url_key, matches=matches, source=source
                )
            )
    return reports


def shown_verdicts(records: Sequence[ReplyRecord]) -> dict[int, str]:
    return {c[0]: c[1] for record in records for link in record.links for c in link.claims}


# --- corrections ---------------------------------------------------------------------------------

# What an attempt to correct one reply came to (the cog maps Discord's errors to these).
DONE = "done"
DELETED = "deleted"  # the reply (or the member's message) is gone: skip it from now on
FORBIDDEN = "forbidden"  # the bot lost the permission: skip it from now on
RETRY = "retry"  # a passing failure (5xx, timeout): try again later, a few times

EditFn = Callable[
    [ReplyRecord, Collection[int]], Awaitable[tuple[str, tuple[ShownLink, ...] | None]]
]


class CorrectionQueue:
    """Replies to correct, edited one at a time ``interval_s`` apart.

    A reply queued twice before its turn is edited once, with what the store says then.
    """

    def __init__(self, store: Store, edit: EditFn, *, interval_s: float, attempts: int = 3) -> None:
        self.store = store
        self.edit = edit
        self.interval_s = interval_s
        self.attempts = attempts
        self._pending: dict[int, ReplyRecord] = {}
        self._tries: dict[int, int] = {}
        self._changed: dict[int, set[int]] = {}
        self._wake = asyncio.Event()
        self._editing = asyncio.Lock()

    def add(self, records: Iterable[ReplyRecord], claim_ids: Collection[int] = ()) -> None:
        """Queue replies to correct; ``claim_ids``: the claims that changed."""
        for record in records:
            assert record.id is not None
            self._pending[record.id] = record
            self._changed.setdefault(record.id, set()).update(claim_ids)
        self._wake.set()

    def __len__(self) -> int:
        return len(self._pending)

    async def run(self) -> None:
        """Work forever (a background task)."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                await self.correct_next()
                if self.interval_s:
                    await asyncio.sleep(self.interval_s)

    async def drain(self) -> None:
        """Correct everything queued now, without pacing, and wait for an edit in flight."""
        while self._pending:
            await self.correct_next()
        async with self._editing:
            pass

    async def correct_next(self) -> None:
        async with self._editing:
            if not self._pending:
                return
            reply_id, record = next(iter(self._pending.items()))
            del self._pending[reply_id]
            try:
                outcome, shown = await self.edit(record, self._changed.get(reply_id, set()))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("correcting reply %d failed", reply_id)
                outcome, shown = RETRY, None
            await self._settle(record, reply_id, outcome, shown)

    async def _settle(self, record: ReplyRecord, reply_id: int, outcome: str, shown: Any) -> None:
        if outcome == DONE:
            self._tries.pop(reply_id, None)
            self._changed.pop(reply_id, None)
            await self.store.mark_reply(reply_id, corrected_at=time.time(), links=shown)
            return
        if outcome == RETRY:
            tries = self._tries.get(reply_id, 0) + 1
            if tries < self.attempts:
                self._tries[reply_id] = tries
                self._pending.setdefault(reply_id, record)
                return
            outcome = "failed"
        self._tries.pop(reply_id, None)
        self._changed.pop(reply_id, None)
        log.info("reply %d not corrected: %s", reply_id, outcome)
        await self.store.mark_reply(reply_id, state=outcome)
