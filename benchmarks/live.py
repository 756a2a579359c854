"""Issue 10's figures: the change-feed poll at 1M audit rows, and recording a reply.

``change_poll_ms``: :meth:`bot.live.Follower.tick` (what the running bot does every
``[live] poll_seconds``: flush the recorded replies, read the audit log past the last id) on a
store whose audit log holds ``audit_rows`` rows, nothing new (the usual poll), and with 10 new
changes to read (``change_poll_10_ms``). ``reply_record_ms``: what recording adds to the reply
path (``shown_of`` + the record appended for the next tick); ``reply_record_flush_ms``: the
store write of one reply's record, which the next tick pays off the reply path.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from benchmarks.scenarios import log
from bot.evaluation import percentile


async def live_scenarios(sizes: dict[str, Any], tmp: Path, figures: dict[str, Any]) -> None:
    from bot.checking import CheckResult, LinkReport, Match
    from bot.live import Follower, Recorder, SettingsBook, shown_of
    from bot.services import open_store
    from bot.settings import Defaults
    from bot.store import NewClaim, ReplyRecord, Source

    rows = sizes["audit_rows"]
    path = tmp / "feed.db"
    store = await open_store(str(path))
    claim = await store.add_claim(
        NewClaim(
            claim="The moon is made of cheese",
            verdict="false",
            note="It is rock.",
            urls=("https://news.example.com/moon",),
            sources=(Source("https://factcheck.example.org/moon", "Moon check", "fact-check"),),
        ),
        actor="bench",
        guild_id=None,
    )
    await store.close()

    log(f"change feed: {rows:,} audit rows")
    before = json.dumps({"verdict": "false", "note": "n" * 200})
    after = json.dumps({"verdict": "mixed", "note": "m" * 200})
    with sqlite3.connect(path) as raw:
        batch = 50_000
        for start in range(0, rows, batch):
            raw.executemany(
                "INSERT INTO audit_log (at, actor, guild_id, action, claim_id, before, after) "
                "VALUES ('2026-01-01T00:00:00+00:00', 'bench', ?, 'edit', ?, ?, ?)",
                [
                    (i % 1000, 1_000_000 + i, before, after)
                    for i in range(start, min(rows, start + batch))
                ],
            )
    raw.close()

    store = await open_store(str(path))
    try:
        recorder = Recorder(store)

        def correct(records: Any, claim_ids: Any) -> None:
            pass

        async def backfill(targets: Any) -> None:
            pass

        follower = Follower(
            store,
            SettingsBook(store, Defaults()),
            recorder,
            horizon_s=30 * 86400,
            correct=correct,
            backfill=backfill,
        )
        await follower.start()
        for _ in range(100):  # warm-up
            await follower.tick()
        idle = []
        for _ in range(sizes["polls"]):
            started = time.perf_counter()
            await follower.tick()
            idle.append((time.perf_counter() - started) * 1000)
        figures["change_poll_ms"] = round(percentile(idle, 50), 4)
        figures["change_poll_p99_ms"] = round(percentile(idle, 99), 4)
        figures["change_poll_audit_rows"] = await store.audit_count()

        busy = []
        for _ in range(50):
            for _ in range(5):  # 10 changes
                await store.edit_claim(claim.id, actor="bench", guild_id=None, note="x")
                await store.edit_claim(claim.id, actor="bench", guild_id=None, note="y")
            started = time.perf_counter()
            await follower.tick()
            busy.append((time.perf_counter() - started) * 1000)
        figures["change_poll_10_ms"] = round(percentile(busy, 50), 3)

        log("recording replies")
        result = CheckResult(
            (
                LinkReport(
                    url="https://news.example.com/moon",
                    canonical_url="https://news.example.com/moon",
                    matches=(Match(claim, "url", 1.0),),
                ),
            )
        )
        path_ms = []
        for i in range(sizes["polls"]):
            started = time.perf_counter()
            recorder.reply(
                ReplyRecord(
                    guild_id=1,
                    channel_id=2,
                    message_id=10**12 + i,
                    reply_id=2 * 10**12 + i,
                    style="full",
                    links=shown_of(result),
                    posted_at=time.time(),
                )
            )
            path_ms.append((time.perf_counter() - started) * 1000)
            if i % 100 == 99:
                await recorder.flush()
        figures["reply_record_ms"] = round(percentile(path_ms, 50), 4)
        figures["reply_record_p99_ms"] = round(percentile(path_ms, 99), 4)

        flush_ms = []
        for i in range(300):
            recorder.reply(
                ReplyRecord(1, 2, 3 * 10**12 + i, 4 * 10**12 + i, "full", shown_of(result), 0.0)
            )
            started = time.perf_counter()
            await recorder.flush()
            flush_ms.append((time.perf_counter() - started) * 1000)
        figures["reply_record_flush_ms"] = round(percentile(flush_ms, 50), 3)
    finally:
        await store.close()
